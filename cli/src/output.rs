//! What the tool prints: one line per row (text for people, JSON lines for scripts), a summary,
//! and CSV or Graph values escaped so that they cannot drive the terminal.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Map, Value, json};

use crate::args::OutputFormat;

/// Where rows and summaries go. Text: rows on stdout, problems on stderr. JSON: everything on
/// stdout, one object per line.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: OutputFormat,
}

/// One printed row: its CSV line (when from a CSV), what it targets, and what became of it.
#[derive(Debug, Clone, Default)]
pub struct RowReport {
    pub line: Option<u64>,
    pub serial_number: Option<String>,
    pub device_id: Option<String>,
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
            if let Some(line) = row.line {
                object.insert("line".into(), line.into());
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

    fn json_line(self, value: &Value) {
        // serde_json escapes every control character, so JSON output needs no other escaping.
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, value);
        let _ = stdout.write_all(b"\n");
    }
}

/// Makes a value safe to print on a terminal: control characters (ESC and the rest of C0/C1,
/// so no ANSI sequence), bidirectional overrides and backslashes are shown as Rust escapes.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_what_could_drive_a_terminal() {
        assert_eq!(escape("Room 101"), "Room 101");
        assert_eq!(escape("Boardroom, 4th floor ☕"), "Boardroom, 4th floor ☕");
        assert_eq!(escape("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(escape("a\rb\nc\td"), "a\\rb\\nc\\td");
        assert_eq!(escape("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("a\\u{1b}"), "a\\\\u{1b}");
    }
}
