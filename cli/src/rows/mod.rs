//! The CSV file: header names (not positions) say what each column is; each row names one
//! device by serial number or by id, and the account to link. A row that cannot be used is
//! reported with its line number and never sent.
//!
//! Read as spreadsheets save it: [`decode`] (encodings), [`delimiter`] (`,` `;` tab),
//! [`headers`] (spellings and ignored columns), [`record`] (one row, the
//! [`characters`](crate::characters) it refuses), [`duplicates`] (rows that cannot both be
//! right).

mod decode;
mod delimiter;
mod duplicates;
mod headers;
mod record;

use std::io::Read;
use std::path::Path;

use autopilot_resource_account::ResourceAccountAssignment;
use sha2::{Digest, Sha256};

/// Larger files are refused (a fleet CSV is a few hundred KB; this keeps memory bounded).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How a row names its device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A serial number, resolved to a device by lookup (exact, case-insensitive match).
    Serial(String),
    /// An Autopilot device identity id.
    Device(String),
}

/// One usable row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line the row starts on (1 is the header).
    pub line: u64,
    pub target: Target,
    pub user_principal_name: String,
    pub addressable_user_name: Option<String>,
    pub resource_account_name: Option<String>,
}

/// A row that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub why: String,
}

/// A file read: its usable rows, its bad rows (in line order), and notes on how it was read
/// (encoding, delimiter, ignored columns), each to be told once.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub rows: Vec<Row>,
    pub bad: Vec<BadRow>,
    pub notes: Vec<String>,
}

impl Row {
    /// The assignment this row asks for.
    pub fn assignment(&self) -> ResourceAccountAssignment {
        // Fields stay public: an optional column is assigned as the Option it is.
        let mut assignment = ResourceAccountAssignment::new()
            .with_user_principal_name(self.user_principal_name.clone());
        assignment.addressable_user_name = self.addressable_user_name.clone();
        assignment.resource_account_name = self.resource_account_name.clone();
        assignment
    }

    pub fn serial(&self) -> Option<&str> {
        match &self.target {
            Target::Serial(serial) => Some(serial),
            Target::Device(_) => None,
        }
    }

    /// What the journal binds an outcome to: SHA-256 over the target and the assignment,
    /// each field length-prefixed (so no two different rows can encode alike) and `None`
    /// kept apart from an empty value. Hex, 64 characters.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        let mut field = |value: Option<&str>| match value {
            None => hash.update([0u8]),
            Some(value) => {
                hash.update([1u8]);
                hash.update((value.len() as u64).to_le_bytes());
                hash.update(value.as_bytes());
            }
        };
        field(Some("autopilot-ra row v1"));
        match &self.target {
            Target::Serial(serial) => {
                field(Some("serial"));
                field(Some(serial));
            }
            Target::Device(id) => {
                field(Some("device"));
                field(Some(id));
            }
        }
        field(Some(&self.user_principal_name));
        field(self.addressable_user_name.as_deref());
        field(self.resource_account_name.as_deref());
        let digest = hash.finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Reads the file. `Err` (one line) when the file as a whole cannot be used: unreadable, too
/// large, undecodable, no header, a missing or repeated column, one account on two rows.
pub fn read(path: &Path) -> Result<Sheet, String> {
    let shown = crate::characters::escape(&path.display().to_string());
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut bytes = Vec::new();
    // Read at most one byte past the cap, whatever the file claims to be (a FIFO, /dev/zero…).
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{shown} is larger than {} MiB",
            MAX_FILE_BYTES >> 20
        ));
    }
    parse(&bytes).map_err(|e| format!("{shown}: {e}"))
}

/// [`read`] on bytes.
pub fn parse(bytes: &[u8]) -> Result<Sheet, String> {
    let decoded = decode::decode(bytes)?;
    let layout = delimiter::detect(&decoded.bytes, |h| headers::column_of(h).is_some());
    let text = &decoded.bytes[layout.skip..];
    // A skipped `sep=` line still counts in the line numbers the user sees.
    let skipped_lines = u64::from(layout.skip > 0);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(layout.delimiter)
        .from_reader(text);
    let header_row: Vec<String> = reader
        .byte_headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let columns = headers::map(&header_row)?;
    let notes: Vec<String> = [decoded.note.clone(), layout.note, columns.note()]
        .into_iter()
        .flatten()
        .collect();

    let (mut rows, mut bad) = (Vec::new(), Vec::new());
    let mut record = csv::StringRecord::new();
    loop {
        let line_before = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line_before, |p| start_line(text, p));
                let why = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
                    _ => format!("cannot be read: {e}"),
                };
                bad.push(BadRow {
                    line: line + skipped_lines,
                    why,
                });
                continue;
            }
        }
        let line = record
            .position()
            .map_or(line_before, |p| start_line(text, p))
            + skipped_lines;
        if record.iter().all(str::is_empty) {
            continue; // a blank line, e.g. at the end of a hand-edited file
        }
        match record::row(&record, &columns, line) {
            Ok(row) => rows.push(row),
            Err(why) => bad.push(BadRow { line, why }),
        }
    }
    let (rows, repeated) = duplicates::first_per_device(rows);
    duplicates::one_row_per_account(&rows)?;
    bad.extend(repeated);
    bad.sort_by_key(|b| b.line);
    Ok(Sheet { rows, bad, notes })
}

/// The line a record starts on. csv's position points at the blank lines it skipped before
/// the record, so count those too.
fn start_line(bytes: &[u8], position: &csv::Position) -> u64 {
    let from = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let skipped = bytes
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|&&b| b == b'\n')
        .count();
    position.line() + skipped as u64
}

#[cfg(test)]
mod tests;
