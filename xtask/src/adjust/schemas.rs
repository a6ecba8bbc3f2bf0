//! The targeted schema edits: type names, property names, hoisted inline schemas and set
//! properties. Each must find its target.

use serde_json::{Map, Value, json};

use super::{Adjustments, insert_after, schema_props};

/// `schema_renames`: each schema takes the crate's name (in place, order kept, every `$ref`
/// rewritten), so the generated types keep one name whatever the year of the text. Returns
/// the renames none of whose upstream names were found (see [`check_renames_found`]).
pub(super) fn schema_renames(doc: &mut Value, adj: &Adjustments) -> Result<Vec<String>, String> {
    let mut missing_renames = Vec::new();
    for (new, olds) in &adj.schema_renames {
        let schemas = doc["components"]["schemas"]
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
            rewrite_refs(doc, &from, &to);
        }
    }
    Ok(missing_renames)
}

/// A rename none of whose upstream names exists is an error unless `inline_to_schema` has
/// since created the schema (2021 texts declare `InnerError` inline).
pub(super) fn check_renames_found(
    doc: &Value,
    adj: &Adjustments,
    missing_renames: &[String],
) -> Result<(), String> {
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    if let Some(new) = missing_renames.iter().find(|n| !schemas.contains_key(*n)) {
        return Err(format!(
            "adjustment schema_renames.{new}: none of {:?} is in the slice",
            adj.schema_renames[new]
        ));
    }
    Ok(())
}

/// `property_renames`: a property takes its wire spelling (`innererror` until 2022 is
/// `innerError`), so the generated field decodes what Graph sends.
pub(super) fn property_renames(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
    for (i, r) in adj.property_renames.iter().enumerate() {
        let name = format!("property_renames[{i}] ({}.{})", r.schema, r.to);
        let props = schema_props(doc, &r.schema)
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
    Ok(())
}

/// `inline_to_schema`: an inline property schema moves to a named schema it then refers to,
/// so every year's text yields the same named type.
pub(super) fn inline_to_schema(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
    for (i, h) in adj.inline_to_schema.iter().enumerate() {
        let name = format!(
            "inline_to_schema[{i}] ({}.{} → {})",
            h.schema, h.property, h.to
        );
        let target_ref = format!("#/components/schemas/{}", h.to);
        let props = schema_props(doc, &h.schema)
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
        let schemas = doc["components"]["schemas"]
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
    Ok(())
}

/// `set_properties`: a schema's properties of these names are set as given (replacing
/// upstream's), for fields upstream describes wrongly (`InnerError.date` has no UTC offset).
pub(super) fn set_properties(doc: &mut Value, adj: &Adjustments) -> Result<(), String> {
    for (schema, set) in &adj.set_properties {
        let name = format!("set_properties.{schema}");
        let s = doc["components"]["schemas"]
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
    Ok(())
}

/// Every `$ref` equal to `from` becomes `to`.
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
