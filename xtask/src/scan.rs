//! The fast path: locate entries by a byte scan of the converter's block layout.
//!
//! Microsoft's converter writes a very regular layout: top-level keys at column 0, one path per
//! line at column 2 under `paths:`, component sections at column 2 and their entries at column 4
//! under `components:`, every entry a block mapping (`key:` alone on its line). [`index`] checks
//! exactly those preconditions on every line it looks at (the first bytes of each line) and
//! records the byte range of every entry; only the entries a slice needs are then handed to the
//! real YAML parser. Any line that breaks the layout (tabs, flow style or a scalar at those
//! levels, odd indentation, anchors or tags on entry keys, several documents, duplicate entry
//! keys, a byte order mark) returns `Err(reason)`, and the caller falls back to a conforming
//! parse of the whole text.

use std::collections::HashMap;
use std::ops::Range;

/// One entry: its key and the byte range of its lines (key line included).
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub range: Range<usize>,
    /// 1-based line number of the key line.
    pub line: usize,
}

#[derive(Debug, Default)]
pub struct Index {
    /// Top-level sections other than `paths` and `components`, in order.
    pub header: Vec<Entry>,
    pub paths: Vec<Entry>,
    pub path_by_key: HashMap<String, usize>,
    /// Component sections in order, each with its entries in order.
    pub sections: Vec<(String, Vec<Entry>)>,
    /// (section, name) → (section index, entry index).
    pub component_by_key: HashMap<(String, String), (usize, usize)>,
}

#[derive(PartialEq, Clone, Copy)]
enum Top {
    None,
    Header,
    Paths,
    Components,
}

/// Index `text`, or say why its layout is not the converter's.
pub fn index(text: &str) -> Result<Index, String> {
    let bytes = text.as_bytes();
    if text.starts_with('\u{feff}') {
        return Err("byte order mark".into());
    }
    let mut ix = Index::default();
    let mut top = Top::None;
    let mut top_keys: Vec<String> = Vec::new();
    let mut seen_content = false;
    // Open entries whose end is not known yet: header/paths entry, component entry.
    let mut open_top: Option<Entry> = None;
    let mut open_path: Option<Entry> = None;
    let mut open_comp: Option<Entry> = None;

    let mut pos = 0usize;
    let mut line_no = 0usize;
    while pos < bytes.len() {
        line_no += 1;
        let end = memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
        let mut line = &bytes[pos..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let line_start = pos;
        pos = if end < bytes.len() { end + 1 } else { end };

        let ind = line.iter().take_while(|&&b| b == b' ').count();
        let rest = &line[ind..];
        match rest.first() {
            None => continue, // blank line: belongs to the open entry
            Some(b'\t') => return Err(format!("tab in indentation at line {line_no}")),
            Some(b'#') if ind <= 4 => continue, // comment line
            _ => {}
        }

        if ind == 0 {
            if rest.starts_with(b"---") || rest.starts_with(b"...") || rest.starts_with(b"%") {
                if !seen_content && rest == b"---" {
                    continue;
                }
                return Err(format!("document marker or directive at line {line_no}"));
            }
            seen_content = true;
            // Close whatever was open.
            close(&mut open_comp, line_start, |e| push_comp(&mut ix, e))?;
            close(&mut open_path, line_start, |e| push_path(&mut ix, e))?;
            if let Some(mut e) = open_top.take() {
                e.range.end = line_start;
                ix.header.push(e);
            }
            let (key, value) =
                split_key(rest).ok_or_else(|| format!("unusual top-level line {line_no}"))?;
            if !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.$".contains(&b))
                || key.is_empty()
            {
                return Err(format!("unusual top-level key at line {line_no}"));
            }
            if top_keys.contains(&key) {
                return Err(format!("duplicate top-level key '{key}' at line {line_no}"));
            }
            top_keys.push(key.clone());
            top = match key.as_str() {
                "paths" | "components" => {
                    if !value_is_empty(value) {
                        return Err(format!("`{key}` is not a block mapping (line {line_no})"));
                    }
                    if key == "paths" {
                        Top::Paths
                    } else {
                        Top::Components
                    }
                }
                _ => {
                    open_top = Some(Entry {
                        key,
                        range: line_start..line_start,
                        line: line_no,
                    });
                    Top::Header
                }
            };
            continue;
        }

        match top {
            Top::None => {
                return Err(format!(
                    "indented line before any top-level key (line {line_no})"
                ));
            }
            Top::Header => {}
            Top::Paths => {
                if ind < 4 {
                    if ind != 2 {
                        return Err(format!("odd indentation under paths at line {line_no}"));
                    }
                    let key = entry_key(rest)
                        .ok_or_else(|| format!("unusual path key at line {line_no}"))?;
                    close(&mut open_path, line_start, |e| push_path(&mut ix, e))?;
                    open_path = Some(Entry {
                        key,
                        range: line_start..line_start,
                        line: line_no,
                    });
                }
            }
            Top::Components => {
                if ind < 6 {
                    match ind {
                        2 => {
                            let key = entry_key(rest).ok_or_else(|| {
                                format!("unusual components section at line {line_no}")
                            })?;
                            close(&mut open_comp, line_start, |e| push_comp(&mut ix, e))?;
                            if ix.sections.iter().any(|(s, _)| *s == key) {
                                return Err(format!(
                                    "duplicate components section '{key}' at line {line_no}"
                                ));
                            }
                            ix.sections.push((key, Vec::new()));
                        }
                        4 => {
                            if ix.sections.is_empty() {
                                return Err(format!(
                                    "component entry outside a section at line {line_no}"
                                ));
                            }
                            let key = entry_key(rest).ok_or_else(|| {
                                format!("unusual component key at line {line_no}")
                            })?;
                            close(&mut open_comp, line_start, |e| push_comp(&mut ix, e))?;
                            open_comp = Some(Entry {
                                key,
                                range: line_start..line_start,
                                line: line_no,
                            });
                        }
                        _ => {
                            return Err(format!(
                                "odd indentation under components at line {line_no}"
                            ));
                        }
                    }
                }
            }
        }
    }
    close(&mut open_comp, bytes.len(), |e| push_comp(&mut ix, e))?;
    close(&mut open_path, bytes.len(), |e| push_path(&mut ix, e))?;
    if let Some(mut e) = open_top.take() {
        e.range.end = bytes.len();
        ix.header.push(e);
    }
    if !top_keys.iter().any(|k| k == "paths") {
        return Err("no block `paths:` section".into());
    }
    Ok(ix)
}

fn close(
    open: &mut Option<Entry>,
    end: usize,
    mut push: impl FnMut(Entry) -> Result<(), String>,
) -> Result<(), String> {
    if let Some(mut e) = open.take() {
        e.range.end = end;
        push(e)?;
    }
    Ok(())
}

fn push_path(ix: &mut Index, e: Entry) -> Result<(), String> {
    if ix
        .path_by_key
        .insert(e.key.clone(), ix.paths.len())
        .is_some()
    {
        return Err(format!("duplicate path '{}' at line {}", e.key, e.line));
    }
    ix.paths.push(e);
    Ok(())
}

fn push_comp(ix: &mut Index, e: Entry) -> Result<(), String> {
    let si = ix.sections.len() - 1;
    let (section, entries) = ix.sections.last_mut().expect("entry inside a section");
    if ix
        .component_by_key
        .insert((section.clone(), e.key.clone()), (si, entries.len()))
        .is_some()
    {
        return Err(format!(
            "duplicate component '{}' at line {}",
            e.key, e.line
        ));
    }
    entries.push(e);
    Ok(())
}

fn value_is_empty(v: &[u8]) -> bool {
    let v = trim(v);
    v.is_empty() || v.starts_with(b"#")
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(s, |i| i + 1);
    &v[s..e]
}

/// `key: rest` with a plain key; `None` for anything else.
fn split_key(line: &[u8]) -> Option<(String, &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    if line.get(colon + 1).is_some_and(|&b| b != b' ') {
        return None;
    }
    let key = std::str::from_utf8(&line[..colon]).ok()?;
    Some((key.to_owned(), &line[colon + 1..]))
}

/// The key of an entry line that must read `key:` alone (plain or quoted key); `None` when the
/// line has anything else (a value, flow style, an anchor, a tag, a comment, escapes).
fn entry_key(rest: &[u8]) -> Option<String> {
    let rest = trim(rest);
    let body = rest.strip_suffix(b":")?;
    let s = std::str::from_utf8(body).ok()?;
    match s.as_bytes().first()? {
        b'\'' => {
            let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
            // Every quote inside must be a doubled quote.
            if inner.replace("''", "").contains('\'') {
                return None;
            }
            Some(inner.replace("''", "'"))
        }
        b'"' => {
            let inner = s.strip_prefix('"')?.strip_suffix('"')?;
            if inner.contains(['"', '\\']) {
                return None;
            }
            Some(inner.to_owned())
        }
        c if b"-?:,[]{}#&*!|>%@`".contains(c) => None,
        _ => {
            if s.contains(": ") || s.contains(" #") || s.ends_with(' ') || s.contains('\t') {
                return None;
            }
            Some(s.to_owned())
        }
    }
}

use memchr::memchr;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_layout() {
        let t = "openapi: 3.0.1\ninfo:\n  title: x\npaths:\n  /a:\n    get:\n      x: 1\n  '/b/{c}':\n    post: {}\ncomponents:\n  schemas:\n    A:\n      type: object\n    'B.c':\n      type: string\n  responses:\n    error:\n      description: e\n";
        let ix = index(t).unwrap();
        assert_eq!(ix.paths.len(), 2);
        assert_eq!(&t[ix.paths[1].range.clone()], "  '/b/{c}':\n    post: {}\n");
        assert_eq!(ix.header.len(), 2);
        let (s, e) = ix.component_by_key[&("schemas".to_string(), "B.c".to_string())];
        assert_eq!(ix.sections[s].1[e].line, 14);
        assert!(
            ix.component_by_key
                .contains_key(&("responses".to_string(), "error".to_string()))
        );
    }

    #[test]
    fn refuses_other_layouts() {
        for t in [
            "paths: {}\n",
            "paths:\n\t/a:\n",
            "paths:\n   /a:\n",
            "paths:\n  /a: &x\n    get: {}\n",
            "paths:\n  /a: {get: {}}\n",
            "paths:\n  - /a\n",
            "openapi: 3.0.1\n---\npaths:\n",
            "paths:\n  /a:\n    get: 1\n  /a:\n    get: 2\n",
            "openapi: 3.0.1\n",
        ] {
            assert!(index(t).is_err(), "{t:?}");
        }
    }
}
