//! Paths the API reference documents but no OpenAPI text has.

use serde_json::{Map, Value};

use super::{Adjustments, obj};

/// `added_paths`: a copy of an adjusted operation at a new path (parameters renamed, extensions
/// added), for the docs-only path the converter never expands (`deploymentProfile`).
pub(super) fn added_paths(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
    for (i, a) in adj.added_paths.iter().enumerate() {
        let name = format!("added_paths[{i}] ({})", a.operation_id);
        let src = adj
            .operations
            .iter()
            .find(|o| o.path == a.copy_of)
            .ok_or_else(|| {
                format!(
                    "adjustment {name}: copy_of '{}' is not one of the operations",
                    a.copy_of
                )
            })?;
        let paths = doc["paths"].as_object_mut().expect("paths");
        if paths.contains_key(&a.path) {
            return Err(format!(
                "adjustment {name}: '{}' is upstream now; drop the addition",
                a.path
            ));
        }
        let mut op = paths[&a.copy_of][&src.method].clone();
        let o = obj(&mut op).expect("operation");
        let params: Vec<Value> = match o.get("parameters") {
            Some(Value::Array(p)) => p.clone(),
            _ => Vec::new(),
        };
        let mut new_params = Vec::new();
        for p in &a.parameters {
            let mut found = params
                .iter()
                .find(|q| q.get("name").and_then(Value::as_str) == Some(p.from.as_str()))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "adjustment {name}: '{}' has no parameter '{}'",
                        a.copy_of, p.from
                    )
                })?;
            if let Some(n) = &p.name {
                found["name"] = Value::String(n.clone());
            }
            new_params.push(found);
        }
        new_params.extend(
            params
                .into_iter()
                .filter(|q| q.get("in").and_then(Value::as_str) != Some("path")),
        );
        o.insert("parameters".into(), Value::Array(new_params));
        o.insert("operationId".into(), Value::String(a.operation_id.clone()));
        let mut item = Map::new();
        for (k, v) in &a.extensions {
            item.insert(k.clone(), v.clone());
        }
        item.insert(src.method.clone(), op);
        paths.insert(a.path.clone(), Value::Object(item));
    }
    Ok(())
}
