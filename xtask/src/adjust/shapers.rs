//! The schema shapers: reshape a named schema so progenitor emits a type that decodes what
//! Graph sends. Each must find its target.

use serde_json::{Map, Value, json};

use super::{Adjustments, insert_after, schema_props};

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

/// `flatten_all_of`: `allOf: [{$ref: base}, {object}]` becomes one object (base properties
/// first), so an entity the job reads is one plain type with `id` first.
pub(super) fn flatten_all_of(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
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
    Ok(())
}

/// `keep_properties`: only the listed properties stay (upstream order): the fields the job
/// needs, which its GET and list operations `$select`.
pub(super) fn keep_properties(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
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
    Ok(())
}

/// `open_enums`: properties referring to a string enum become plain strings (known values in
/// the description), because Intune adds values and a closed enum would fail a whole decode.
pub(super) fn open_enums(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
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
    Ok(())
}

/// `plain_date_times`: `format: date-time` properties become plain strings, because Graph sends
/// some without a UTC offset.
pub(super) fn plain_date_times(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
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
    Ok(())
}

/// `plain_uuids`: `format: uuid` properties (and array items) become plain strings, so the
/// crate's API does not expose the `uuid` crate's type.
pub(super) fn plain_uuids(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
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
