//! `spec/provenance.json`: where the upstream text(s) came from.
//!
//! One text (what the weekly job runs): `source` (repository, path, commit, date,
//! retrieved_as), `input` (sha256, bytes), `slice`, `tool` — the form it always had. Several
//! texts: `sources`, a list of the same records, each with its own `input`, in `--from` order.
//! A source's repository/path/commit/date are kept while its sha256 is unchanged; given options
//! override them (with several texts: repository, commit and date, for every text, as module
//! texts of one commit share them); a new text starts with nulls.

use serde_json::{Map, Value, json};

use crate::fetch;
use crate::layout::{SLICE, to_json};

/// Where the upstream text came from, beyond its bytes.
#[derive(Debug, Default, Clone)]
pub struct SourceInfo {
    pub repository: Option<String>,
    pub path: Option<String>,
    pub commit: Option<String>,
    pub date: Option<String>,
    /// A pin: the input must have this sha256 (lower-case hex), else nothing is written.
    pub sha256: Option<String>,
}

/// One input as read.
pub struct Source<'a> {
    pub sha256: &'a str,
    pub bytes: usize,
    pub retrieved_as: &'a str,
}

const FIELDS: [&str; 4] = ["repository", "path", "commit", "date"];

/// Every source record of an older provenance.json, either form: (sha256, source fields).
fn old_records(old: Option<&Value>) -> Vec<(String, Map<String, Value>)> {
    let Some(old) = old else {
        return Vec::new();
    };
    let one = |src: Option<&Value>, sha: Option<&Value>| {
        let sha = sha?.as_str()?.to_owned();
        Some((sha, src?.as_object()?.clone()))
    };
    match old.get("sources").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .filter_map(|s| one(Some(s), s.pointer("/input/sha256")))
            .collect(),
        None => one(old.get("source"), old.pointer("/input/sha256"))
            .into_iter()
            .collect(),
    }
}

/// The `source` mapping of one input: given values, else the old record of the same sha256.
fn record(
    s: &Source<'_>,
    given: [Option<String>; 4],
    old: &[(String, Map<String, Value>)],
) -> Map<String, Value> {
    let kept = old.iter().find(|(sha, _)| sha == s.sha256).map(|(_, m)| m);
    let mut src = Map::new();
    for (f, g) in FIELDS.iter().zip(given) {
        let v = g.map_or_else(
            || kept.and_then(|m| m.get(*f)).cloned().unwrap_or(Value::Null),
            Value::String,
        );
        src.insert((*f).into(), v);
    }
    src.insert("retrieved_as".into(), Value::String(s.retrieved_as.into()));
    src
}

/// provenance.json for `sources` and the written slice.
pub fn render(
    sources: &[Source<'_>],
    slice_yaml: &str,
    given: SourceInfo,
    old: Option<&Value>,
) -> String {
    let old = old_records(old);
    let slice = json!({ "file": SLICE, "sha256": fetch::sha256_hex(slice_yaml.as_bytes()) });
    let tool = json!({ "name": "cargo xtask spec update", "version": env!("CARGO_PKG_VERSION") });
    if let [one] = sources {
        let given = [given.repository, given.path, given.commit, given.date];
        return to_json(&json!({
            "source": Value::Object(record(one, given, &old)),
            "input": { "sha256": one.sha256, "bytes": one.bytes },
            "slice": slice,
            "tool": tool,
        }));
    }
    let list: Vec<Value> = sources
        .iter()
        .map(|s| {
            let given = [
                given.repository.clone(),
                None,
                given.commit.clone(),
                given.date.clone(),
            ];
            let mut m = record(s, given, &old);
            m.insert(
                "input".into(),
                json!({ "sha256": s.sha256, "bytes": s.bytes }),
            );
            Value::Object(m)
        })
        .collect();
    to_json(&json!({ "sources": list, "slice": slice, "tool": tool }))
}
