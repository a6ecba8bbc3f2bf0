//! The final outcome of every row: printed as it comes, kept for `--report FILE` (a CSV file to
//! hand to whoever racks the rooms) and for the summary table on a terminal.
//!
//! The report file is written atomically (a temp file in the same directory, then a rename), is
//! never written through a symbolic link, and replaces an existing file only when that file is a
//! report of ours (its first line is our header): anything else is refused before a request is
//! sent, so a mistyped `--report rooms.csv` cannot destroy the input.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::output::{Output, RowReport};

/// The header of a report file; also how an existing file is recognised as ours.
const HEADER: [&str; 9] = [
    "line",
    "serial_number",
    "user_principal_name",
    "addressable_user_name",
    "resource_account_name",
    "device_id",
    "result",
    "detail",
    "request_id",
];

/// Prints rows and keeps their final outcome.
pub struct Sink {
    pub out: Output,
    rows: Vec<RowReport>,
}

impl Sink {
    pub fn new(out: Output) -> Self {
        Self {
            out,
            rows: Vec::new(),
        }
    }

    /// Prints a row's final line and keeps it.
    pub fn row(&mut self, row: RowReport) {
        self.out.row(&row);
        self.rows.push(row);
    }

    /// Keeps a CSV row that could not be used (the caller printed it).
    pub fn bad_row(&mut self, line: u64, why: &str) {
        self.rows.push(RowReport {
            line: Some(line),
            result: "bad-row",
            detail: Some(why.to_owned()),
            ..RowReport::default()
        });
    }

    /// How many rows ended how, in the order results first appeared.
    pub fn counts(&self) -> Vec<(String, usize)> {
        let mut order: Vec<String> = Vec::new();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for row in &self.rows {
            let count = counts.entry(row.result).or_default();
            if *count == 0 {
                order.push(row.result.to_owned());
            }
            *count += 1;
        }
        order
            .into_iter()
            .map(|r| {
                let n = counts[r.as_str()];
                (r, n)
            })
            .collect()
    }

    /// At the end of a run: the table on a terminal, and the report file when asked for.
    pub fn finish(mut self, report: Option<&Path>) -> Result<(), String> {
        self.out.table(&self.counts());
        let Some(path) = report else {
            return Ok(());
        };
        self.rows.sort_by_key(|r| r.line);
        write(path, &csv(&self.rows)?)
    }
}

/// Refuses a report path that is a symbolic link, not a file, or a file that is not a report of
/// ours. Called before anything is sent, and again just before the rename.
pub fn check(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Found out now, not after every row was sent.
            return match path.parent().filter(|d| !d.as_os_str().is_empty()) {
                Some(dir) if !dir.is_dir() => Err(format!(
                    "report {shown}: no such directory {}",
                    dir.display()
                )),
                _ => Ok(()),
            };
        }
        Err(e) => return Err(format!("report {shown}: {e}")),
    };
    if meta.file_type().is_symlink() {
        return Err(format!(
            "report {shown} is a symbolic link; refusing to write through it"
        ));
    }
    if !meta.is_file() {
        return Err(format!("report {shown} exists and is not a file"));
    }
    // The first line only: a report's header is short, whatever the size of the file.
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut head))
        .map_err(|e| format!("report {shown}: {e}"))?;
    let first = head
        .split(|b| *b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim_end_matches('\r').to_owned())
        .unwrap_or_default();
    if first != HEADER.join(",") {
        return Err(format!(
            "report {shown} exists and is not an autopilot-ra report; remove it or choose another file"
        ));
    }
    Ok(())
}

/// The report's CSV text. Cells that a spreadsheet would run as a formula are prefixed with `'`.
fn csv(rows: &[RowReport]) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| format!("cannot write the report: {e}");
    writer.write_record(HEADER).map_err(bad)?;
    for row in rows {
        let account = row.account.clone().unwrap_or_default();
        let request_id = row
            .extra
            .get("request_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let cells = [
            row.line.map(|l| l.to_string()),
            row.serial_number.clone(),
            Some(account.user_principal_name),
            account.addressable_user_name,
            account.resource_account_name,
            row.device_id.clone(),
            Some(row.result.to_owned()),
            row.detail.clone(),
            request_id,
        ];
        writer
            .write_record(
                cells
                    .iter()
                    .map(|c| defuse(c.as_deref().unwrap_or_default())),
            )
            .map_err(bad)?;
    }
    writer
        .into_inner()
        .map_err(|e| format!("cannot write the report: {e}"))
}

/// A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`.
fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// Temp file in the same directory, flushed to disk, then renamed over `path`.
fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    check(path)?;
    let shown = path.display();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| format!("report {shown} names no file"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = dir.join(temp_name);
    let result = (|| {
        // create_new: never follows a link planted at the temp name, never reuses a file.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(format!("cannot write the report {shown}: {e}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_results_in_order_of_appearance() {
        let mut sink = Sink::new(Output {
            format: crate::output::OutputFormat::Json,
        });
        for result in ["verified", "blocked", "verified"] {
            sink.rows.push(RowReport {
                result,
                ..RowReport::default()
            });
        }
        sink.bad_row(9, "why");
        let counts = sink.counts();
        assert_eq!(
            counts,
            [
                ("verified".to_owned(), 2),
                ("blocked".to_owned(), 1),
                ("bad-row".to_owned(), 1)
            ]
        );
        assert_eq!(
            crate::output::table(&counts),
            "\nresult    rows\n--------  ----\nverified     2\nblocked      1\nbad-row      1"
        );
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(defuse("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(defuse("room@contoso.com"), "room@contoso.com");
        assert_eq!(defuse(""), "");
    }
}
