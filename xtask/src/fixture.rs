//! `cargo xtask fixture`: a document of the size and shape of Graph's beta `openapi.yaml`, built
//! from real Microsoft texts so that the benchmark and the large differential test need nothing
//! outside the repository.
//!
//! The inputs (by default the two vendored texts in `xtask/upstream-texts/`) are merged at the
//! text level, so every line keeps the converter's layout: the union of their path items, then
//! the union of each `components` section (first definition wins). Then `replicas` renamed
//! copies of every path item and component are appended (path prefix `/replicaN`, component
//! suffix `_replicaN`, each copy's `$ref`s pointing at the copy), enough to reach the requested
//! size, while the operations a trimmer looks for stay unique: the action's paths are never
//! copied. Same inputs and size, same bytes.
//!
//! Given the 38 module slices of 2023 and `--replicas 2`, the output is byte for byte the 88 MB
//! fixture of the former `make_beta_fixture.py` (checked when those texts are at hand).

use std::io::Write;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

/// The default size: that of msgraph-metadata's `openapi/beta/openapi.yaml` (about 88 MB).
pub const DEFAULT_SIZE: u64 = 88_000_000;

/// Paths containing this are never replicated (the trimmer must find each exactly once).
const ACTION: &str = "assignResourceAccountToDevice";

const HEADER: &str = "openapi: 3.0.1\ninfo:\n  title: OData Service for namespace microsoft.graph\n  description: This OData service is located at https://graph.microsoft.com/beta\n  version: 1.0.1\nservers:\n  - url: https://graph.microsoft.com/beta\npaths:\n";
const FOOTER: &str = "security:\n  - azureaadv2: [ ]\n";

/// The vendored texts the default fixture is built from, in merge order.
pub fn default_inputs() -> Vec<PathBuf> {
    let dir = crate::spec::workspace_root().join("xtask/upstream-texts");
    vec![
        dir.join("S1-DeviceManagement.Enrollment.yml"),
        dir.join("2023-01-04-DeviceManagement.Actions.yml"),
    ]
}

/// How big the fixture should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The fewest replicas that make the document at least this many bytes.
    Size(u64),
    /// Exactly this many replicas.
    Replicas(usize),
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub bytes: u64,
    pub replicas: usize,
    pub paths: usize,
    pub schemas: usize,
}

/// Parse a size such as `88MB`, `3M`, `500kB`, `1GiB` or `123456` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = t.split_at(digits);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("size {s:?}: expected a number such as 88MB"))?;
    let mul: u64 = match unit.trim() {
        "" | "B" => 1,
        "k" | "K" | "kB" | "KB" => 1_000,
        "M" | "MB" => 1_000_000,
        "G" | "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        u => {
            return Err(format!(
                "size {s:?}: unknown unit {u:?} (B, kB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    n.checked_mul(mul)
        .filter(|&b| b <= 16_000_000_000)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// A text split into lines (each with its `\n`, as Python's `readlines`).
type Lines<'a> = Vec<&'a str>;

struct Merged<'a> {
    paths: IndexMap<&'a str, Lines<'a>>,
    /// Section key line (e.g. `  schemas:`) → entries.
    comps: IndexMap<&'a str, IndexMap<&'a str, Lines<'a>>>,
}

fn key_of(line: &str) -> &str {
    line.strip_suffix('\n').unwrap_or(line)
}

/// The top-level keys of a document with the lines under each (later duplicates replace).
fn top_sections(text: &str) -> IndexMap<&str, Lines<'_>> {
    let mut out: IndexMap<&str, Lines<'_>> = IndexMap::new();
    let mut cur: Option<&str> = None;
    for line in text.split_inclusive('\n') {
        let first = line.chars().next();
        if first.is_some_and(|c| !c.is_whitespace()) && !line.starts_with('#') {
            let key = line.split(':').next().unwrap_or(line);
            out.insert(key, vec![line]);
            cur = Some(key);
        } else if let Some(k) = cur {
            out.get_mut(k).expect("current section").push(line);
        }
    }
    out
}

/// A block's body split into entries whose key line starts at exactly `indent` spaces.
fn entries<'a>(block: &[&'a str], indent: usize) -> IndexMap<&'a str, Lines<'a>> {
    let mut out: IndexMap<&'a str, Lines<'a>> = IndexMap::new();
    let mut cur: Option<&'a str> = None;
    for &line in block.iter().skip(1) {
        let starts = line.len() > indent
            && line.as_bytes()[..indent].iter().all(|&b| b == b' ')
            && line[indent..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace() && c != '-');
        if starts {
            let key = key_of(line);
            out.insert(key, vec![line]);
            cur = Some(key);
        } else if let Some(k) = cur {
            out.get_mut(k).expect("current entry").push(line);
        }
    }
    out
}

fn merge<'a>(texts: &'a [String]) -> Merged<'a> {
    let mut m = Merged {
        paths: IndexMap::new(),
        comps: IndexMap::new(),
    };
    for text in texts {
        let secs = top_sections(text);
        if let Some(p) = secs.get("paths") {
            for (k, v) in entries(p, 2) {
                m.paths.entry(k).or_insert(v);
            }
        }
        if let Some(c) = secs.get("components") {
            for (sec_key, sec_lines) in entries(c, 2) {
                let sec = m.comps.entry(sec_key).or_default();
                for (k, v) in entries(&sec_lines, 4) {
                    sec.entry(k).or_insert(v);
                }
            }
        }
    }
    m
}

/// `key:` line of replica `r`: `/replicaN` before a path, `_replicaN` after a component name.
fn replica_key(key: &str, r: usize, is_path: bool) -> String {
    let stripped = key.trim();
    let indent = key.len() - key.trim_start().len();
    let quote = match stripped.chars().next() {
        Some(q @ ('\'' | '"')) => Some(q),
        _ => None,
    };
    let ql = quote.map_or(0, char::len_utf8);
    // Drop the trailing ':' and the quotes around the key.
    let body = stripped
        .get(ql..stripped.len().saturating_sub(1 + ql))
        .unwrap_or("");
    let new = if is_path {
        format!("/replica{r}{body}")
    } else {
        format!("{body}_replica{r}")
    };
    let q = quote.map_or_else(
        || {
            if is_path && new.contains('{') {
                "'"
            } else {
                ""
            }
            .to_owned()
        },
        String::from,
    );
    format!("{}{q}{new}{q}:", " ".repeat(indent))
}

/// `line` with every `$ref: '#/components/<section>/<name>'` pointing at `<name>_replicaN`.
fn write_ref_renamed(out: &mut impl Write, line: &str, suffix: &str) -> std::io::Result<()> {
    const PREFIX: &str = "$ref: '#/components/";
    let mut rest = line;
    while let Some(at) = rest.find(PREFIX) {
        let after = &rest[at + PREFIX.len()..];
        let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let name_start = letters + 1;
        let matched = (letters > 0 && after.as_bytes().get(letters) == Some(&b'/'))
            .then(|| after[name_start..].find('\''))
            .flatten()
            .filter(|&n| n > 0)
            .map(|n| name_start + n);
        match matched {
            Some(end) => {
                let cut = at + PREFIX.len() + end;
                out.write_all(&rest.as_bytes()[..cut])?;
                out.write_all(suffix.as_bytes())?;
                rest = &rest[cut..];
            }
            None => {
                let cut = at + 1;
                out.write_all(&rest.as_bytes()[..cut])?;
                rest = &rest[cut..];
            }
        }
    }
    out.write_all(rest.as_bytes())
}

/// A renamed copy of each path item (but the action's) or of each entry of one components section.
fn write_replica(
    out: &mut impl Write,
    items: &IndexMap<&str, Lines<'_>>,
    r: usize,
    is_path: bool,
) -> std::io::Result<()> {
    let suffix = format!("_replica{r}");
    for (k, lines) in items {
        if is_path && k.contains(ACTION) {
            continue;
        }
        out.write_all(replica_key(k, r, is_path).as_bytes())?;
        out.write_all(b"\n")?;
        for l in lines.iter().skip(1) {
            write_ref_renamed(out, l, &suffix)?;
        }
    }
    Ok(())
}

fn write_lines<'a>(
    out: &mut impl Write,
    lines: impl IntoIterator<Item = &'a str>,
) -> std::io::Result<()> {
    for l in lines {
        out.write_all(l.as_bytes())?;
    }
    Ok(())
}

fn write_doc(out: &mut impl Write, m: &Merged<'_>, replicas: usize) -> std::io::Result<()> {
    out.write_all(HEADER.as_bytes())?;
    write_lines(out, m.paths.values().flatten().copied())?;
    for r in 1..=replicas {
        write_replica(out, &m.paths, r, true)?;
    }
    out.write_all(b"components:\n")?;
    for (sec_key, items) in &m.comps {
        out.write_all(sec_key.as_bytes())?;
        out.write_all(b"\n")?;
        write_lines(out, items.values().flatten().copied())?;
        // Security schemes are not referenced by name from operations here: one copy suffices.
        if !sec_key.contains("securitySchemes") {
            for r in 1..=replicas {
                write_replica(out, items, r, false)?;
            }
        }
    }
    out.write_all(FOOTER.as_bytes())
}

/// Counts bytes instead of writing them (to choose the number of replicas for a size).
#[derive(Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn replicas_for(m: &Merged<'_>, size: u64) -> usize {
    let mut total = Counter::default();
    write_doc(&mut total, m, 0).expect("counting cannot fail");
    let mut r = 0;
    while total.0 < size {
        r += 1;
        let before = total.0;
        write_replica(&mut total, &m.paths, r, true).expect("counting cannot fail");
        for (sec_key, items) in &m.comps {
            if !sec_key.contains("securitySchemes") {
                write_replica(&mut total, items, r, false).expect("counting cannot fail");
            }
        }
        if total.0 == before {
            break; // nothing to replicate: the size cannot be reached
        }
    }
    r
}

/// Build the fixture from `texts` (in merge order) into `out`.
pub fn build(texts: &[String], target: Target, out: &mut impl Write) -> Result<Stats, String> {
    let m = merge(texts);
    if m.paths.is_empty() {
        return Err(
            "the inputs have no path items (not OpenAPI texts in the converter's layout?)".into(),
        );
    }
    let replicas = match target {
        Target::Replicas(r) => r,
        Target::Size(s) => replicas_for(&m, s),
    };
    let mut counted = CountingWriter {
        inner: out,
        bytes: 0,
    };
    write_doc(&mut counted, &m, replicas).map_err(|e| format!("cannot write the fixture: {e}"))?;
    let copied_paths = m.paths.keys().filter(|k| !k.contains(ACTION)).count();
    let schemas = m
        .comps
        .iter()
        .find(|(k, _)| k.trim() == "schemas:")
        .map_or(0, |(_, v)| v.len());
    Ok(Stats {
        bytes: counted.bytes,
        replicas,
        paths: m.paths.len() + replicas * copied_paths,
        schemas: schemas * (replicas + 1),
    })
}

struct CountingWriter<'w, W: Write> {
    inner: &'w mut W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `cargo xtask fixture`: read `inputs`, write the fixture to `out` (via a temp file and a
/// rename: never half-written).
pub fn write_file(inputs: &[PathBuf], target: Target, out: &Path) -> Result<Stats, String> {
    let mut texts = Vec::with_capacity(inputs.len());
    for p in inputs {
        let bytes = crate::fetch::read_file(&p.to_string_lossy())?;
        texts.push(
            String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", p.display()))?,
        );
    }
    let name = out
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", out.display()))?;
    let tmp = out.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let f = std::fs::File::create(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let stats = build(&texts, target, &mut w)?;
        let f = w
            .into_inner()
            .map_err(|e| format!("cannot write {}: {}", tmp.display(), e.error()))?;
        f.sync_all()
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, out)
            .map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), out.display()))?;
        Ok(stats)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("88MB"), Ok(88_000_000));
        assert_eq!(parse_size("3M"), Ok(3_000_000));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("12345"), Ok(12345));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("99999999999GB").is_err());
    }

    #[test]
    fn replica_keys_and_refs() {
        assert_eq!(replica_key("  /a/b:", 2, true), "  /replica2/a/b:");
        assert_eq!(replica_key("  /a/{id}:", 1, true), "  '/replica1/a/{id}':");
        assert_eq!(
            replica_key("  '/a/{id}':", 1, true),
            "  '/replica1/a/{id}':"
        );
        assert_eq!(
            replica_key("    microsoft.graph.x:", 3, false),
            "    microsoft.graph.x_replica3:"
        );
        let mut out = Vec::new();
        write_ref_renamed(
            &mut out,
            "  - $ref: '#/components/schemas/a.b' $ref: '#/x' $ref: '#/components/responses/error'\n",
            "_replica1",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  - $ref: '#/components/schemas/a.b_replica1' $ref: '#/x' $ref: '#/components/responses/error_replica1'\n"
        );
    }

    #[test]
    fn size_target_is_reached_with_the_fewest_replicas() {
        let text = "openapi: 3.0.1\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          $ref: '#/components/responses/r'\ncomponents:\n  responses:\n    r:\n      description: ok\n".to_owned();
        let texts = [text];
        let mut zero = Vec::new();
        let s0 = build(&texts, Target::Replicas(0), &mut zero).unwrap();
        assert_eq!(s0.bytes, zero.len() as u64);
        let mut out = Vec::new();
        let s = build(&texts, Target::Size(s0.bytes * 3), &mut out).unwrap();
        assert!(s.bytes >= s0.bytes * 3 && s.replicas >= 2);
        let mut fewer = Vec::new();
        let f = build(&texts, Target::Replicas(s.replicas - 1), &mut fewer).unwrap();
        assert!(f.bytes < s0.bytes * 3);
        let doc = String::from_utf8(out).unwrap();
        assert!(
            doc.contains("  /replica2/a:\n")
                && doc.contains("$ref: '#/components/responses/r_replica2'")
        );
        assert!(doc.contains("    r_replica2:\n"));
    }
}
