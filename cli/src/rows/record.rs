//! One CSV record to one row, or the reason it cannot be one.

use super::headers::{Column, Columns};
use super::{Row, Target};
use crate::characters::{code_point, first_hidden};

/// Longer values are refused: no serial, id, UPN or name comes near it.
const MAX_VALUE_CHARS: usize = 1024;

pub fn row(record: &csv::StringRecord, columns: &Columns, line: u64) -> Result<Row, String> {
    if record.len() != columns.width {
        return Err(format!(
            "{} fields; the header has {}",
            record.len(),
            columns.width
        ));
    }
    let value = |column: Column| -> Result<Option<String>, String> {
        let Some(text) = columns.get(column).and_then(|i| record.get(i)) else {
            return Ok(None);
        };
        let name = column.name();
        if let Some((c, kind)) = first_hidden(text) {
            return Err(format!("{name} contains {kind} ({})", code_point(c)));
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
            crate::characters::escape(&upn)
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
