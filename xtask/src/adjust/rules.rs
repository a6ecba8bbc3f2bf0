//! The rules: normalise a form wherever it occurs (they may match nothing).

use std::collections::HashSet;

use serde_json::{Value, json};

/// `drop_additional_properties`: remove the converter's `additionalProperties: {type: object}`
/// marker everywhere, because it makes extra properties that are not objects fail to decode.
pub(super) fn drop_additional_properties(v: &mut Value) {
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

/// `collapse_nullable_refs`: `anyOf: [{$ref: X}, {type: object, nullable: true}]` (to 2025) and
/// `anyOf: [{$ref: X}, {enum: [null]}]` (since 2026) → `$ref: X`, so every year's text gives
/// the same document.
pub(super) fn collapse_nullable_refs(v: &mut Value) {
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

/// `join_unexploded_arrays`: `{in: query, style: form, explode: false, schema: {type: array,
/// items: {type: string}}}` → `schema: {type: string}`, the caller joining the items with commas,
/// because progenitor repeats the name per item and Graph refuses a repeated `$select`.
pub(super) fn join_unexploded_arrays(paths: &mut Value) {
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

/// `prune_unreferenced`: drop every component that `paths` does not reach (transitively), and
/// emptied sections, so `openapi.json` holds only what the trimmed operations use.
pub(super) fn prune_unreferenced(doc: &mut Value) {
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
