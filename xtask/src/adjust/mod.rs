//! The crate's declarative changes to Microsoft's text (`spec/adjustments.yaml`).
//!
//! Two kinds of entries:
//! - *targeted* adjustments (`operations`, `request_body_schema`, `schema_renames`,
//!   `property_renames`, `inline_to_schema`, `set_properties`, `responses`, `added_paths`)
//!   must find their target; one that does not is an error naming the adjustment;
//!   and the schema shapers (`flatten_all_of`, `keep_properties`, `open_enums`,
//!   `plain_date_times`, `plain_uuids`);
//! - *rules* (`drop_additional_properties`, `collapse_nullable_refs`, `join_unexploded_arrays`,
//!   `prune_unreferenced`)
//!   normalise a form wherever it occurs and may match nothing.
//!
//! [`apply`] turns the verbatim slice into the adjusted document build.rs reads, one kind after
//! the other ([`STEPS`]); each kind is one function, in a file by concern: `operations`
//! (with `responses`), `rules`, `schemas`, `shapers`, `added_paths`.

mod added_paths;
mod operations;
mod responses;
mod rules;
mod schemas;
mod shapers;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

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

/// One application step: an adjustment kind, or a check between kinds.
#[derive(Debug, Clone, Copy)]
enum Step {
    Operations,
    DropAdditionalProperties,
    CollapseNullableRefs,
    JoinUnexplodedArrays,
    RequestBodySchema,
    SchemaRenames,
    PropertyRenames,
    InlineToSchema,
    SchemaRenamesFound,
    SetProperties,
    FlattenAllOf,
    KeepProperties,
    OpenEnums,
    PlainDateTimes,
    PlainUuids,
    ResponseBodies,
    AddedPaths,
    PruneUnreferenced,
}

/// The order the steps apply in: each later one sees what the earlier ones made (renames see
/// the hoisted request body, shapers the renamed schemas, added paths the final operations).
const STEPS: [Step; 18] = [
    Step::Operations,
    Step::DropAdditionalProperties,
    Step::CollapseNullableRefs,
    Step::JoinUnexplodedArrays,
    Step::RequestBodySchema,
    Step::SchemaRenames,
    Step::PropertyRenames,
    Step::InlineToSchema,
    Step::SchemaRenamesFound,
    Step::SetProperties,
    Step::FlattenAllOf,
    Step::KeepProperties,
    Step::OpenEnums,
    Step::PlainDateTimes,
    Step::PlainUuids,
    Step::ResponseBodies,
    Step::AddedPaths,
    Step::PruneUnreferenced,
];

/// Apply the adjustments to a slice.
pub fn apply(slice: &Value, adj: &Adjustments) -> Result<Value, String> {
    let mut doc = slice.clone();
    let root = obj(&mut doc).ok_or("slice is not a mapping")?;
    root.retain(|k, _| adj.keep_top_level.contains(k));
    let mut take = |key: &str| {
        let section = root.remove(key).and_then(|v| v.as_object().cloned());
        (key.to_string(), Value::Object(section.unwrap_or_default()))
    };
    // The steps work on paths and components only; the other kept keys pass through.
    let mut rest = Value::Object(Map::from_iter([take("paths"), take("components")]));
    let mut missing_renames = Vec::new();
    for step in STEPS {
        let d = &mut rest;
        match step {
            Step::Operations => operations::operations(d, adj)?,
            Step::DropAdditionalProperties if adj.drop_additional_properties => {
                rules::drop_additional_properties(d)
            }
            Step::CollapseNullableRefs if adj.collapse_nullable_refs => {
                rules::collapse_nullable_refs(d)
            }
            Step::JoinUnexplodedArrays if adj.join_unexploded_arrays => {
                rules::join_unexploded_arrays(&mut d["paths"])
            }
            Step::RequestBodySchema => operations::request_body_schema(d, adj)?,
            Step::SchemaRenames => missing_renames = schemas::schema_renames(d, adj)?,
            Step::PropertyRenames => schemas::property_renames(d, adj)?,
            Step::InlineToSchema => schemas::inline_to_schema(d, adj)?,
            Step::SchemaRenamesFound => schemas::check_renames_found(d, adj, &missing_renames)?,
            Step::SetProperties => schemas::set_properties(d, adj)?,
            Step::FlattenAllOf => shapers::flatten_all_of(d, adj)?,
            Step::KeepProperties => shapers::keep_properties(d, adj)?,
            Step::OpenEnums => shapers::open_enums(d, adj)?,
            Step::PlainDateTimes => shapers::plain_date_times(d, adj)?,
            Step::PlainUuids => shapers::plain_uuids(d, adj)?,
            Step::ResponseBodies => operations::check_response_bodies(d, adj)?,
            Step::AddedPaths => added_paths::added_paths(d, adj)?,
            Step::PruneUnreferenced if adj.prune_unreferenced => rules::prune_unreferenced(d),
            // A rule switched off (listed, so a new step cannot be forgotten here).
            Step::DropAdditionalProperties
            | Step::CollapseNullableRefs
            | Step::JoinUnexplodedArrays
            | Step::PruneUnreferenced => {}
        }
    }

    let Value::Object(rest) = rest else {
        unreachable!()
    };
    let root = obj(&mut doc).expect("mapping");
    root.extend(rest);
    // Keep the upstream top-level order for what is kept.
    let mut ordered = Map::new();
    for k in &adj.keep_top_level {
        if let Some(v) = root.remove(k) {
            ordered.insert(k.clone(), v);
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
