//! The crate's declarative changes to Microsoft's text (`spec/adjustments.yaml`).
//!
//! Two kinds of entries:
//! - *targeted* adjustments (`operations`, `request_body_schema`, `schema_renames`,
//!   `property_renames`, `inline_to_schema`, `set_properties`, `responses`, `added_paths`)
//!   must find their target; one that does not is an error naming the adjustment;
//! - *rules* (`drop_additional_properties`, `collapse_nullable_refs`) normalise a form wherever
//!   it occurs and may match nothing.
//!
//! [`apply`] turns the verbatim slice into the adjusted document build.rs reads.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::slice::qualified;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adjustments {
    pub version: u32,
    /// The action's operations, selected by exact path (unqualified spelling; the
    /// `microsoft.graph.`-qualified one is accepted too), in the order of the adjusted document.
    pub operations: Vec<Operation>,
    /// Top-level keys of the adjusted document (others are dropped).
    pub keep_top_level: Vec<String>,
    /// Name of the schema each operation's inline `application/json` request body moves to.
    pub request_body_schema: String,
    /// New name → upstream names (first present wins).
    #[serde(default)]
    pub schema_renames: IndexMap<String, Vec<String>>,
    #[serde(default)]
    pub property_renames: Vec<PropertyRename>,
    #[serde(default)]
    pub inline_to_schema: Vec<InlineToSchema>,
    #[serde(default)]
    pub drop_additional_properties: bool,
    #[serde(default)]
    pub collapse_nullable_refs: bool,
    /// Schema → properties to set (replacing upstream's definition of the same name).
    #[serde(default)]
    pub set_properties: IndexMap<String, IndexMap<String, Value>>,
    pub responses: Responses,
    #[serde(default)]
    pub added_paths: Vec<AddedPath>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub path: String,
    pub method: String,
    pub operation_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyRename {
    pub schema: String,
    pub from: Vec<String>,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineToSchema {
    pub schema: String,
    pub property: String,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Responses {
    /// Upstream success codes that are accepted (exactly one per operation).
    pub success_from: Vec<String>,
    pub success: String,
    /// Upstream error codes that are accepted (all must `$ref` the error response).
    pub errors_from: Vec<String>,
    pub errors: Vec<String>,
    /// The `components/responses` entry every error code refers to.
    pub error_response: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddedPath {
    pub path: String,
    pub copy_of: String,
    pub operation_id: String,
    pub parameters: Vec<AddedParameter>,
    #[serde(default)]
    pub extensions: IndexMap<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddedParameter {
    pub from: String,
    #[serde(default)]
    pub name: Option<String>,
}

impl Adjustments {
    pub fn parse(text: &str) -> Result<Self, String> {
        let v = crate::yaml::parse(text, 1, None).map_err(|e| format!("adjustments: {e}"))?;
        let a: Adjustments = serde_json::from_value(v).map_err(|e| format!("adjustments: {e}"))?;
        if a.version != 1 {
            return Err(format!(
                "adjustments: version {} is not supported (expected 1)",
                a.version
            ));
        }
        Ok(a)
    }

    /// The unqualified paths the slice selects.
    pub fn wanted_paths(&self) -> Vec<String> {
        self.operations.iter().map(|o| o.path.clone()).collect()
    }
}

fn obj(v: &mut Value) -> Option<&mut Map<String, Value>> {
    v.as_object_mut()
}

/// Apply the adjustments to a slice.
pub fn apply(slice: &Value, adj: &Adjustments) -> Result<Value, String> {
    let mut doc = slice.clone();
    let root = obj(&mut doc).ok_or("slice is not a mapping")?;
    root.retain(|k, _| adj.keep_top_level.contains(k));
    let upstream_paths = root
        .remove("paths")
        .and_then(|p| p.as_object().cloned())
        .unwrap_or_default();
    let mut components = root
        .remove("components")
        .and_then(|c| c.as_object().cloned())
        .unwrap_or_default();

    // Operations: by path, in the adjustments' order.
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
        rewrite_responses(o, &adj.responses, &name)?;
        let mut new_item = Map::new();
        new_item.insert(op.method.clone(), operation);
        paths.insert(op.path.clone(), Value::Object(new_item));
    }

    // Rules that normalise forms anywhere.
    let mut rest = Value::Object(Map::from_iter([
        ("paths".to_string(), Value::Object(paths)),
        ("components".to_string(), Value::Object(components.clone())),
    ]));
    if adj.drop_additional_properties {
        drop_additional_properties(&mut rest);
    }
    if adj.collapse_nullable_refs {
        collapse_nullable_refs(&mut rest);
    }
    let Value::Object(mut rest) = rest else {
        unreachable!()
    };
    let mut paths = rest
        .remove("paths")
        .and_then(|p| p.as_object().cloned())
        .unwrap_or_default();
    components = rest
        .remove("components")
        .and_then(|c| c.as_object().cloned())
        .unwrap_or_default();

    // Request bodies → one named schema.
    let body_name = &adj.request_body_schema;
    let mut body: Option<(String, Value)> = None;
    for (i, op) in adj.operations.iter().enumerate() {
        let name = format!("request_body_schema ({body_name}) for operations[{i}]");
        let o = paths
            .get_mut(&op.path)
            .and_then(|p| p.get_mut(&op.method))
            .expect("built above");
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
    let schemas = components
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

    let mut doc_rest = Value::Object(Map::from_iter([
        ("paths".to_string(), Value::Object(paths)),
        ("components".to_string(), Value::Object(components)),
    ]));

    // Schema renames: in place (order kept), then every $ref rewritten.
    let mut missing_renames = Vec::new();
    for (new, olds) in &adj.schema_renames {
        let schemas = doc_rest["components"]["schemas"]
            .as_object_mut()
            .expect("schemas");
        let Some(old) = olds.iter().find(|o| schemas.contains_key(*o)) else {
            missing_renames.push(new.clone());
            continue;
        };
        if old != new {
            if schemas.contains_key(new) {
                return Err(format!(
                    "adjustment schema_renames.{new}: '{new}' already exists upstream"
                ));
            }
            let renamed: Map<String, Value> = std::mem::take(schemas)
                .into_iter()
                .map(|(k, v)| if k == *old { (new.clone(), v) } else { (k, v) })
                .collect();
            *schemas = renamed;
            let (from, to) = (
                format!("#/components/schemas/{old}"),
                format!("#/components/schemas/{new}"),
            );
            rewrite_refs(&mut doc_rest, &from, &to);
        }
    }

    for (i, r) in adj.property_renames.iter().enumerate() {
        let name = format!("property_renames[{i}] ({}.{})", r.schema, r.to);
        let props = schema_props(&mut doc_rest, &r.schema)
            .ok_or_else(|| format!("adjustment {name}: schema '{}' has no properties", r.schema))?;
        if props.contains_key(&r.to) {
            continue;
        }
        let Some(from) = r.from.iter().find(|f| props.contains_key(*f)).cloned() else {
            return Err(format!(
                "adjustment {name}: neither '{}' nor any of {:?} is a property of '{}'",
                r.to, r.from, r.schema
            ));
        };
        let renamed: Map<String, Value> = std::mem::take(props)
            .into_iter()
            .map(|(k, v)| if k == from { (r.to.clone(), v) } else { (k, v) })
            .collect();
        *props = renamed;
    }

    for (i, h) in adj.inline_to_schema.iter().enumerate() {
        let name = format!(
            "inline_to_schema[{i}] ({}.{} → {})",
            h.schema, h.property, h.to
        );
        let target_ref = format!("#/components/schemas/{}", h.to);
        let props = schema_props(&mut doc_rest, &h.schema)
            .ok_or_else(|| format!("adjustment {name}: schema '{}' has no properties", h.schema))?;
        let prop = props.get_mut(&h.property).ok_or_else(|| {
            format!(
                "adjustment {name}: '{}' has no property '{}'",
                h.schema, h.property
            )
        })?;
        if prop.get("$ref").and_then(Value::as_str) == Some(target_ref.as_str()) {
            continue;
        }
        if prop.get("$ref").is_some() {
            return Err(format!(
                "adjustment {name}: the property now refers to {}",
                prop["$ref"]
            ));
        }
        let inline = std::mem::replace(prop, json!({ "$ref": target_ref }));
        let schemas = doc_rest["components"]["schemas"]
            .as_object_mut()
            .expect("schemas");
        if schemas.contains_key(&h.to) {
            return Err(format!(
                "adjustment {name}: '{}' exists and the property is inline",
                h.to
            ));
        }
        schemas.insert(h.to.clone(), inline);
    }

    {
        let schemas = doc_rest["components"]["schemas"]
            .as_object()
            .expect("schemas");
        if let Some(new) = missing_renames.iter().find(|n| !schemas.contains_key(*n)) {
            return Err(format!(
                "adjustment schema_renames.{new}: none of {:?} is in the slice",
                adj.schema_renames[new]
            ));
        }
    }

    for (schema, set) in &adj.set_properties {
        let name = format!("set_properties.{schema}");
        let s = doc_rest["components"]["schemas"]
            .get_mut(schema)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("adjustment {name}: schema '{schema}' is not in the slice"))?;
        if !s.contains_key("properties") {
            insert_after(
                s,
                "properties",
                Value::Object(Map::new()),
                &["type", "title", "required"],
            );
        }
        let props = s["properties"]
            .as_object_mut()
            .ok_or_else(|| format!("adjustment {name}: properties is not a mapping"))?;
        for (k, v) in set {
            props.insert(k.clone(), v.clone());
        }
    }

    // Added paths: copies of an adjusted operation.
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
        let paths = doc_rest["paths"].as_object_mut().expect("paths");
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

    let Value::Object(rest) = doc_rest else {
        unreachable!()
    };
    let root = obj(&mut doc).expect("mapping");
    root.extend(rest);
    // Keep the upstream top-level order for what is kept.
    let order: Vec<String> = adj.keep_top_level.clone();
    let mut ordered = Map::new();
    for k in order {
        if let Some(v) = root.remove(&k) {
            ordered.insert(k, v);
        }
    }
    Ok(Value::Object(ordered))
}

fn schema_props<'a>(doc: &'a mut Value, schema: &str) -> Option<&'a mut Map<String, Value>> {
    doc["components"]["schemas"]
        .get_mut(schema)?
        .get_mut("properties")?
        .as_object_mut()
}

/// Insert `key` after the last of `after` present (else at the end), replacing any old value.
fn insert_after(m: &mut Map<String, Value>, key: &str, v: Value, after: &[&str]) {
    if m.contains_key(key) {
        m.insert(key.into(), v);
        return;
    }
    let pos = m
        .keys()
        .rposition(|k| after.contains(&k.as_str()))
        .map_or(m.len(), |i| i + 1);
    let entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
    for (i, (k, old)) in entries.into_iter().enumerate() {
        if i == pos {
            m.insert(key.into(), v.clone());
        }
        m.insert(k, old);
    }
    if !m.contains_key(key) {
        m.insert(key.into(), v);
    }
}

fn rewrite_responses(o: &mut Map<String, Value>, r: &Responses, name: &str) -> Result<(), String> {
    let responses = o
        .get("responses")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("adjustment {name}: the operation has no responses"))?;
    let error_ref = format!("#/components/responses/{}", r.error_response);
    let mut success: Option<&Value> = None;
    let mut has_error = false;
    for (code, resp) in responses {
        if r.success_from.contains(code) {
            if success.is_some() {
                return Err(format!(
                    "adjustment responses ({name}): more than one success response"
                ));
            }
            if resp.get("content").is_some() || resp.get("$ref").is_some() {
                return Err(format!(
                    "adjustment responses ({name}): success response {code} now has a body; the crate expects none"
                ));
            }
            success = Some(resp);
        } else if r.errors_from.contains(code) {
            if resp.get("$ref").and_then(Value::as_str) != Some(error_ref.as_str()) {
                return Err(format!(
                    "adjustment responses ({name}): response {code} no longer refers to '{error_ref}'"
                ));
            }
            has_error = true;
        } else {
            return Err(format!(
                "adjustment responses ({name}): unexpected response code '{code}' upstream"
            ));
        }
    }
    let success = success.ok_or_else(|| {
        format!(
            "adjustment responses ({name}): no success response (one of {:?})",
            r.success_from
        )
    })?;
    if !has_error {
        return Err(format!(
            "adjustment responses ({name}): no error response (one of {:?})",
            r.errors_from
        ));
    }
    let mut out = Map::new();
    let desc = success
        .get("description")
        .cloned()
        .unwrap_or(Value::String("Success".into()));
    out.insert(r.success.clone(), json!({ "description": desc }));
    for code in &r.errors {
        out.insert(code.clone(), json!({ "$ref": error_ref }));
    }
    o.insert("responses".into(), Value::Object(out));
    Ok(())
}

/// Remove the converter's `additionalProperties: {type: object}` marker everywhere (it makes
/// non-object extra properties fail to decode).
fn drop_additional_properties(v: &mut Value) {
    let marker = json!({ "type": "object" });
    let mut work = vec![(v, false)];
    while let Some((v, in_properties)) = work.pop() {
        match v {
            Value::Object(m) => {
                if !in_properties && m.get("additionalProperties") == Some(&marker) {
                    m.shift_remove("additionalProperties");
                }
                for (k, child) in m.iter_mut() {
                    work.push((child, !in_properties && k == "properties"));
                }
            }
            Value::Array(a) => work.extend(a.iter_mut().map(|c| (c, false))),
            _ => {}
        }
    }
}

/// `anyOf: [{$ref: X}, {type: object, nullable: true}]` (to 2025) and
/// `anyOf: [{$ref: X}, {enum: [null]}]` (since 2026) → `$ref: X`.
fn collapse_nullable_refs(v: &mut Value) {
    let null_forms = [
        json!({ "type": "object", "nullable": true }),
        json!({ "enum": [null] }),
    ];
    let mut work = vec![v];
    while let Some(v) = work.pop() {
        match v {
            Value::Object(m) => {
                let collapse = match m.get("anyOf") {
                    Some(Value::Array(a)) if a.len() == 2 => {
                        let r = a.iter().find(|x| {
                            x.get("$ref").is_some() && x.as_object().is_some_and(|o| o.len() == 1)
                        });
                        let n = a.iter().any(|x| null_forms.contains(x));
                        if let (Some(r), true) = (r, n) {
                            Some(r.clone())
                        } else {
                            None
                        }
                    }
                    _ => None,
                };
                if let Some(r) = collapse {
                    let entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
                    for (k, v) in entries {
                        if k == "anyOf" {
                            m.insert("$ref".into(), r["$ref"].clone());
                        } else {
                            m.insert(k, v);
                        }
                    }
                }
                work.extend(m.values_mut());
            }
            Value::Array(a) => work.extend(a.iter_mut()),
            _ => {}
        }
    }
}

fn rewrite_refs(v: &mut Value, from: &str, to: &str) {
    let mut work = vec![v];
    while let Some(v) = work.pop() {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    if k == "$ref" && child.as_str() == Some(from) {
                        *child = Value::String(to.into());
                    } else {
                        work.push(child);
                    }
                }
            }
            Value::Array(a) => work.extend(a.iter_mut()),
            _ => {}
        }
    }
}
