//! What the tool prints: one line per row (text for people, JSON lines for scripts), a summary,
//! and CSV or Graph values escaped so that they cannot drive the terminal.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Map, Value, json};

use crate::characters::escape;

/// `--output`: text for people, JSON lines for scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Where rows and summaries go. Text: rows on stdout, problems on stderr. JSON: everything on
/// stdout, one object per line.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: OutputFormat,
}

/// The account fields of a row, as present in the CSV file.
#[derive(Debug, Clone, Default)]
pub struct Account {
    pub user_principal_name: String,
    pub addressable_user_name: Option<String>,
    pub resource_account_name: Option<String>,
}

/// One printed row: its CSV line (when from a CSV), what it targets, and what became of it.
#[derive(Debug, Clone, Default)]
pub struct RowReport {
    pub line: Option<u64>,
    pub serial_number: Option<String>,
    pub device_id: Option<String>,
    /// The account the row links (plan and apply lines), so a reviewer sees what goes where.
    pub account: Option<Account>,
    /// `plan`, `apply` or `verify`: which step printed the line (JSON `phase`).
    pub phase: Option<&'static str>,
    /// `assign`, `already-assigned`, `reassign`, `blocked`, `warn`, `verified`, `failed`, …
    pub result: &'static str,
    /// Why, for `blocked`, `warn`, `failed` and the like.
    pub detail: Option<String>,
    /// Extra JSON fields (device properties for `show`, HTTP status, request id…).
    pub extra: Map<String, Value>,
}

impl Output {
    pub fn json(self) -> bool {
        self.format == OutputFormat::Json
    }

    pub fn row(self, row: &RowReport) {
        if self.json() {
            let mut object = Map::new();
            if let Some(phase) = row.phase {
                object.insert("phase".into(), phase.into());
            }
            if let Some(line) = row.line {
                object.insert("line".into(), line.into());
            }
            if let Some(account) = &row.account {
                object.insert(
                    "user_principal_name".into(),
                    account.user_principal_name.clone().into(),
                );
                for (name, value) in [
                    ("addressable_user_name", &account.addressable_user_name),
                    ("resource_account_name", &account.resource_account_name),
                ] {
                    if let Some(value) = value {
                        object.insert(name.into(), value.clone().into());
                    }
                }
            }
            for (name, value) in [
                ("serial_number", &row.serial_number),
                ("device_id", &row.device_id),
            ] {
                if let Some(value) = value {
                    object.insert(name.into(), value.clone().into());
                }
            }
            object.insert("result".into(), row.result.into());
            if let Some(detail) = &row.detail {
                object.insert("detail".into(), detail.clone().into());
            }
            object.extend(row.extra.clone());
            self.json_line(&Value::Object(object));
            return;
        }
        let mut text = String::new();
        if let Some(line) = row.line {
            let _ = write!(text, "line {line}: ");
        }
        match (&row.serial_number, &row.device_id) {
            (Some(serial), Some(id)) => {
                let _ = write!(text, "serial {} (device {}): ", escape(serial), escape(id));
            }
            (Some(serial), None) => {
                let _ = write!(text, "serial {}: ", escape(serial));
            }
            (None, Some(id)) => {
                let _ = write!(text, "device {}: ", escape(id));
            }
            (None, None) => {}
        }
        if let Some(account) = &row.account {
            // Before the result's `: `, so the line reads "<device>, account <upn>: <result>".
            if text.ends_with(": ") {
                text.truncate(text.len() - 2);
            }
            let _ = write!(text, ", account {}: ", escape(&account.user_principal_name));
        }
        text.push_str(row.result);
        if let Some(detail) = &row.detail {
            let _ = write!(text, ": {}", escape(detail));
        }
        say!("{text}");
    }

    /// A CSV row that cannot be used: its line and why. Nothing is sent for it.
    pub fn bad_row(self, file: &str, line: u64, why: &str) {
        if self.json() {
            self.json_line(&json!({"line": line, "result": "bad-row", "detail": why}));
        } else {
            tell!("{}: line {line}: {}; skipped", escape(file), escape(why));
        }
    }

    /// How a CSV file was read (its encoding, delimiter, ignored columns), told once before its
    /// rows: `{"note": …, "file": …}` in JSON, a line on stderr in text.
    pub fn notes(self, file: &str, notes: &[String]) {
        for note in notes {
            if self.json() {
                self.json_line(&json!({"note": note, "file": file}));
            } else {
                tell!("{}: {}", escape(file), escape(note));
            }
        }
    }

    /// The closing counts (`snake_case` names: JSON keys, and words in text).
    pub fn summary(self, counts: &[(&str, usize)], note: Option<&str>) {
        if self.json() {
            let mut object = Map::new();
            object.insert("summary".into(), true.into());
            for (name, count) in counts {
                object.insert((*name).into(), (*count).into());
            }
            if let Some(note) = note {
                object.insert("note".into(), note.into());
            }
            self.json_line(&Value::Object(object));
        } else {
            let counts: Vec<String> = counts
                .iter()
                .map(|(name, count)| format!("{}: {count}", name.replace('_', " ")))
                .collect();
            match note {
                Some(note) => say!("{}; {}", counts.join(", "), escape(note)),
                None => say!("{}", counts.join(", ")),
            }
        }
    }

    /// A message that ends the command: one JSON line on stdout with `--output json` (`kind`:
    /// `usage`, `token` or `run`), else one line on stderr.
    pub fn failure(self, kind: &str, message: &str) {
        if self.json() {
            self.json_line(&json!({"error": message, "kind": kind}));
        } else {
            tell!("autopilot-ra: {}", escape(message));
        }
    }

    /// On a terminal (text mode, stdout a tty): a table of how many rows ended how.
    pub fn table(self, counts: &[(String, usize)]) {
        use std::io::IsTerminal as _;
        if self.json() || !std::io::stdout().is_terminal() || counts.is_empty() {
            return;
        }
        say!("{}", table(counts));
    }

    fn json_line(self, value: &Value) {
        let mut line = json_text(value);
        line.push('\n');
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

/// The summary table: one result per line, counts right-aligned.
pub fn table(counts: &[(String, usize)]) -> String {
    let width = counts
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let digits = counts
        .iter()
        .map(|(_, c)| c.to_string().len())
        .max()
        .unwrap_or(1)
        .max(4);
    let mut text = format!("\n{:<width$}  {:>digits$}\n", "result", "rows");
    let _ = writeln!(text, "{}  {}", "-".repeat(width), "-".repeat(digits));
    for (name, count) in counts {
        let _ = writeln!(text, "{:<width$}  {count:>digits$}", escape(name));
    }
    text.pop();
    text
}

/// Characters that are never printed as they are, in text or JSON: the one list in
/// [`crate::characters`] (controls, bidirectional controls, invisible formatting characters).
pub fn is_escaped(c: char) -> bool {
    crate::characters::is_hidden(c)
}

/// `value` as one line of JSON where every [`is_escaped`] character is written `\uXXXX` (a
/// surrogate pair beyond the BMP): serde_json escapes only those below U+0020, so C1 controls,
/// DEL and bidirectional overrides reached the terminal of whoever read the output. The text
/// still parses to the same value.
pub fn json_text(value: &Value) -> String {
    let raw = value.to_string();
    if !raw.chars().any(is_escaped) {
        return raw;
    }
    // Outside strings JSON text is ASCII without controls, so every such character is inside a
    // string, where `\uXXXX` stands for it.
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        if is_escaped(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{is_escaped, json_text};
    use crate::characters::escape;
    use serde_json::json;

    /// One of each class: C0 (ESC), DEL, C1 (CSI), Arabic letter mark, zero-width space,
    /// line and paragraph separators, byte-order mark, every bidi embedding, override and
    /// isolate, LRM/RLM, a tag character.
    const ESCAPED: &[char] = &[
        '\u{1b}',
        '\u{7f}',
        '\u{80}',
        '\u{9b}',
        '\u{9f}',
        '\u{61c}',
        '\u{200b}',
        '\u{200e}',
        '\u{200f}',
        '\u{2028}',
        '\u{2029}',
        '\u{202a}',
        '\u{202b}',
        '\u{202c}',
        '\u{202d}',
        '\u{202e}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{feff}',
        '\u{e0041}',
    ];

    #[test]
    fn every_class_is_escaped_in_text() {
        for &c in ESCAPED {
            assert!(is_escaped(c), "{c:?}");
            let shown = escape(&format!("a{c}b"));
            assert_eq!(shown, format!("a\\u{{{:x}}}b", c as u32), "{c:?}");
        }
        for c in [
            'a', 'é', '☕', ' ', '-', '\u{a0}', '\u{2010}', '\u{2030}', '\u{2070}',
        ] {
            assert!(!is_escaped(c), "{c:?}");
        }
    }

    #[test]
    fn every_class_is_escaped_in_json_and_parses_back() {
        for &c in ESCAPED {
            let value = json!({"displayName": format!("a{c}b")});
            let line = json_text(&value);
            assert!(!line.chars().any(is_escaped), "{c:?}: {line}");
            assert!(line.is_ascii(), "{c:?}: {line}");
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&line).unwrap(),
                value
            );
        }
        let line = json_text(&json!({"d": "Bad\u{9b}31mRED\u{7f}\u{61c}"}));
        assert_eq!(line, r#"{"d":"Bad\u009b31mRED\u007f\u061c"}"#);
        // Beyond the BMP: a surrogate pair.
        assert_eq!(json_text(&json!("\u{e0041}")), r#""\udb40\udc41""#);
        // Everything else is serde_json's text, unchanged.
        let plain = json!({"d": "Salle ☕ \"A\"\n", "n": 1});
        assert_eq!(json_text(&plain), plain.to_string());
    }
}
