//! YAML in and out, on our own terms.
//!
//! Input: the events of `saphyr-parser` (a conforming YAML 1.2 parser without a DOM) are folded
//! into a `serde_json::Value` by [`parse`], which enforces the limits a 90 MB upstream text and a
//! hostile one both need: bounded nesting depth, a budget for what anchors and aliases copy (no "billion
//! laughs", no nested-anchor bomb), no duplicate keys, one document. Plain scalars are resolved with the YAML 1.2 core
//! schema, so `on`, `yes`, `No` stay strings (the YAML 1.1 trap of the beta text).
//!
//! Output: [`emit`] writes a value in the block layout of Microsoft's converter (2-space
//! indentation, sequence items indented under their key, single quotes only where needed), so a
//! slice reads like the upstream lines it came from, and `parse(emit(v)) == v` always holds.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted; the beta description needs about 20.
pub const MAX_DEPTH: usize = 256;
/// Most nodes that anchors and aliases may copy in one document (Microsoft's text has neither).
/// An anchored node is copied when it completes (an alias may name it later), and every copy,
/// aliased or not, is charged here: nested anchors would otherwise copy each subtree once per
/// enclosing anchor (1.5 MB of text, about 1 GB of copies).
pub const MAX_ALIAS_NODES: usize = 100_000;
/// Most bytes of strings (keys and values) that anchors and aliases may copy in one document:
/// counting nodes alone, every alias of one long anchored string would copy all of it again.
pub const MAX_ALIAS_BYTES: usize = 64 * 1024 * 1024;

/// A one-line parse error with the 1-based line it refers to (in the whole input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Which entries of the top-level `paths` mapping to build (all others are skipped, event by
/// event, without allocating). `None` builds everything.
pub type PathFilter<'f> = Option<&'f dyn Fn(&str) -> bool>;

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
    },
    Map {
        map: Map<String, Value>,
        anchor: usize,
        key: Option<String>,
        /// This mapping is the document root: its `paths` value gets the filter.
        root: bool,
        /// This mapping is the root's `paths`: its entries pass through the filter.
        paths: bool,
    },
}

/// Parse one YAML document into a JSON value. `first_line` is the line number of the first line
/// of `text` in the whole input (for slices cut out of a larger text).
pub fn parse(text: &str, first_line: usize, filter: PathFilter<'_>) -> Result<Value, YamlError> {
    let line_of = |span: &Span| span.start.line() + first_line - 1;
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Value> = std::collections::HashMap::new();
    // Nodes and bytes copied for anchors and aliases so far (see MAX_ALIAS_NODES).
    let mut copied = Copied::default();
    let mut root: Option<Value> = None;
    let mut documents = 0usize;
    // Depth of a subtree being skipped (a filtered-out path item); 0 when not skipping.
    let mut skipping = 0usize;
    // Keys of skipped path items, still checked for duplicates.
    let mut skipped_keys: std::collections::HashSet<String> = std::collections::HashSet::new();

    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(ev)) => ev,
            Some(Err(e)) => {
                return Err(YamlError {
                    line: e.marker().line() + first_line - 1,
                    message: format!("not valid YAML: {}", e.info()),
                });
            }
        };
        let line = line_of(&span);
        let err = |message: String| YamlError { line, message };

        if skipping > 0 {
            match event {
                Event::SequenceStart(..) | Event::MappingStart(..) => skipping += 1,
                Event::SequenceEnd | Event::MappingEnd => skipping -= 1,
                _ => {}
            }
            if skipping > 0 {
                continue;
            }
            // The skipped value is complete: drop its key.
            if let Some(Frame::Map { key, .. }) = stack.last_mut()
                && let Some(k) = key.take()
            {
                skipped_keys.insert(k);
            }
            continue;
        }

        // A value (scalar, alias or collection start) where a key is expected, and whether the
        // current position is a value slot of the filtered `paths` mapping.
        let (expect_key, in_paths) = match stack.last() {
            Some(Frame::Map { key: None, .. }) => (true, false),
            Some(Frame::Map { paths, .. }) => (false, *paths),
            _ => (false, false),
        };

        let node: Value = match event {
            Event::StreamStart | Event::Nothing => continue,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(err("more than one YAML document in the input".into()));
                }
                continue;
            }
            Event::DocumentEnd => continue,
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if expect_key {
                    return Err(err(
                        "mapping key is a collection (complex keys are not supported)".into(),
                    ));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err(format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                if in_paths
                    && let (Some(f), Some(Frame::Map { key: Some(k), .. })) = (filter, stack.last())
                    && !f(k)
                {
                    skipping = 1;
                    continue;
                }
                let is_root_paths = matches!(
                    stack.last(),
                    Some(Frame::Map { root: true, key: Some(k), .. }) if k == "paths"
                ) && filter.is_some();
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        map: Map::new(),
                        anchor,
                        key: None,
                        root: stack.is_empty(),
                        paths: is_root_paths,
                    }
                } else {
                    Frame::Seq {
                        items: Vec::new(),
                        anchor,
                    }
                });
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (v, anchor) = match stack.pop() {
                    Some(Frame::Map { map, anchor, .. }) => (Value::Object(map), anchor),
                    Some(Frame::Seq { items, anchor }) => (Value::Array(items), anchor),
                    None => return Err(err("unbalanced collection end".into())),
                };
                if anchor > 0 {
                    charge(&mut copied, &v).map_err(err)?;
                    anchors.insert(anchor, v.clone());
                }
                v
            }
            Event::Alias(id) => {
                let Some(v) = anchors.get(&id) else {
                    return Err(err("alias to an unknown anchor".into()));
                };
                charge(&mut copied, v).map_err(err)?;
                v.clone()
            }
            Event::Scalar(text, style, anchor, tag) => {
                if expect_key {
                    let Some(Frame::Map {
                        map, key, paths, ..
                    }) = stack.last_mut()
                    else {
                        unreachable!()
                    };
                    if map.contains_key(text.as_ref())
                        || (*paths && skipped_keys.contains(text.as_ref()))
                    {
                        return Err(err(format!("duplicate key '{text}'")));
                    }
                    *key = Some(text.into_owned());
                    continue;
                }
                let forced_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let v = if style == ScalarStyle::Plain && !forced_str {
                    resolve_plain(&text)
                } else {
                    Value::String(text.into_owned())
                };
                if anchor > 0 {
                    charge(&mut copied, &v).map_err(err)?;
                    anchors.insert(anchor, v.clone());
                }
                v
            }
        };

        // Attach a completed node to its parent.
        match stack.last_mut() {
            None => {
                root = Some(node);
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                Some(k) => {
                    map.insert(k, node);
                }
                None => {
                    // An alias (or a collection end) in key position.
                    match node {
                        Value::String(s) => {
                            if map.contains_key(&s) {
                                return Err(err(format!("duplicate key '{s}'")));
                            }
                            *key = Some(s);
                        }
                        _ => return Err(err("mapping key is not a string".into())),
                    }
                }
            },
        }
    }
    match root {
        Some(v) => Ok(v),
        None => Err(YamlError {
            line: 1,
            message: "empty document".into(),
        }),
    }
}

/// Baseline for the benchmark: one conforming event pass over the whole text, no tree.
pub fn count_events(text: &str) -> Result<usize, YamlError> {
    let mut n = 0usize;
    for ev in Parser::new_from_str(text) {
        ev.map_err(|e| YamlError {
            line: e.marker().line(),
            message: format!("not valid YAML: {}", e.info()),
        })?;
        n += 1;
    }
    Ok(n)
}

/// What anchors and aliases have copied so far.
#[derive(Default)]
struct Copied {
    nodes: usize,
    bytes: usize,
}

/// Charge a copy of `v` to the anchor/alias budget, before making it (counting stops at the
/// budget, so the check itself is bounded too).
fn charge(copied: &mut Copied, v: &Value) -> Result<(), String> {
    let nodes_left = MAX_ALIAS_NODES - copied.nodes;
    let bytes_left = MAX_ALIAS_BYTES - copied.bytes;
    let (nodes, bytes) = measure(v, nodes_left + 1, bytes_left + 1);
    if nodes > nodes_left || bytes > bytes_left {
        return Err(format!(
            "YAML anchors and aliases would copy more than {MAX_ALIAS_NODES} nodes or \
             {MAX_ALIAS_BYTES} bytes (anchor/alias bomb?)"
        ));
    }
    copied.nodes += nodes;
    copied.bytes += bytes;
    Ok(())
}

/// Nodes in `v` and bytes in its strings and keys, counting stopped once either reaches its cap.
fn measure(v: &Value, node_cap: usize, byte_cap: usize) -> (usize, usize) {
    let (mut n, mut b) = (0usize, 0usize);
    let mut work = vec![v];
    while let Some(v) = work.pop() {
        n += 1;
        match v {
            Value::String(s) => b += s.len(),
            Value::Array(a) => work.extend(a.iter()),
            Value::Object(m) => {
                b += m.keys().map(String::len).sum::<usize>();
                work.extend(m.values());
            }
            _ => {}
        }
        if n >= node_cap || b >= byte_cap {
            break;
        }
    }
    (n, b)
}

/// YAML 1.2 core schema resolution of a plain scalar.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if is_int(s) {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = s.trim_start_matches('+').parse::<u64>() {
            return Value::Number(u.into());
        }
    }
    if let Some(hex) = s.strip_prefix("0x")
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(u) = u64::from_str_radix(hex, 16)
    {
        return Value::Number(u.into());
    }
    if let Some(oct) = s.strip_prefix("0o")
        && !oct.is_empty()
        && oct.bytes().all(|b| (b'0'..=b'7').contains(&b))
        && let Ok(u) = u64::from_str_radix(oct, 8)
    {
        return Value::Number(u.into());
    }
    if is_float(s)
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    // `.inf` and `.nan` have no JSON form: they stay strings.
    Value::String(s.to_owned())
}

fn is_int(s: &str) -> bool {
    let d = s.strip_prefix(['-', '+']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(s: &str) -> bool {
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let e = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if e == 0 {
            return false;
        }
        i += e;
    }
    i == b.len()
}

// ---------------------------------------------------------------------------------------------
// Output

/// Write `v` (a mapping) as a block-style YAML document in the converter's layout.
pub fn emit(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => emit_map(m, 0, &mut out),
        other => {
            out.push_str(&scalar_or_empty(other));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// `Some(text)` when `v` is written on the same line as its key or dash.
fn inline(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) if !m.is_empty() => None,
        Value::Array(a) if !a.is_empty() => None,
        other => Some(scalar_or_empty(other)),
    }
}

fn scalar_or_empty(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s).into_owned(),
        Value::Array(_) => "[ ]".into(),
        Value::Object(_) => "{ }".into(),
    }
}

fn emit_map(m: &Map<String, Value>, ind: usize, out: &mut String) {
    for (i, (k, v)) in m.iter().enumerate() {
        // The first key of a mapping that is a sequence item shares the dash's line.
        if i > 0 || !out.ends_with("- ") {
            indent(out, ind);
        }
        out.push_str(&quote(k));
        out.push(':');
        emit_value(v, ind, out);
    }
}

fn emit_value(v: &Value, ind: usize, out: &mut String) {
    match inline(v) {
        Some(s) => {
            out.push(' ');
            out.push_str(&s);
            out.push('\n');
        }
        None => {
            out.push('\n');
            match v {
                Value::Object(m) => emit_map(m, ind + 2, out),
                Value::Array(a) => emit_seq(a, ind + 2, out),
                _ => unreachable!(),
            }
        }
    }
}

fn emit_seq(a: &[Value], ind: usize, out: &mut String) {
    for item in a {
        indent(out, ind);
        match item {
            Value::Object(m) if !m.is_empty() => {
                out.push_str("- ");
                emit_map(m, ind + 2, out);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push_str("-\n");
                emit_seq(inner, ind + 2, out);
            }
            other => {
                out.push_str("- ");
                out.push_str(&scalar_or_empty(other));
                out.push('\n');
            }
        }
    }
}

/// The scalar as written: plain when that reads back as the same string (under YAML 1.2 and
/// 1.1 alike), else single-quoted, else (control characters, line breaks) double-quoted.
pub fn quote(s: &str) -> Cow<'_, str> {
    if plain_ok(s) {
        return Cow::Borrowed(s);
    }
    if s.chars().all(|c| !c.is_control()) {
        return Cow::Owned(format!("'{}'", s.replace('\'', "''")));
    }
    // JSON string syntax is valid YAML double-quoted syntax.
    Cow::Owned(serde_json::to_string(s).expect("strings serialise"))
}

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_whitespace() {
        return false;
    }
    if s.ends_with(|c: char| c.is_whitespace() || c == ':') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.contains(['{', '}', '[', ']', ',']) {
        return false;
    }
    if s.chars()
        .any(|c| c.is_control() || c == '\u{feff}' || c == '\u{85}')
    {
        return false;
    }
    if !matches!(resolve_plain(s), Value::String(_)) {
        return false;
    }
    // YAML 1.1 words and number forms, so that older readers see the same strings.
    const YAML11: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF", "<<", "=", ".inf", ".Inf", ".INF", "-.inf", ".nan", ".NaN", ".NAN",
    ];
    if YAML11.contains(&s) {
        return false;
    }
    let numberish = s.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '.')
        && s.chars()
            .all(|c| c.is_ascii_digit() || "_.:+-eE".contains(c));
    // Version strings such as 3.0.1 (two dots) are strings to every YAML reader.
    let version = s.matches('.').count() >= 2 && s.chars().all(|c| c.is_ascii_digit() || c == '.');
    !numberish || version
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Result<Value, YamlError> {
        parse(s, 1, None)
    }

    #[test]
    fn yaml11_words_stay_strings() {
        let v =
            p("a: on\nb: Yes\nc: No\nd: off\ne: y\nf: true\ng: '204'\nh: 204\ni: 3.0.1\n").unwrap();
        assert_eq!(
            v,
            json!({"a":"on","b":"Yes","c":"No","d":"off","e":"y","f":true,"g":"204","h":204,"i":"3.0.1"})
        );
        let back = emit(&v);
        assert!(
            back.contains("a: 'on'") && back.contains("b: 'Yes'") && back.contains("g: '204'"),
            "{back}"
        );
        assert_eq!(p(&back).unwrap(), v);
    }

    #[test]
    fn emit_round_trips_awkward_strings() {
        let v = json!({
            "/a/{b}/c": {"post": {"tags": ["x.y"], "parameters": [{"name": "on", "in": "path"}],
              "e": [], "m": {}, "n": null, "s": ["- dash", "a: b", "#x", "it's", "line\nbreak", "tab\there",
              "", " lead", "trail ", "1e5", "0x1F", "2XX", "@odata.type", "*star", "&amp", "!bang", "%p",
              "x #y", "ends:", "\u{1}", "ünï", "~", "null", "1:20", "-1", ".5"],
              "nested": [[1, 2], [{"a": 1, "b": [true]}]]}}
        });
        let text = emit(&v);
        assert_eq!(p(&text).unwrap(), v, "{text}");
        assert!(
            text.starts_with("'/a/{b}/c':\n  post:\n    tags:\n      - x.y\n"),
            "{text}"
        );
        assert!(text.contains("      - 2XX\n"), "{text}");
    }

    #[test]
    fn limits() {
        assert!(p("").unwrap_err().message.contains("empty"));
        assert!(
            p("a: 1\na: 2\n")
                .unwrap_err()
                .message
                .contains("duplicate key 'a'")
        );
        assert!(
            p("a: 1\n---\nb: 2\n")
                .unwrap_err()
                .message
                .contains("more than one")
        );
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = p(&deep).unwrap_err();
        assert!(
            e.message.contains("nesting deeper") || e.message.contains("recursion"),
            "{e}"
        );
        let bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
        assert!(p(bomb).unwrap_err().message.contains("alias bomb"));
        // Few nodes, many bytes: each alias of a 1 KB string copies it (70 MB in all).
        let long = format!(
            "a: &x \"{}\"\nb: [{}]\n",
            "y".repeat(1024),
            ["*x"; 70_000].join(",")
        );
        assert!(p(&long).unwrap_err().message.contains("alias bomb"));
        assert_eq!(p("a: &x 1\nb: *x\n").unwrap(), json!({"a":1,"b":1}));
    }

    #[test]
    fn filter_skips_unwanted_paths() {
        let f = |k: &str| k == "/keep";
        let v = parse(
            "paths:\n  /skip:\n    a: [1, {b: 2}]\n  /keep:\n    c: 3\nx: 1\n",
            1,
            Some(&f),
        )
        .unwrap();
        assert_eq!(v, json!({"paths": {"/keep": {"c": 3}}, "x": 1}));
    }
}
