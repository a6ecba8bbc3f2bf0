//! The CSV file: header names (not positions) say what each column is; each row names one
//! device by serial number or by id, and the account to link. A row that cannot be used is
//! reported with its line number and never sent.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use autopilot_resource_account::ResourceAccountAssignment;
use sha2::{Digest, Sha256};

/// Larger files are refused (a fleet CSV is a few hundred KB; this keeps memory bounded).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Longer values are refused: no serial, id, UPN or name comes near it.
const MAX_VALUE_CHARS: usize = 1024;

/// How a row names its device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A serial number, resolved to a device by lookup (exact, case-insensitive match).
    Serial(String),
    /// An Autopilot device identity id.
    Device(String),
}

/// One usable row.
#[derive(Debug, Clone)]
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

/// The columns, by normalised header name (case, spaces, `_` and `-` ignored, so
/// `serial_number`, `Serial Number` and `serialNumber` are one column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    SerialNumber,
    DeviceId,
    UserPrincipalName,
    AddressableUserName,
    ResourceAccountName,
}

const COLUMNS: [(&str, Column); 5] = [
    ("serial_number", Column::SerialNumber),
    ("device_id", Column::DeviceId),
    ("user_principal_name", Column::UserPrincipalName),
    ("addressable_user_name", Column::AddressableUserName),
    ("resource_account_name", Column::ResourceAccountName),
];

fn normalise(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
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

/// Reads the file: the usable rows and the bad ones. `Err` (one line) when the file as a whole
/// cannot be used: unreadable, too large, no header, a missing, unknown or repeated column.
pub fn read(path: &Path) -> Result<(Vec<Row>, Vec<BadRow>), String> {
    let shown = crate::output::escape(&path.display().to_string());
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
pub fn parse(bytes: &[u8]) -> Result<(Vec<Row>, Vec<BadRow>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .byte_headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .clone();
    if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
        return Err("no header row".into());
    }
    let mut columns: HashMap<Column, usize> = HashMap::new();
    for (index, header) in headers.iter().enumerate() {
        let header = String::from_utf8_lossy(header);
        let Some((_, column)) = COLUMNS
            .iter()
            .find(|(name, _)| normalise(name) == normalise(&header))
        else {
            return Err(format!(
                "unknown column {:?} (the columns are {})",
                crate::output::escape(&header),
                COLUMNS.map(|(name, _)| name).join(", ")
            ));
        };
        if columns.insert(*column, index).is_some() {
            return Err(format!(
                "column {:?} appears twice",
                crate::output::escape(&header)
            ));
        }
    }
    if !columns.contains_key(&Column::SerialNumber) && !columns.contains_key(&Column::DeviceId) {
        return Err("needs a serial_number or a device_id column".into());
    }
    if !columns.contains_key(&Column::UserPrincipalName) {
        return Err("needs a user_principal_name column".into());
    }

    let (mut rows, mut bad) = (Vec::new(), Vec::new());
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line_before = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line_before, |p| start_line(bytes, p));
                let why = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
                    _ => format!("cannot be read: {e}"),
                };
                bad.push(BadRow { line, why });
                continue;
            }
        }
        let line = record
            .position()
            .map_or(line_before, |p| start_line(bytes, p));
        if record.iter().all(str::is_empty) {
            continue; // a blank line, e.g. at the end of a hand-edited file
        }
        match row(&record, &columns, line) {
            Ok(row) => {
                let key = match &row.target {
                    Target::Serial(serial) => format!("serial {}", serial.to_lowercase()),
                    Target::Device(id) => format!("device {id}"),
                };
                if let Some(first) = seen.get(&key) {
                    bad.push(BadRow {
                        line,
                        why: format!("the same device as line {first}"),
                    });
                } else {
                    seen.insert(key, line);
                    rows.push(row);
                }
            }
            Err(why) => bad.push(BadRow { line, why }),
        }
    }
    Ok((rows, bad))
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

fn row(
    record: &csv::StringRecord,
    columns: &HashMap<Column, usize>,
    line: u64,
) -> Result<Row, String> {
    if record.len() != columns.len() {
        return Err(format!(
            "{} fields; the header has {}",
            record.len(),
            columns.len()
        ));
    }
    let value = |column: Column| -> Result<Option<String>, String> {
        let Some(text) = columns.get(&column).and_then(|&i| record.get(i)) else {
            return Ok(None);
        };
        let name = COLUMNS
            .iter()
            .find(|(_, c)| *c == column)
            .map_or("", |(n, _)| *n);
        if text.chars().any(char::is_control) {
            return Err(format!("{name} contains a control character"));
        }
        if text.chars().count() > MAX_VALUE_CHARS {
            return Err(format!(
                "{name} is longer than {MAX_VALUE_CHARS} characters"
            ));
        }
        Ok((!text.is_empty()).then(|| text.to_owned()))
    };
    let serial = value(Column::SerialNumber)?;
    let device = value(Column::DeviceId)?;
    let target = match (serial, device) {
        (Some(serial), None) => Target::Serial(serial),
        (None, Some(device)) => Target::Device(device),
        (Some(_), Some(_)) => {
            return Err("has both a serial_number and a device_id; give one".into());
        }
        (None, None) => return Err("has neither a serial_number nor a device_id".into()),
    };
    let upn = value(Column::UserPrincipalName)?.ok_or("empty user_principal_name")?;
    let well_formed = upn.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !upn.chars().any(char::is_whitespace);
    if !well_formed {
        return Err(format!(
            "user_principal_name {:?} is not of the form name@domain",
            crate::output::escape(&upn)
        ));
    }
    Ok(Row {
        line,
        target,
        user_principal_name: upn,
        addressable_user_name: value(Column::AddressableUserName)?,
        resource_account_name: value(Column::ResourceAccountName)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> (Vec<Row>, Vec<BadRow>) {
        parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn columns_are_found_by_name_in_any_order() {
        let (rows, bad) = parse_text(
            "Resource Account Name,userPrincipalName,serial_number,addressable-user-name\n\
             room-1,room-1@contoso.com,SN-1,Room 1\n",
        );
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(rows[0].target, Target::Serial("SN-1".into()));
        assert_eq!(rows[0].user_principal_name, "room-1@contoso.com");
        assert_eq!(rows[0].addressable_user_name.as_deref(), Some("Room 1"));
        assert_eq!(rows[0].resource_account_name.as_deref(), Some("room-1"));
        assert_eq!(rows[0].line, 2);
    }

    #[test]
    fn a_bad_header_refuses_the_file() {
        for (text, why) in [
            ("", "no header row"),
            (
                "device_id,user_principal_name,notes\n",
                "unknown column \"notes\"",
            ),
            ("device_id,device id,user_principal_name\n", "appears twice"),
            ("user_principal_name\n", "serial_number or a device_id"),
            ("device_id\n", "user_principal_name column"),
        ] {
            let err = parse(text.as_bytes()).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn bad_rows_carry_their_line() {
        let (rows, bad) = parse_text(
            "device_id,serial_number,user_principal_name\n\
             d-1,,a@b.c\n\
             ,,a@b.c\n\
             d-3,S3,a@b.c\n\
             d-4,,not-an-upn\n\
             d-5,,\n\
             d-1,,again@b.c\n\
             d-7,a@b.c\n\
             \n\r\n\
             ,\"s\u{1b}[2J\",a@b.c\n\
             ,sn-10,a@b.c\n\
             ,SN-10,a@b.c\n",
        );
        assert_eq!(rows.len(), 2);
        let got: Vec<(u64, &str)> = bad.iter().map(|b| (b.line, b.why.as_str())).collect();
        assert_eq!(
            got,
            [
                (3, "has neither a serial_number nor a device_id"),
                (4, "has both a serial_number and a device_id; give one"),
                (
                    5,
                    "user_principal_name \"not-an-upn\" is not of the form name@domain"
                ),
                (6, "empty user_principal_name"),
                (7, "the same device as line 2"),
                (8, "2 fields; the header has 3"),
                (11, "serial_number contains a control character"),
                (13, "the same device as line 12"),
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_a_bad_row_not_a_failure() {
        let mut text =
            b"device_id,user_principal_name\nd-1,a@b.c\nd-\xff,a@b.c\nd-3,a@b.c\n".to_vec();
        let (rows, bad) = parse(&text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            bad,
            [BadRow {
                line: 3,
                why: "is not valid UTF-8".into()
            }]
        );
        text.truncate(text.len() - 3); // a cut last line is still a row of its own
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn fingerprints_tell_rows_apart() {
        let row = |target: Target, addressable: Option<&str>, name: Option<&str>| Row {
            line: 2,
            target,
            user_principal_name: "a@b.c".into(),
            addressable_user_name: addressable.map(str::to_owned),
            resource_account_name: name.map(str::to_owned),
        };
        let base = row(Target::Device("d".into()), Some("x"), None);
        let same_elsewhere = Row {
            line: 9,
            ..base.clone()
        };
        assert_eq!(base.fingerprint(), same_elsewhere.fingerprint());
        assert_eq!(base.fingerprint().len(), 64);
        for other in [
            row(Target::Serial("d".into()), Some("x"), None),
            row(Target::Device("d".into()), None, Some("x")),
            row(Target::Device("d".into()), Some(""), None),
            row(Target::Device("dx".into()), None, None),
        ] {
            assert_ne!(base.fingerprint(), other.fingerprint(), "{other:?}");
        }
    }
}
