//! What a new adjusted document means for the crate: the generated Rust surface (with the
//! generator settings of build.rs) and a readable change summary.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::doc_comments::strip_docs;

/// The generated client exactly as build.rs writes it to `$OUT_DIR/generated.rs` (same
/// codegen.rs, same pretty-printer), docs included.
pub fn generate_source(doc: &Value) -> Result<String, String> {
    Ok(prettyplease::unparse(&generate_file(doc)?))
}

/// What a new adjusted document changes in the crate.
#[derive(Debug)]
pub struct Change {
    /// Readable differences of the documents (operations, parameters, schemas, properties).
    pub summary: Vec<String>,
    /// The generated code without docs differs (exit 3).
    pub surface_changed: bool,
    /// The semver class of the change of the public Rust items.
    pub verdict: crate::semver::Verdict,
    /// The new `generated.rs`, docs included (what the snapshot tests hold).
    pub new_source: String,
}

/// Compare the crate generated from `old` (the committed openapi.json, if any) with the one
/// generated from `new`. Fails only when `new` does not generate.
pub fn compare(old: Option<&Value>, new: &Value) -> Result<Change, String> {
    use crate::semver::{Level, Verdict};
    let new_file = generate_file(new)?;
    let new_source = prettyplease::unparse(&new_file);
    let Some(old) = old else {
        return Ok(Change {
            summary: vec!["no previous spec/openapi.json".into()],
            surface_changed: true,
            verdict: Verdict {
                level: Level::Major,
                reasons: vec![(Level::Major, "no previous spec/openapi.json".into())],
            },
            new_source,
        });
    };
    let summary = summary(old, new);
    let (surface_changed, verdict) = match generate_file(old) {
        Ok(old_file) => (
            without_docs(&old_file)? != without_docs(&new_file)?,
            crate::semver::verdict(&old_file, &new_file),
        ),
        Err(e) => (
            true,
            Verdict {
                level: Level::Major,
                reasons: vec![(
                    Level::Major,
                    format!("the previous spec/openapi.json does not generate ({e})"),
                )],
            },
        ),
    };
    Ok(Change {
        summary,
        surface_changed,
        verdict,
        new_source,
    })
}

/// The generated client as a syntax tree (codegen.rs, shared with build.rs).
pub fn generate_file(doc: &Value) -> Result<syn::File, String> {
    let spec: openapiv3::OpenAPI = serde_json::from_value(doc.clone())
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;
    crate::codegen::generate_client(&spec)
}

/// The generated client pretty-printed without doc comments (docs are not surface): what
/// "the generated Rust surface changed" (exit 3) compares.
pub fn generate(doc: &Value) -> Result<String, String> {
    without_docs(&generate_file(doc)?)
}

fn without_docs(file: &syn::File) -> Result<String, String> {
    let tokens = quote::ToTokens::to_token_stream(file);
    let file: syn::File = syn::parse2(strip_docs(tokens))
        .map_err(|e| format!("internal: generated code without docs does not parse: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

/// Human-readable differences between two adjusted documents: operations, parameters,
/// response codes, schemas and their properties.
pub fn summary(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let ops = |d: &Value| -> Vec<(String, String, Value)> {
        let mut v = Vec::new();
        if let Some(paths) = d.get("paths").and_then(Value::as_object) {
            for (p, item) in paths {
                if let Some(item) = item.as_object() {
                    for (m, op) in item {
                        if [
                            "get", "put", "post", "delete", "patch", "head", "options", "trace",
                        ]
                        .contains(&m.as_str())
                        {
                            v.push((format!("{} {p}", m.to_uppercase()), m.clone(), op.clone()));
                        }
                    }
                }
            }
        }
        v
    };
    let (o_ops, n_ops) = (ops(old), ops(new));
    for (k, _, op) in &n_ops {
        match o_ops.iter().find(|(ok, ..)| ok == k) {
            None => out.push(format!("operation added: {k} ({})", op_id(op))),
            Some((_, _, oop)) => {
                if op_id(oop) != op_id(op) {
                    out.push(format!(
                        "operation id changed: {k}: {} -> {}",
                        op_id(oop),
                        op_id(op)
                    ));
                }
                let names = |o: &Value, f: &str| -> BTreeSet<String> {
                    o.get(f)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .map(|p| {
                                    p.get("name")
                                        .or_else(|| p.get("$ref"))
                                        .map(|n| n.as_str().unwrap_or("").to_owned())
                                        .unwrap_or_default()
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                };
                diff_sets(
                    &mut out,
                    &format!("{k}: parameter"),
                    &names(oop, "parameters"),
                    &names(op, "parameters"),
                );
                let codes = |o: &Value| -> BTreeSet<String> {
                    o.get("responses")
                        .and_then(Value::as_object)
                        .map(|r| r.keys().cloned().collect())
                        .unwrap_or_default()
                };
                diff_sets(
                    &mut out,
                    &format!("{k}: response code"),
                    &codes(oop),
                    &codes(op),
                );
                if oop.get("requestBody") != op.get("requestBody") {
                    out.push(format!("{k}: request body changed"));
                }
            }
        }
    }
    for (k, _, op) in &o_ops {
        if !n_ops.iter().any(|(nk, ..)| nk == k) {
            out.push(format!("operation removed: {k} ({})", op_id(op)));
        }
    }
    let schemas = |d: &Value| {
        d.pointer("/components/schemas")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (os, ns) = (schemas(old), schemas(new));
    for (name, s) in &ns {
        match os.get(name) {
            None => out.push(format!("schema added: {name}")),
            Some(o) if o != s => {
                let props = |v: &Value| {
                    v.get("properties")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default()
                };
                let (op, np) = (props(o), props(s));
                let mut detailed = false;
                for (p, v) in &np {
                    match op.get(p) {
                        None => out.push(format!("schema {name}: property added: {p}")),
                        Some(ov) if ov != v => {
                            out.push(format!("schema {name}: property changed: {p}: {ov} -> {v}"))
                        }
                        _ => continue,
                    }
                    detailed = true;
                }
                for p in op.keys() {
                    if !np.contains_key(p) {
                        out.push(format!("schema {name}: property removed: {p}"));
                        detailed = true;
                    }
                }
                let mut rest_o = o.clone();
                let mut rest_n = s.clone();
                for r in [&mut rest_o, &mut rest_n] {
                    if let Some(m) = r.as_object_mut() {
                        m.shift_remove("properties");
                    }
                }
                if rest_o != rest_n || !detailed {
                    out.push(format!("schema {name}: changed (other than properties)"));
                }
            }
            _ => {}
        }
    }
    for name in os.keys() {
        if !ns.contains_key(name) {
            out.push(format!("schema removed: {name}"));
        }
    }
    if out.is_empty() && old != new {
        out.push("other changes (descriptions, servers, info)".into());
    }
    out
}

fn op_id(op: &Value) -> String {
    op.get("operationId")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned()
}

fn diff_sets(out: &mut Vec<String>, what: &str, old: &BTreeSet<String>, new: &BTreeSet<String>) {
    for a in new.difference(old) {
        out.push(format!("{what} added: {a}"));
    }
    for r in old.difference(new) {
        out.push(format!("{what} removed: {r}"));
    }
}
