//! Rows that cannot both be right. Two rows for one device: the later is a bad row (the first
//! says what the device gets). One account on two rows: the file is refused, since a Teams Rooms
//! resource account belongs to one device and nothing says which row is the mistake.

use std::collections::HashMap;

use super::{BadRow, Row, Target};

/// Keeps the first row of each device; the others become bad rows.
pub fn first_per_device(rows: Vec<Row>) -> (Vec<Row>, Vec<BadRow>) {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let (mut kept, mut bad) = (Vec::new(), Vec::new());
    for row in rows {
        // Serials match case-insensitively, as the lookup does; ids are exact.
        let key = match &row.target {
            Target::Serial(serial) => format!("serial {}", serial.to_lowercase()),
            Target::Device(id) => format!("device {id}"),
        };
        match seen.get(&key) {
            Some(first) => bad.push(BadRow {
                line: row.line,
                why: format!("the same device as line {first}"),
            }),
            None => {
                seen.insert(key, row.line);
                kept.push(row);
            }
        }
    }
    (kept, bad)
}

/// How many repeated accounts the refusal names, at most (it stays one line).
const SHOWN: usize = 3;

/// `Err` naming the lines when one user principal name (case-insensitive, as Entra ID compares
/// them) is on two rows.
pub fn one_row_per_account(rows: &[Row]) -> Result<(), String> {
    let mut first: HashMap<String, u64> = HashMap::new();
    let mut repeats = Vec::new();
    for row in rows {
        let upn = row.user_principal_name.to_lowercase();
        match first.get(&upn) {
            Some(&line) => repeats.push(format!(
                "{} on lines {line} and {}",
                crate::characters::escape(&row.user_principal_name),
                row.line
            )),
            None => {
                first.insert(upn, row.line);
            }
        }
    }
    if repeats.is_empty() {
        return Ok(());
    }
    let more = repeats.len().saturating_sub(SHOWN);
    repeats.truncate(SHOWN);
    let mut message = format!(
        "the same user_principal_name on two rows (a resource account links to one device): {}",
        repeats.join("; ")
    );
    if more > 0 {
        message.push_str(&format!("; and {more} more"));
    }
    Err(message)
}

#[cfg(test)]
mod tests {
    use super::{first_per_device, one_row_per_account};
    use crate::rows::{BadRow, Row, Target};

    fn row(line: u64, target: Target, upn: &str) -> Row {
        Row {
            line,
            target,
            user_principal_name: upn.into(),
            addressable_user_name: None,
            resource_account_name: None,
        }
    }

    #[test]
    fn a_device_keeps_its_first_row() {
        let (kept, bad) = first_per_device(vec![
            row(2, Target::Serial("sn-1".into()), "a@x"),
            row(3, Target::Device("sn-1".into()), "b@x"),
            row(4, Target::Serial("SN-1".into()), "c@x"),
            row(5, Target::Device("d".into()), "d@x"),
            row(6, Target::Device("D".into()), "e@x"),
        ]);
        assert_eq!(
            kept.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2, 3, 5, 6]
        );
        assert_eq!(
            bad,
            [BadRow {
                line: 4,
                why: "the same device as line 2".into()
            }]
        );
    }

    #[test]
    fn one_account_on_two_rows_names_both_lines() {
        let device = |id: &str| Target::Device(id.into());
        assert_eq!(
            one_row_per_account(&[row(2, device("a"), "a@x"), row(3, device("b"), "b@x")]),
            Ok(())
        );
        let err = one_row_per_account(&[
            row(2, device("a"), "room@x.com"),
            row(3, device("b"), "b@x"),
            row(7, device("c"), "Room@X.com"),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            "the same user_principal_name on two rows (a resource account links to one device): \
             Room@X.com on lines 2 and 7"
        );
        let many: Vec<Row> = (0..6)
            .map(|i| row(i + 2, device(&i.to_string()), "same@x"))
            .collect();
        let err = one_row_per_account(&many).unwrap_err();
        assert!(
            err.ends_with("same@x on lines 2 and 4; same@x on lines 2 and 5; and 2 more"),
            "{err}"
        );
    }
}
