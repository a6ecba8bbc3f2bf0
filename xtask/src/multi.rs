//! Slicing across several upstream texts (`spec update --from A --from B …`): the PowerShell
//! SDK splits Graph's description into modules (users in `Users.yml`, subscribed SKUs in
//! `Identity.DirectoryManagement.yml`, Autopilot in `DeviceManagement.Enrollment.yml`), so the
//! selected paths may live in different texts.
//!
//! Rules: each selected path comes from exactly one text (a path in two texts, or in none, is an
//! error naming them); each text's paths are cut with their `$ref` closure as from one text; a
//! component taken from two texts must be defined identically in both (then it is kept once),
//! else the update fails naming both texts and the component. The header (`openapi`, `info`,
//! `servers`) is the first text's; paths come text by text, each in upstream order.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::slice::{self, Mode, Outcome};

/// One upstream text and how to name it in errors.
pub struct Text<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Whether `text` holds each wanted path (either spelling), without building the slice.
fn holds(text: &str, wanted: &[String], mode: Mode) -> Result<Vec<bool>, String> {
    let spellings = |w: &String| [w.clone(), slice::qualified(w)];
    if mode == Mode::Auto
        && let Ok(ix) = crate::scan::index(text)
    {
        return Ok(wanted
            .iter()
            .map(|w| spellings(w).iter().any(|k| ix.path_by_key.contains_key(k)))
            .collect());
    }
    let keep: HashSet<String> = wanted.iter().flat_map(spellings).collect();
    let filter = |k: &str| keep.contains(k);
    let doc = crate::yaml::parse(text, 1, Some(&filter)).map_err(|e| e.to_string())?;
    let paths = doc.get("paths").and_then(Value::as_object);
    Ok(wanted
        .iter()
        .map(|w| {
            spellings(w)
                .iter()
                .any(|k| paths.is_some_and(|p| p.contains_key(k)))
        })
        .collect())
}

/// Slice `wanted` across `texts` (see the module docs).
pub fn slice(texts: &[Text<'_>], wanted: &[String], mode: Mode) -> Result<Outcome, String> {
    // One text: sliced, and its errors worded, exactly as before.
    if let [one] = texts {
        return slice::slice(one.text, wanted, mode);
    }
    let mut owner: Vec<Option<usize>> = vec![None; wanted.len()];
    for (ti, t) in texts.iter().enumerate() {
        for (wi, has) in holds(t.text, wanted, mode)
            .map_err(|e| format!("{}: {e}", t.name))?
            .into_iter()
            .enumerate()
        {
            if !has {
                continue;
            }
            if let Some(prev) = owner[wi] {
                return Err(format!(
                    "path '{}' is in both {} and {}; each selected path must come from exactly one text",
                    wanted[wi], texts[prev].name, t.name
                ));
            }
            owner[wi] = Some(ti);
        }
    }
    if let Some(wi) = owner.iter().position(Option::is_none) {
        let names: Vec<&str> = texts.iter().map(|t| t.name).collect();
        return Err(format!(
            "path '{}' (unqualified or microsoft.graph.-qualified) is in none of {}",
            wanted[wi],
            names.join(", ")
        ));
    }

    let mut merged: Map<String, Value> = Map::new();
    let mut paths: Map<String, Value> = Map::new();
    let mut components: Map<String, Value> = Map::new();
    // Which text each component came from, to name both on a conflict.
    let mut origin: std::collections::HashMap<(String, String), usize> = Default::default();
    let mut tags: Vec<Value> = Vec::new();
    let mut fallback = None;
    for (ti, t) in texts.iter().enumerate() {
        let mine: Vec<String> = wanted
            .iter()
            .zip(&owner)
            .filter(|(_, o)| **o == Some(ti))
            .map(|(w, _)| w.clone())
            .collect();
        if mine.is_empty() {
            continue;
        }
        let out = slice::slice(t.text, &mine, mode).map_err(|e| format!("{}: {e}", t.name))?;
        if let Some(reason) = out.fallback {
            fallback.get_or_insert(format!("{}: {reason}", t.name));
        }
        let Value::Object(mut doc) = out.slice else {
            return Err(format!(
                "internal: the slice of {} is not a mapping",
                t.name
            ));
        };
        if merged.is_empty() {
            for key in ["openapi", "info", "servers"] {
                if let Some(v) = doc.get(key) {
                    merged.insert(key.into(), v.clone());
                }
            }
        }
        if let Some(Value::Array(ts)) = doc.remove("tags") {
            for tag in ts {
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
        if let Some(Value::Object(ps)) = doc.remove("paths") {
            paths.extend(ps);
        }
        let Some(Value::Object(cs)) = doc.remove("components") else {
            continue;
        };
        for (section, entries) in cs {
            let Value::Object(entries) = entries else {
                continue;
            };
            let sec = components
                .entry(section.clone())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("a section is a mapping");
            for (name, def) in entries {
                match sec.get(&name) {
                    Some(existing) if *existing == def => {}
                    Some(_) => {
                        let first = origin[&(section.clone(), name.clone())];
                        return Err(format!(
                            "component {section}/{name} is defined differently in {} and {}; the texts must agree on what they share",
                            texts[first].name, t.name
                        ));
                    }
                    None => {
                        origin.insert((section.clone(), name.clone()), ti);
                        sec.insert(name, def);
                    }
                }
            }
        }
    }
    if !tags.is_empty() {
        merged.insert("tags".into(), Value::Array(tags));
    }
    merged.insert("paths".into(), Value::Object(paths));
    merged.insert("components".into(), Value::Object(components));
    Ok(Outcome {
        slice: Value::Object(merged),
        fallback,
    })
}
