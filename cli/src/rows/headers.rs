//! The header row: which of our columns each header names. Headers match ignoring case,
//! whitespace, `_` and `-`, through a table of accepted spellings (ours, Intune's Autopilot
//! import and export headers, common ones). Other columns are ignored, and said so once.

use std::collections::HashMap;

use crate::characters::escape;

/// Our columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    SerialNumber,
    DeviceId,
    UserPrincipalName,
    AddressableUserName,
    ResourceAccountName,
}

/// Each column and the headers accepted for it (the first is its name in messages). Keep the
/// README's header table in step. Deliberately absent: a bare `Id` (Graph exports carry the
/// Entra and Intune ids beside the Autopilot one) and `Device Name` (not the account's name).
const ALIASES: [(Column, &[&str]); 5] = [
    (
        Column::SerialNumber,
        &[
            "serial_number",
            "Device Serial Number", // Intune's Autopilot import file
            "Serial",
            "Serial No",
        ],
    ),
    (
        Column::DeviceId,
        &[
            "device_id",
            "Autopilot Device Id",
            "Windows Autopilot Device Identity Id",
        ],
    ),
    (
        Column::UserPrincipalName,
        &[
            "user_principal_name",
            "UPN",
            "Assigned User", // Intune's Autopilot import file
            "Assigned User Principal Name",
            "Resource Account",
            "Resource Account UPN",
        ],
    ),
    (
        Column::AddressableUserName,
        &[
            "addressable_user_name",
            "Display Name",
            "User Friendly Name", // Intune's "Assign user" pane
            "Friendly Name",
        ],
    ),
    (
        Column::ResourceAccountName,
        &["resource_account_name", "Resource Name", "Account Name"],
    ),
];

impl Column {
    pub fn name(self) -> &'static str {
        self.aliases()[0]
    }

    fn aliases(self) -> &'static [&'static str] {
        ALIASES
            .iter()
            .find(|(column, _)| *column == self)
            .map_or(&[], |(_, aliases)| aliases)
    }
}

/// `Serial Number`, `serial_number`, `serialNumber` and `SERIAL-NUMBER` are one header.
fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The column `header` names, if any.
pub fn column_of(header: &str) -> Option<Column> {
    let header = normalise(header);
    ALIASES
        .iter()
        .find(|(_, aliases)| aliases.iter().any(|alias| normalise(alias) == header))
        .map(|(column, _)| *column)
}

/// Where each of our columns is, how many fields the header has, and the ignored headers.
#[derive(Debug)]
pub struct Columns {
    index: HashMap<Column, usize>,
    pub width: usize,
    ignored: Vec<String>,
}

impl Columns {
    pub fn get(&self, column: Column) -> Option<usize> {
        self.index.get(&column).copied()
    }

    /// The note on ignored columns, if there are any.
    pub fn note(&self) -> Option<String> {
        (!self.ignored.is_empty()).then(|| format!("ignored columns: {}", quoted(&self.ignored)))
    }
}

/// Maps the header row. `Err` (one line) when the file cannot be used: no header, a column
/// named twice, or a required column missing (naming the headers found and the closest).
pub fn map(headers: &[String]) -> Result<Columns, String> {
    if headers.iter().all(String::is_empty) {
        return Err("no header row".into());
    }
    let mut index: HashMap<Column, usize> = HashMap::new();
    let mut ignored = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let Some(column) = column_of(header) else {
            ignored.push(header.clone());
            continue;
        };
        if let Some(first) = index.insert(column, i) {
            return Err(format!(
                "column {} appears twice ({})",
                column.name(),
                quoted(&[headers[first].clone(), header.clone()])
            ));
        }
    }
    let columns = Columns {
        index,
        width: headers.len(),
        ignored,
    };
    let target = [Column::SerialNumber, Column::DeviceId];
    if target.iter().all(|c| columns.get(*c).is_none()) {
        return Err(missing(
            "a serial_number or device_id column",
            &target,
            headers,
            &columns,
        ));
    }
    if columns.get(Column::UserPrincipalName).is_none() {
        let upn = [Column::UserPrincipalName];
        return Err(missing(
            "a user_principal_name column",
            &upn,
            headers,
            &columns,
        ));
    }
    Ok(columns)
}

/// `needs …; headers found: …`, and which ignored header is closest to a missing column.
fn missing(what: &str, wanted: &[Column], headers: &[String], columns: &Columns) -> String {
    let mut message = format!("needs {what}; headers found: {}", quoted(headers));
    let closest = columns
        .ignored
        .iter()
        // A header longer than any spelling is no near miss (and may be a whole file).
        .filter(|header| header.len() <= 128)
        .flat_map(|header| {
            wanted.iter().flat_map(move |column| {
                column.aliases().iter().map(move |alias| {
                    // Relative to length, so that a short header is not closest to everything.
                    let similarity =
                        strsim::normalized_levenshtein(&normalise(header), &normalise(alias));
                    (similarity, header, *column)
                })
            })
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((_, header, column)) = closest {
        message.push_str(&format!(
            "; unknown column \"{}\" is closest to {}",
            escape(header),
            column.name()
        ));
    }
    message
}

/// At most 20 headers of at most 64 characters each: the message stays one readable line
/// whatever the first line of the file holds.
fn quoted(headers: &[String]) -> String {
    let mut shown: Vec<String> = headers
        .iter()
        .take(20)
        .map(|h| match h.char_indices().nth(64) {
            Some((cut, _)) => format!("\"{}…\"", escape(&h[..cut])),
            None => format!("\"{}\"", escape(h)),
        })
        .collect();
    if headers.len() > 20 {
        shown.push(format!("… ({} in all)", headers.len()));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::{Column, column_of, map};

    fn headers(line: &str) -> Vec<String> {
        line.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn spellings_are_one_column() {
        for (header, column) in [
            ("serial_number", Column::SerialNumber),
            ("Serial Number", Column::SerialNumber),
            ("SerialNumber", Column::SerialNumber),
            ("SERIAL-NUMBER", Column::SerialNumber),
            ("Device Serial Number", Column::SerialNumber),
            ("serial", Column::SerialNumber),
            ("Device ID", Column::DeviceId),
            ("UPN", Column::UserPrincipalName),
            ("User Principal Name", Column::UserPrincipalName),
            ("userPrincipalName", Column::UserPrincipalName),
            ("Assigned User", Column::UserPrincipalName),
            ("Resource Account", Column::UserPrincipalName),
            ("Display Name", Column::AddressableUserName),
            ("addressableUserName", Column::AddressableUserName),
            ("Resource Account Name", Column::ResourceAccountName),
            ("resourceName", Column::ResourceAccountName),
        ] {
            assert_eq!(column_of(header), Some(column), "{header}");
        }
        for other in [
            "Id",
            "Device Name",
            "Group Tag",
            "Hardware Hash",
            "notes",
            "",
        ] {
            assert_eq!(column_of(other), None, "{other}");
        }
    }

    #[test]
    fn other_columns_are_ignored_and_named_once() {
        let columns = map(&headers(
            "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User",
        ))
        .unwrap();
        assert_eq!(columns.get(Column::SerialNumber), Some(0));
        assert_eq!(columns.get(Column::UserPrincipalName), Some(4));
        assert_eq!(columns.get(Column::DeviceId), None);
        assert_eq!(columns.width, 5);
        assert_eq!(
            columns.note().as_deref(),
            Some("ignored columns: \"Windows Product ID\", \"Hardware Hash\", \"Group Tag\"")
        );
        assert_eq!(map(&headers("serial,upn")).unwrap().note(), None);
    }

    #[test]
    fn a_huge_header_row_gives_a_short_message() {
        let long = "x".repeat(100_000);
        let err = map(&[long.clone(), "upn".into()]).unwrap_err();
        assert!(err.len() < 200, "{err}");
        let many: Vec<String> = (0..30).map(|i| format!("h{i}")).collect();
        let err = map(&many).unwrap_err();
        assert!(err.contains("\"h19\", … (30 in all);"), "{err}");
        assert!(!err.contains("h20"), "{err}");
        let err = map(&many[..20]).unwrap_err();
        assert!(
            err.contains("\"h19\"; unknown column") && !err.contains("in all"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_header_row_says_what_it_found() {
        for (line, why) in [
            ("", "no header row"),
            (",", "no header row"),
            (
                "UPN,serial,Assigned User",
                "column user_principal_name appears twice (\"UPN\", \"Assigned User\")",
            ),
            (
                "user_principal_name",
                "needs a serial_number or device_id column; headers found: \"user_principal_name\"",
            ),
            (
                "serial_number,user_principle_name,Room",
                "needs a user_principal_name column; headers found: \"serial_number\", \
                 \"user_principle_name\", \"Room\"; unknown column \"user_principle_name\" is \
                 closest to user_principal_name",
            ),
            (
                "device,user_principal_name",
                "needs a serial_number or device_id column; headers found: \"device\", \
                 \"user_principal_name\"; unknown column \"device\" is closest to device_id",
            ),
            (
                "serial_number;user_principal_name;x",
                "needs a serial_number or device_id column; headers found: \
                 \"serial_number;user_principal_name;x\"; unknown column \
                 \"serial_number;user_principal_name;x\" is closest to serial_number",
            ),
            (
                "srial\u{1b}[2J,upn",
                "unknown column \"srial\\u{1b}[2J\" is closest to serial_number",
            ),
        ] {
            let err = map(&headers(line)).unwrap_err();
            assert!(err.ends_with(why), "{line:?}: {err}");
        }
    }
}
