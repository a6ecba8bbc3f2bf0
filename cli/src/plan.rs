//! The plan: for each row, which device it names and what `apply` would do to it.

use autopilot_resource_account::GraphClient;

use crate::output::RowReport;
use crate::rows::{Row, Target};

/// What `apply` would do with a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Link the account.
    Assign,
    /// Nothing can be done for the row, and why.
    Blocked(String),
}

impl Decision {
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Assign => "assign",
            Decision::Blocked(_) => "blocked",
        }
    }

    pub fn detail(&self) -> Option<String> {
        match self {
            Decision::Assign => None,
            Decision::Blocked(why) => Some(why.clone()),
        }
    }

    /// Whether `apply` writes for this row.
    pub fn writes(&self) -> bool {
        matches!(self, Decision::Assign)
    }
}

/// A row and its decision.
#[derive(Debug, Clone)]
pub struct Planned {
    pub row: Row,
    /// The device, once known.
    pub device_id: Option<String>,
    pub decision: Decision,
}

impl Planned {
    pub fn report(&self) -> RowReport {
        RowReport {
            line: Some(self.row.line),
            serial_number: self.row.serial().map(str::to_owned),
            device_id: self.device_id.clone(),
            result: self.decision.label(),
            detail: self.decision.detail(),
            ..RowReport::default()
        }
    }
}

/// Plans every row (in CSV order).
pub async fn plan(_client: &GraphClient, rows: Vec<Row>, _concurrency: usize) -> Vec<Planned> {
    rows.into_iter()
        .map(|row| match &row.target {
            Target::Device(id) => Planned {
                device_id: Some(id.clone()),
                decision: Decision::Assign,
                row,
            },
            Target::Serial(_) => Planned {
                device_id: None,
                decision: Decision::Blocked(
                    "serial numbers are not resolved by this build yet; use device_id".into(),
                ),
                row,
            },
        })
        .collect()
}

/// `plan`: prints one line per row; reads from Graph, never writes.
pub async fn run(
    global: &crate::args::Global,
    args: &crate::args::CsvArgs,
    out: crate::output::Output,
) -> Result<crate::Status, crate::Failure> {
    let (rows, bad) = crate::rows::read(&args.csv).map_err(crate::Failure::Usage)?;
    let connection = crate::connect::connect(global).await?;
    for row in &bad {
        out.bad_row(&args.csv.display().to_string(), row.line, &row.why);
    }
    let planned = plan(&connection.client, rows, global.concurrency).await;
    let mut blocked = 0;
    for planned in &planned {
        out.row(&planned.report());
        blocked += usize::from(matches!(planned.decision, Decision::Blocked(_)));
    }
    out.summary(
        &[
            ("rows", planned.len()),
            ("blocked", blocked),
            ("bad_rows", bad.len()),
        ],
        Some("nothing was written"),
    );
    Ok(match blocked + bad.len() {
        0 => crate::Status::AllDone,
        _ => crate::Status::SomeFailed,
    })
}
