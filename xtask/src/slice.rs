//! Cut the action out of an upstream description: its path items (by exact path), the
//! transitive closure of every `$ref` they use, pruned of what points outside the slice.
//!
//! Two ways to read the text give the same slice: the fast path ([`crate::scan`] plus the YAML
//! parser on the few entries needed) and a conforming parse of the whole text (the fallback, and
//! the reference the differential tests compare the fast path with).

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use crate::scan;
use crate::yaml;

/// How to read the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fast path when the layout allows it, else the full parse.
    Auto,
    /// Always the full, conforming parse.
    Full,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub slice: Value,
    /// `None` when the fast path was used; else why the full parse was needed.
    pub fallback: Option<String>,
}

/// The path key that upstream may use instead of `path`: the last segment qualified with
/// `microsoft.graph.` (the form of the PowerShell slices and of openapi.yaml before 2023-02).
pub fn qualified(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => format!("{}microsoft.graph.{}", &path[..=i], &path[i + 1..]),
        None => path.to_owned(),
    }
}

/// Slice `text` for the given (unqualified) paths.
pub fn slice(text: &str, wanted: &[String], mode: Mode) -> Result<Outcome, String> {
    if text.trim().is_empty() {
        return Err("input is empty".into());
    }
    if mode == Mode::Auto {
        match fast(text, wanted) {
            Ok(Ok(slice)) => {
                return Ok(Outcome {
                    slice,
                    fallback: None,
                });
            }
            Ok(Err(e)) => return Err(e),
            Err(reason) => {
                let slice = full(text, wanted)?;
                return Ok(Outcome {
                    slice,
                    fallback: Some(reason),
                });
            }
        }
    }
    full(text, wanted).map(|slice| Outcome {
        slice,
        fallback: Some("full parse requested".into()),
    })
}

/// `Err(reason)`: layout not as expected, fall back. `Ok(Err(e))`: a real error in the input,
/// which the full parse would report the same way.
fn fast(text: &str, wanted: &[String]) -> Result<Result<Value, String>, String> {
    let ix = scan::index(text)?;
    let mut header_text = String::new();
    for e in &ix.header {
        header_text.push_str(&text[e.range.clone()]);
        if !header_text.ends_with('\n') {
            header_text.push('\n');
        }
    }
    let header = if header_text.is_empty() {
        Map::new()
    } else {
        match yaml::parse(&header_text, 1, None).map_err(|e| format!("header: {e}"))? {
            Value::Object(m) => m,
            _ => return Err("header is not a mapping".into()),
        }
    };
    if let Err(e) = check_version(&header) {
        return Ok(Err(e));
    }
    let found = match choose_paths(wanted, |k| ix.path_by_key.contains_key(k)) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let mut selected: Vec<(usize, String, Value)> = Vec::new();
    for key in found {
        let e = &ix.paths[ix.path_by_key[&key]];
        let v = yaml::parse(&text[e.range.clone()], e.line, None)
            .map_err(|e| format!("path item: {e}"))?;
        let Value::Object(mut m) = v else {
            return Err("path entry is not a mapping".into());
        };
        let item = m
            .remove(&key)
            .ok_or("path entry key differs from the scan")?;
        selected.push((e.range.start, key, item));
    }
    selected.sort_by_key(|(at, ..)| *at);
    let selected = selected.into_iter().map(|(_, k, v)| (k, v)).collect();

    // Parse errors inside components would be real errors, but the full parse reports them
    // with better context, so they fall back too.
    let mut parse_error: Option<String> = None;
    let result = build(&header, selected, &mut |section: &str, name: &str| {
        let Some(&(si, ei)) = ix
            .component_by_key
            .get(&(section.to_owned(), name.to_owned()))
        else {
            return Ok(None);
        };
        let e = &ix.sections[si].1[ei];
        match yaml::parse(&text[e.range.clone()], e.line, None) {
            Ok(Value::Object(mut m)) if m.len() == 1 => Ok(m.remove(name).map(|v| ((si, ei), v))),
            Ok(_) => {
                parse_error = Some(format!("component {section}/{name} is not a single entry"));
                Err(String::new())
            }
            Err(err) => {
                parse_error = Some(format!("component {section}/{name}: {err}"));
                Err(String::new())
            }
        }
    });
    if let Some(reason) = parse_error {
        return Err(reason);
    }
    Ok(result)
}

fn full(text: &str, wanted: &[String]) -> Result<Value, String> {
    let mut keep: HashSet<String> = HashSet::new();
    for w in wanted {
        keep.insert(w.clone());
        keep.insert(qualified(w));
    }
    let filter = |k: &str| keep.contains(k);
    let doc = yaml::parse(text, 1, Some(&filter)).map_err(|e| e.to_string())?;
    let Value::Object(mut doc) = doc else {
        return Err("not an OpenAPI document: the top level is not a mapping".into());
    };
    let paths = doc.remove("paths");
    let components = doc.remove("components");
    check_version(&doc)?;
    let paths = match paths {
        Some(Value::Object(p)) => p,
        Some(_) => return Err("`paths` is not a mapping".into()),
        None => return Err("the document has no `paths`".into()),
    };
    let found = choose_paths(wanted, |k| paths.contains_key(k))?;
    let selected: Vec<(String, Value)> = paths
        .into_iter()
        .filter(|(k, _)| found.contains(k))
        .collect();
    let components = match components {
        Some(Value::Object(c)) => c,
        Some(Value::Null) | None => Map::new(),
        Some(_) => return Err("`components` is not a mapping".into()),
    };
    let sections: Vec<(String, Map<String, Value>)> = components
        .into_iter()
        .map(|(k, v)| match v {
            Value::Object(m) => Ok((k, m)),
            Value::Null => Ok((k, Map::new())),
            _ => Err(format!("components/{k} is not a mapping")),
        })
        .collect::<Result<_, _>>()?;
    build(&doc, selected, &mut |section: &str, name: &str| {
        let Some(si) = sections.iter().position(|(s, _)| s == section) else {
            return Ok(None);
        };
        let entries = &sections[si].1;
        Ok(entries.get(name).map(|v| {
            (
                (si, entries.keys().position(|k| k == name).unwrap_or(0)),
                v.clone(),
            )
        }))
    })
}

/// The document's OpenAPI version must be 3.0.x.
pub fn check_version(header: &Map<String, Value>) -> Result<(), String> {
    if let Some(v) = header.get("swagger") {
        return Err(format!(
            "Swagger {} document: this tool reads OpenAPI 3.0.x (Microsoft's converter output)",
            scalar_text(v)
        ));
    }
    match header.get("openapi") {
        None => Err("not an OpenAPI document: no top-level `openapi` key".into()),
        Some(v) => {
            let s = scalar_text(v);
            if s == "3.0" || s.starts_with("3.0.") {
                Ok(())
            } else {
                Err(format!(
                    "OpenAPI {s} document: this tool reads OpenAPI 3.0.x (3.1 changes nullable and schema semantics the adjustments rely on)"
                ))
            }
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// For each wanted path, the key upstream uses: exactly one of the unqualified and the
/// `microsoft.graph.`-qualified spellings must be present.
fn choose_paths(wanted: &[String], has: impl Fn(&str) -> bool) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for w in wanted {
        let q = qualified(w);
        match (has(w), has(&q)) {
            (true, true) => {
                return Err(format!(
                    "both '{w}' and its microsoft.graph.-qualified form are in the document; which one is the action is ambiguous"
                ));
            }
            (true, false) => out.push(w.clone()),
            (false, true) => out.push(q),
            (false, false) => missing.push(w.clone()),
        }
    }
    if !missing.is_empty() {
        if missing.len() == wanted.len() {
            return Err(format!(
                "the action is not in the document: none of its {} paths (unqualified or microsoft.graph.-qualified) is there, e.g. '{}'",
                wanted.len(),
                missing[0]
            ));
        }
        return Err(format!(
            "path '{}' (unqualified or microsoft.graph.-qualified) is not in the document any more",
            missing.join("', '")
        ));
    }
    Ok(out)
}

type Lookup<'a> = dyn FnMut(&str, &str) -> Result<Option<((usize, usize), Value)>, String> + 'a;

/// Assemble the slice: header, selected path items, the `$ref` closure.
fn build(
    header: &Map<String, Value>,
    selected: Vec<(String, Value)>,
    lookup: &mut Lookup<'_>,
) -> Result<Value, String> {
    let mut paths = Map::new();
    let mut used_tags: HashSet<String> = HashSet::new();
    for (k, mut item) in selected {
        if let Value::Object(m) = &mut item {
            m.remove("x-ms-docs-grouped-path");
            for op in m.values() {
                if let Some(Value::Array(tags)) = op.get("tags") {
                    used_tags.extend(tags.iter().filter_map(|t| t.as_str().map(str::to_owned)));
                }
            }
        }
        paths.insert(k, item);
    }

    // Worklist over (section, name); ordered output by upstream position.
    let mut found: BTreeMap<(usize, usize), (String, String, Value)> = BTreeMap::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut work: Vec<(String, String, String)> = Vec::new(); // (section, name, where from)
    for (k, item) in &paths {
        for r in refs(item) {
            let (s, n) = parse_ref(&r, k)?;
            work.push((s, n, format!("path '{k}'")));
        }
    }
    while let Some((section, name, from)) = work.pop() {
        if !seen.insert((section.clone(), name.clone())) {
            continue;
        }
        let Some((at, v)) = lookup(&section, &name)? else {
            return Err(format!(
                "dangling $ref '#/components/{section}/{name}' (used by {from})"
            ));
        };
        for r in refs(&v) {
            let (s, n) = parse_ref(&r, &format!("{section}/{name}"))?;
            if !seen.contains(&(s.clone(), n.clone())) {
                work.push((s, n, format!("{section}/{name}")));
            }
        }
        found.insert(at, (section, name, v));
    }

    let mut components: Map<String, Value> = Map::new();
    for (_, (section, name, v)) in found {
        let sec = components
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        sec.as_object_mut().expect("section").insert(name, v);
    }
    check_ref_cycles(&components)?;

    let mut out = Map::new();
    for key in ["openapi", "info", "servers"] {
        if let Some(v) = header.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(Value::Array(tags)) = header.get("tags") {
        let kept: Vec<Value> = tags
            .iter()
            .filter(|t| {
                t.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| used_tags.contains(n))
            })
            .cloned()
            .collect();
        if !kept.is_empty() {
            out.insert("tags".into(), Value::Array(kept));
        }
    }
    out.insert("paths".into(), Value::Object(paths));
    out.insert("components".into(), Value::Object(components));
    Ok(Value::Object(out))
}

/// Every `$ref` string in `v`.
pub fn refs(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut work = vec![v];
    while let Some(v) = work.pop() {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(s)) => out.push(s.clone()),
                        _ => work.push(v),
                    }
                }
            }
            Value::Array(a) => work.extend(a.iter()),
            _ => {}
        }
    }
    out
}

/// `#/components/<section>/<name>` → (section, name).
pub fn parse_ref(r: &str, from: &str) -> Result<(String, String), String> {
    let Some(rest) = r.strip_prefix("#/components/") else {
        if r.starts_with('#') {
            return Err(format!(
                "unsupported $ref '{r}' in {from}: only '#/components/...' is followed"
            ));
        }
        return Err(format!("external $ref '{r}' in {from} is not supported"));
    };
    let Some((section, name)) = rest.split_once('/') else {
        return Err(format!("malformed $ref '{r}' in {from}"));
    };
    if name.is_empty() || name.contains('/') {
        return Err(format!(
            "unsupported $ref '{r}' in {from}: it points inside a component"
        ));
    }
    let unescape = |s: &str| s.replace("~1", "/").replace("~0", "~");
    Ok((unescape(section), unescape(name)))
}

/// A component that is only a `$ref` to a component that is only a `$ref` … back to itself
/// describes nothing; a structural recursion (through properties, items, …) is fine.
fn check_ref_cycles(components: &Map<String, Value>) -> Result<(), String> {
    let target = |section: &str, name: &str| -> Option<String> {
        components
            .get(section)?
            .get(name)?
            .as_object()?
            .get("$ref")?
            .as_str()
            .map(str::to_owned)
    };
    for (section, entries) in components {
        let Some(entries) = entries.as_object() else {
            continue;
        };
        for name in entries.keys() {
            let start = format!("#/components/{section}/{name}");
            let mut chain = vec![start.clone()];
            let (mut s, mut n) = (section.clone(), name.clone());
            while let Some(next) = target(&s, &n) {
                if chain.contains(&next) {
                    chain.push(next);
                    return Err(format!("$ref cycle: {}", chain.join(" -> ")));
                }
                chain.push(next.clone());
                match parse_ref(&next, &start) {
                    Ok((a, b)) => (s, n) = (a, b),
                    Err(_) => break,
                }
            }
        }
    }
    Ok(())
}
