//! The operations: which upstream operations the crate binds, under which ids, with which
//! parameters, request body and success body.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::responses::rewrite_responses;
use super::{Adjustments, insert_after, obj};
use crate::slice::qualified;

/// `operations`: the selected operations by exact path, in the adjustments' order, with the
/// crate's operation ids, kept query parameters and responses, because progenitor names
/// methods and types after them and the crate binds these and no others.
pub(super) fn operations(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
    let upstream_paths = std::mem::take(&mut doc["paths"]);
    let upstream_paths = upstream_paths.as_object().expect("built by apply");
    let components = doc["components"].as_object().expect("built by apply");
    let mut paths = Map::new();
    for (i, op) in adj.operations.iter().enumerate() {
        let name = format!("operations[{i}] ({})", op.operation_id);
        let item = upstream_paths
            .get(&op.path)
            .or_else(|| upstream_paths.get(&qualified(&op.path)))
            .ok_or_else(|| format!("adjustment {name}: path '{}' is not in the slice", op.path))?;
        let item = item
            .as_object()
            .ok_or_else(|| format!("adjustment {name}: path item is not a mapping"))?;
        let mut operation = item.get(&op.method).cloned().ok_or_else(|| {
            format!(
                "adjustment {name}: no '{}' operation on '{}' any more",
                op.method, op.path
            )
        })?;
        let o = obj(&mut operation)
            .ok_or_else(|| format!("adjustment {name}: operation is not a mapping"))?;
        // Path-item parameters (openapi.yaml declares them there) move into the operation.
        if let Some(Value::Array(shared)) = item.get("parameters") {
            let own: Vec<Value> = match o.get("parameters") {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            let key = |p: &Value| {
                (
                    p.get("name").cloned(),
                    p.get("in").cloned(),
                    p.get("$ref").cloned(),
                )
            };
            let own_keys: HashSet<_> = own.iter().map(key).collect();
            let mut merged: Vec<Value> = shared
                .iter()
                .filter(|p| !own_keys.contains(&key(p)))
                .cloned()
                .collect();
            merged.extend(own);
            insert_after(
                o,
                "parameters",
                Value::Array(merged),
                &[
                    "tags",
                    "summary",
                    "description",
                    "externalDocs",
                    "operationId",
                ],
            );
        }
        if !o.contains_key("operationId") {
            return Err(format!(
                "adjustment {name}: the operation has no operationId to replace"
            ));
        }
        o.insert("operationId".into(), Value::String(op.operation_id.clone()));
        if let Some(wanted) = &op.query_parameters {
            keep_query_parameters(o, wanted, components, &name)?;
        }
        rewrite_responses(
            o,
            &adj.responses,
            &name,
            op.response_body.is_some(),
            components,
        )?;
        let mut new_item = Map::new();
        new_item.insert(op.method.clone(), operation);
        paths.insert(op.path.clone(), Value::Object(new_item));
    }
    doc["paths"] = Value::Object(paths);
    Ok(())
}

/// Keep only the `wanted` query parameters of an operation (path and header ones stay), with
/// `#/components/parameters/…` references inlined so the parameter components can be pruned.
fn keep_query_parameters(
    o: &mut Map<String, Value>,
    wanted: &[String],
    components: &Map<String, Value>,
    name: &str,
) -> Result<(), String> {
    let params: Vec<Value> = match o.get("parameters") {
        Some(Value::Array(p)) => p.clone(),
        _ => Vec::new(),
    };
    let mut resolved = Vec::new();
    for p in params {
        let p = match p.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix("#/components/parameters/")
                .and_then(|n| components.get("parameters")?.get(n))
                .cloned()
                .ok_or_else(|| format!("adjustment {name}: parameter '{r}' is not in the slice"))?,
            None => p,
        };
        resolved.push(p);
    }
    let is_query = |p: &Value| p.get("in").and_then(Value::as_str) == Some("query");
    let pname = |p: &Value| p.get("name").and_then(Value::as_str).map(str::to_owned);
    for w in wanted {
        if !resolved
            .iter()
            .any(|p| is_query(p) && pname(p).as_deref() == Some(w.as_str()))
        {
            return Err(format!(
                "adjustment {name}: query parameter '{w}' is not on the operation upstream"
            ));
        }
    }
    resolved.retain(|p| !is_query(p) || pname(p).is_some_and(|n| wanted.contains(&n)));
    o.insert("parameters".into(), Value::Array(resolved));
    Ok(())
}

/// `request_body_schema`: the operations' identical inline request bodies become one named
/// schema (first among the schemas), so progenitor emits one body type, not one per operation.
pub(super) fn request_body_schema(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
    let body_name = &adj.request_body_schema;
    let mut body: Option<(String, Value)> = None;
    for (i, op) in adj.operations.iter().enumerate() {
        let name = format!("request_body_schema ({body_name}) for operations[{i}]");
        let o = doc["paths"]
            .get_mut(&op.path)
            .and_then(|p| p.get_mut(&op.method))
            .expect("built above");
        if !op.request_body {
            if o.get("requestBody").is_some() {
                return Err(format!(
                    "adjustment operations[{i}] ({}): the operation now has a request body; the crate sends none",
                    op.operation_id
                ));
            }
            continue;
        }
        let schema = o
            .pointer_mut("/requestBody/content/application~1json/schema")
            .ok_or_else(|| {
                format!("adjustment {name}: the operation has no application/json request body")
            })?;
        if schema.get("$ref").is_some() {
            return Err(format!(
                "adjustment {name}: the request body is now a $ref ({}), not an inline schema",
                schema["$ref"]
            ));
        }
        match &body {
            None => body = Some((op.path.clone(), schema.clone())),
            Some((first, b)) if b != schema => {
                return Err(format!(
                    "adjustment {name}: the request bodies of '{first}' and '{}' differ",
                    op.path
                ));
            }
            _ => {}
        }
        *schema = json!({ "$ref": format!("#/components/schemas/{body_name}") });
    }
    let schemas = doc["components"]
        .as_object_mut()
        .expect("built by apply")
        .entry("schemas")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or("components/schemas is not a mapping")?;
    if schemas.contains_key(body_name) {
        return Err(format!(
            "adjustment request_body_schema: '{body_name}' already exists upstream"
        ));
    }
    let (_, body) = body.ok_or("adjustments: no operations")?;
    let mut new_schemas = Map::new();
    new_schemas.insert(body_name.clone(), body);
    new_schemas.extend(std::mem::take(schemas));
    *schemas = new_schemas;
    Ok(())
}

/// An operation's `response_body` must be what its success response now refers to (after
/// renames and shaping), so a change upstream fails here rather than in the generated code.
pub(super) fn check_response_bodies(doc: &Value, adj: &Adjustments) -> Result<(), String> {
    for (i, op) in adj.operations.iter().enumerate() {
        let Some(want) = &op.response_body else {
            continue;
        };
        let got = doc["paths"][&op.path][&op.method]
            .pointer(&format!(
                "/responses/{}/content/application~1json/schema/$ref",
                adj.responses.success
            ))
            .and_then(Value::as_str);
        if got != Some(format!("#/components/schemas/{want}").as_str()) {
            return Err(format!(
                "adjustment operations[{i}] ({}): the success response's body is {}, not {want}",
                op.operation_id,
                got.unwrap_or("not a $ref")
            ));
        }
    }
    Ok(())
}
