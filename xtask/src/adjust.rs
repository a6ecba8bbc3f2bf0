//! The crate's declarative changes to Microsoft's text (`spec/adjustments.yaml`).
//!
//! Two kinds of entries:
//! - *targeted* adjustments (`operations`, `request_body_schema`, `schema_renames`,
//!   `property_renames`, `inline_to_schema`, `set_properties`, `responses`, `added_paths`)
//!   must find their target; one that does not is an error naming the adjustment;
//!   and the schema shapers (`flatten_all_of`, `keep_properties`, `open_enums`,
//!   `plain_date_times`);
//! - *rules* (`drop_additional_properties`, `collapse_nullable_refs`, `join_unexploded_arrays`,
//!   `prune_unreferenced`)
//!   normalise a form wherever it occurs and may match nothing.
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
    /// Schemas whose `allOf: [{$ref: base}, {object}]` becomes one object (base properties first).
    #[serde(default)]
    pub flatten_all_of: Vec<String>,
    /// Schema → the only properties kept (each must exist upstream; upstream order is kept).
    #[serde(default)]
    pub keep_properties: IndexMap<String, Vec<String>>,
    /// Schemas whose properties that refer to a string enum become plain strings (unknown values
    /// decode); the known values move into the description.
    #[serde(default)]
    pub open_enums: Vec<String>,
    /// Schemas whose `format: date-time` properties become plain strings (Graph sends some
    /// without a UTC offset).
    #[serde(default)]
    pub plain_date_times: Vec<String>,
    /// Schemas whose `format: uuid` properties (and array items) become plain strings: a GUID
    /// stays readable as text, and the crate's API does not expose the `uuid` crate's type.
    #[serde(default)]
    pub plain_uuids: Vec<String>,
    /// Rule: query parameters declared `style: form, explode: false` with an array of strings
    /// become one string (comma-separated by the caller): progenitor repeats the name for each
    /// item whatever `explode` says, and Graph refuses a repeated `$select`.
    #[serde(default)]
    pub join_unexploded_arrays: bool,
    /// Rule: drop every component that nothing in `paths` reaches any more.
    #[serde(default)]
    pub prune_unreferenced: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub path: String,
    pub method: String,
    pub operation_id: String,
    /// Whether the operation takes the `request_body_schema` body (else upstream must have none).
    #[serde(default = "yes")]
    pub request_body: bool,
    /// The schema (after `schema_renames`) of the success response's JSON body; none when absent.
    #[serde(default)]
    pub response_body: Option<String>,
    /// The query parameters kept (each must exist upstream; `$ref`s are inlined); all when absent.
    #[serde(default)]
    pub query_parameters: Option<Vec<String>>,
}

fn yes() -> bool {
    true
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
        if let Some(wanted) = &op.query_parameters {
            keep_query_parameters(o, wanted, &components, &name)?;
        }
        rewrite_responses(
            o,
            &adj.responses,
            &name,
            op.response_body.is_some(),
            &components,
        )?;
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
    if adj.join_unexploded_arrays {
        join_unexploded_arrays(&mut rest["paths"]);
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

    shape_schemas(&mut doc_rest, adj)?;
    for (i, op) in adj.operations.iter().enumerate() {
        let Some(want) = &op.response_body else {
            continue;
        };
        let got = doc_rest["paths"][&op.path][&op.method]
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

    if adj.prune_unreferenced {
        prune_unreferenced(&mut doc_rest);
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

fn rewrite_responses(
    o: &mut Map<String, Value>,
    r: &Responses,
    name: &str,
    with_body: bool,
    components: &Map<String, Value>,
) -> Result<(), String> {
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
            let resp = match resp.get("$ref").and_then(Value::as_str) {
                Some(target) => target
                    .strip_prefix("#/components/responses/")
                    .and_then(|n| components.get("responses")?.get(n))
                    .ok_or_else(|| {
                        format!("adjustment responses ({name}): success response {code} refers to '{target}', which is not a response in the slice")
                    })?,
                None => resp,
            };
            let has_body = resp.get("content").is_some();
            if has_body && !with_body {
                return Err(format!(
                    "adjustment responses ({name}): success response {code} now has a body; the crate expects none"
                ));
            }
            if with_body && resp.pointer("/content/application~1json/schema").is_none() {
                return Err(format!(
                    "adjustment responses ({name}): success response {code} has no application/json body; the crate expects one"
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
    let mut ok = json!({ "description": desc });
    if with_body {
        let schema = success["content"]["application/json"]["schema"].clone();
        ok["content"] = json!({ "application/json": { "schema": schema } });
    }
    out.insert(r.success.clone(), ok);
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

/// The parts of an `allOf`, `$ref`s resolved and nested `allOf`s expanded in place, depth
/// first (a user is `allOf: [directoryObject, {…}]`, a directoryObject `allOf: [entity, {…}]`).
fn all_of_parts<'a>(
    schemas: &'a Map<String, Value>,
    parts: &'a [Value],
    name: &str,
) -> Result<Vec<&'a Value>, String> {
    fn walk<'a>(
        schemas: &'a Map<String, Value>,
        parts: &'a [Value],
        name: &str,
        depth: usize,
        out: &mut Vec<&'a Value>,
    ) -> Result<(), String> {
        // Deeper than any entity hierarchy Graph has: a $ref loop through allOf.
        if depth > 16 {
            return Err(format!(
                "adjustment {name}: allOf nested too deep (a $ref loop?)"
            ));
        }
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) => r
                    .strip_prefix("#/components/schemas/")
                    .and_then(|n| schemas.get(n))
                    .ok_or_else(|| format!("adjustment {name}: '{r}' is not in the slice"))?,
                None => part,
            };
            match part.get("allOf").and_then(Value::as_array) {
                Some(inner) => walk(schemas, inner, name, depth + 1, out)?,
                None => out.push(part),
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(schemas, parts, name, 0, &mut out)?;
    Ok(out)
}

/// The schema shapers, in order: flatten `allOf`, keep the listed properties, open enums,
/// plain date-times. Each must find its target.
fn shape_schemas(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
    for schema in &adj.flatten_all_of {
        let name = format!("flatten_all_of.{schema}");
        let schemas = doc["components"]["schemas"]
            .as_object()
            .ok_or("components/schemas is not a mapping")?;
        let parts = schemas
            .get(schema)
            .ok_or_else(|| format!("adjustment {name}: schema '{schema}' is not in the slice"))?
            .get("allOf")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("adjustment {name}: '{schema}' has no allOf any more"))?;
        let mut merged = Map::new();
        let mut props = Map::new();
        for part in all_of_parts(schemas, parts, &name)? {
            for (k, v) in part.as_object().into_iter().flatten() {
                if k == "properties" {
                    for (pk, pv) in v.as_object().into_iter().flatten() {
                        if props.insert(pk.clone(), pv.clone()).is_some() {
                            return Err(format!(
                                "adjustment {name}: property '{pk}' is declared by two parts of '{schema}'"
                            ));
                        }
                    }
                } else if k != "required" {
                    // The last part (the entity's own) names and describes the schema.
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        merged.insert("type".into(), json!("object"));
        let flat = merged;
        let mut flat = flat;
        insert_after(
            &mut flat,
            "properties",
            Value::Object(props),
            &["title", "type"],
        );
        doc["components"]["schemas"][schema] = Value::Object(flat);
    }

    for (schema, keep) in &adj.keep_properties {
        let name = format!("keep_properties.{schema}");
        let props = schema_props(doc, schema).ok_or_else(|| {
            format!("adjustment {name}: schema '{schema}' has no properties (flatten it first?)")
        })?;
        let missing: Vec<&String> = keep.iter().filter(|k| !props.contains_key(*k)).collect();
        if !missing.is_empty() {
            return Err(format!(
                "adjustment {name}: {missing:?} not among the properties of '{schema}' upstream"
            ));
        }
        props.retain(|k, _| keep.contains(k));
    }

    for schema in &adj.open_enums {
        let name = format!("open_enums.{schema}");
        let schemas = doc["components"]["schemas"].clone();
        let props = schema_props(doc, schema)
            .ok_or_else(|| format!("adjustment {name}: schema '{schema}' has no properties"))?;
        let mut opened = 0;
        for prop in props.values_mut() {
            let Some(target) = prop
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .and_then(|n| schemas.get(n))
            else {
                continue;
            };
            let Some(values) = target.get("enum").and_then(Value::as_array) else {
                continue;
            };
            if target.get("type").and_then(Value::as_str) != Some("string") {
                continue;
            }
            let known: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            let what = target
                .get("description")
                .or_else(|| target.get("title"))
                .and_then(Value::as_str)
                .unwrap_or("An enumeration")
                .trim_end_matches('.');
            *prop = json!({
                "type": "string",
                "description": format!("{what}. Known values: {} (others are accepted).", known.join(", ")),
                "nullable": true,
            });
            opened += 1;
        }
        if opened == 0 {
            return Err(format!(
                "adjustment {name}: no property of '{schema}' refers to a string enum"
            ));
        }
    }

    for schema in &adj.plain_date_times {
        let name = format!("plain_date_times.{schema}");
        let props = schema_props(doc, schema)
            .ok_or_else(|| format!("adjustment {name}: schema '{schema}' has no properties"))?;
        let mut changed = 0;
        for prop in props.values_mut().filter_map(Value::as_object_mut) {
            if prop.get("format").and_then(Value::as_str) == Some("date-time") {
                prop.shift_remove("format");
                prop.shift_remove("pattern");
                changed += 1;
            }
        }
        if changed == 0 {
            return Err(format!(
                "adjustment {name}: no property of '{schema}' is a date-time"
            ));
        }
    }

    for schema in &adj.plain_uuids {
        let name = format!("plain_uuids.{schema}");
        let props = schema_props(doc, schema)
            .ok_or_else(|| format!("adjustment {name}: schema '{schema}' has no properties"))?;
        let mut changed = 0;
        for prop in props.values_mut().filter_map(Value::as_object_mut) {
            let target = match prop.get("type").and_then(Value::as_str) {
                Some("array") => prop.get_mut("items").and_then(Value::as_object_mut),
                _ => Some(prop),
            };
            if let Some(t) = target
                && t.get("format").and_then(Value::as_str) == Some("uuid")
            {
                t.shift_remove("format");
                t.shift_remove("pattern");
                changed += 1;
            }
        }
        if changed == 0 {
            return Err(format!(
                "adjustment {name}: no property of '{schema}' is a uuid"
            ));
        }
    }
    Ok(())
}

/// Drop every component that `paths` does not reach (transitively), and emptied sections.
fn prune_unreferenced(doc: &mut Value) {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut work: Vec<String> = crate::slice::refs(&doc["paths"]);
    while let Some(r) = work.pop() {
        let Ok((section, name)) = crate::slice::parse_ref(&r, "") else {
            continue;
        };
        if !seen.insert((section.clone(), name.clone())) {
            continue;
        }
        if let Some(v) = doc["components"].get(&section).and_then(|s| s.get(&name)) {
            work.extend(crate::slice::refs(v));
        }
    }
    if let Some(components) = doc["components"].as_object_mut() {
        for (section, entries) in components.iter_mut() {
            if let Some(entries) = entries.as_object_mut() {
                entries.retain(|name, _| seen.contains(&(section.clone(), name.clone())));
            }
        }
        components.retain(|_, entries| entries.as_object().is_none_or(|e| !e.is_empty()));
    }
}

/// `{in: query, style: form, explode: false, schema: {type: array, items: {type: string}}}` →
/// `schema: {type: string}`, the caller joining the items with commas (OData's form).
fn join_unexploded_arrays(paths: &mut Value) {
    let mut work = vec![paths];
    while let Some(v) = work.pop() {
        match v {
            Value::Object(m) => {
                let is_form_array = m.get("in").and_then(Value::as_str) == Some("query")
                    && m.get("explode") == Some(&Value::Bool(false))
                    && m.get("schema")
                        .and_then(|s| s.get("type"))
                        .and_then(Value::as_str)
                        == Some("array")
                    && m.get("schema")
                        .and_then(|s| s.get("items"))
                        .and_then(|i| i.get("type"))
                        .and_then(Value::as_str)
                        == Some("string");
                if is_form_array {
                    m.insert("schema".into(), json!({ "type": "string" }));
                    if let Some(Value::String(d)) = m.get_mut("description") {
                        d.push_str(" (comma-separated)");
                    }
                    continue;
                }
                work.extend(m.values_mut());
            }
            Value::Array(a) => work.extend(a.iter_mut()),
            _ => {}
        }
    }
}
