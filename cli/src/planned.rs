//! A planned row: the device it resolved to, what the plan found, and the [`Decision`] that
//! follows. The planner (`plan`) fills it in, the account check (`account_check`) adds to it,
//! `apply` acts on it; it depends on none of them.

use crate::output::{Account, RowReport};
use crate::rows::Row;

/// What `apply` would do with a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Link the account (perhaps with warnings).
    Assign,
    /// The device already reports this account: nothing to write.
    AlreadyAssigned,
    /// The device already reports this account and `--force` writes it again (a link lasts up
    /// to 90 days, and a reset device needs it again).
    Rearm,
    /// Not tried: the run stopped when Graph refused the token.
    NotAttempted,
    /// Another account is linked; writing replaces it.
    Reassign { current: String },
    /// Nothing can be done for the row, and why.
    Blocked(String),
}

/// A row, the device it resolved to, and the findings of the checks.
#[derive(Debug, Clone)]
pub struct Planned {
    pub row: Row,
    /// The device id, once known.
    pub device_id: Option<String>,
    /// What blocks the row, other than userless enrollment.
    pub blockers: Vec<String>,
    /// `userlessEnrollmentStatus` is `blocked`: `--allow-next-enrollment` can fix it.
    pub userless_blocked: bool,
    /// What `apply` may do, but should tell.
    pub warnings: Vec<String>,
    /// The account the device reports now, if any.
    pub linked: Option<String>,
    /// Whether the device already reports exactly this row's assignment.
    pub assigned: bool,
    /// The serial number the device reports (to name it when another row wants its account).
    pub device_serial: Option<String>,
    /// Not planned: the run stopped when Graph refused the token.
    pub not_attempted: bool,
    /// `--force`: write an assignment the device already reports.
    pub rearm: bool,
    /// The Teams Rooms license the account holds, when the account check ran and found one.
    pub account_license: Option<String>,
}

impl Planned {
    pub fn blocked(row: Row, device_id: Option<String>, why: String) -> Self {
        Self {
            row,
            device_id,
            blockers: vec![why],
            userless_blocked: false,
            warnings: Vec::new(),
            linked: None,
            assigned: false,
            device_serial: None,
            not_attempted: false,
            rearm: false,
            account_license: None,
        }
    }

    pub fn not_attempted(row: Row, device_id: Option<String>) -> Self {
        let mut p = Self::blocked(
            row,
            device_id,
            "the run stopped: Graph refused the token".into(),
        );
        p.not_attempted = true;
        p
    }

    /// The decision, with userless enrollment counted as unblocked when `unblocked`.
    pub fn decision(&self, unblocked: bool) -> Decision {
        if self.not_attempted {
            return Decision::NotAttempted;
        }
        let mut blockers = self.blockers.clone();
        if self.userless_blocked && !unblocked {
            blockers.push(
                "userless enrollment is blocked (apply --allow-next-enrollment unblocks it)".into(),
            );
        }
        if !blockers.is_empty() {
            return Decision::Blocked(blockers.join("; "));
        }
        match (&self.linked, self.assigned) {
            (_, true) if self.rearm => Decision::Rearm,
            (_, true) => Decision::AlreadyAssigned,
            (Some(current), false) => Decision::Reassign {
                current: current.clone(),
            },
            (None, false) => Decision::Assign,
        }
    }

    /// The plan's line for this row: `assign`, `already-assigned`, `reassign`, `blocked: …` or
    /// `warn: …`.
    pub fn report(&self) -> RowReport {
        let (result, mut detail) = match self.decision(false) {
            Decision::Assign if !self.warnings.is_empty() => ("warn", Vec::new()),
            Decision::Assign => ("assign", Vec::new()),
            Decision::AlreadyAssigned => ("already-assigned", Vec::new()),
            Decision::Rearm => (
                "rearm",
                vec!["already assigned; --force sends it again".to_owned()],
            ),
            Decision::NotAttempted => ("not-attempted", self.blockers.clone()),
            Decision::Reassign { current } => {
                ("reassign", vec![format!("{current} is linked now")])
            }
            Decision::Blocked(why) => ("blocked", vec![why]),
        };
        detail.extend(self.warnings.iter().cloned());
        let mut extra = serde_json::Map::new();
        if let Some(license) = &self.account_license {
            // On the line only where it goes ahead: a blocked line lists what blocks it.
            if !matches!(result, "blocked" | "not-attempted") {
                detail.push(format!("Teams Rooms license {license}"));
            }
            extra.insert("account_license".into(), license.clone().into());
        }
        RowReport {
            line: Some(self.row.line),
            serial_number: self.row.serial().map(str::to_owned),
            device_id: self.device_id.clone(),
            account: Some(account(&self.row)),
            phase: Some("plan"),
            result,
            detail: (!detail.is_empty()).then(|| detail.join("; ")),
            extra,
        }
    }
}

/// The account fields of a row, for its printed line and the report.
pub fn account(row: &Row) -> Account {
    Account {
        user_principal_name: row.user_principal_name.clone(),
        addressable_user_name: row.addressable_user_name.clone(),
        resource_account_name: row.resource_account_name.clone(),
    }
}
