//! `unassign`: one device, named by serial number or id, or (`unassign --csv`) every device of
//! a CSV file, each only while it reports its row's account (unless `--force`).

use std::path::Path;
use std::time::{Duration, Instant};

use autopilot_resource_account::{DeviceId, GraphClient};
use futures_util::StreamExt;

use crate::args::{DeviceArgs, Global, UnassignArgs};
use crate::connect;
use crate::device::{base, resolve};
use crate::exit::{Failure, Status};
use crate::output::{Output, RowReport};
use crate::plan::{linked, reports};
use crate::rows::{self, Row, Target};

/// The first pause between reads while waiting for an unassignment to show; it doubles.
const FIRST_POLL: Duration = Duration::from_millis(200);
const MAX_POLL: Duration = Duration::from_secs(15);

/// `unassign --serial S | --device ID`, or `unassign --csv FILE`.
pub async fn unassign(
    global: &Global,
    args: &UnassignArgs,
    out: Output,
) -> Result<Status, Failure> {
    if let Some(csv) = &args.csv {
        return unassign_rows(global, csv, args.force, args.verify_timeout, out).await;
    }
    let connection = connect::connect(global).await?;
    let report = unassign_one(&connection.client, &args.device, None, args.verify_timeout).await;
    out.row(&report);
    Ok(match report.result {
        UNASSIGNED => Status::AllDone,
        _ => Status::SomeFailed,
    })
}

/// The result of a device that shows no account any more.
const UNASSIGNED: &str = "unassigned";
/// The result of a row whose device reported no account: nothing was sent. With [`UNASSIGNED`],
/// the only results that count as done.
const ALREADY_UNASSIGNED: &str = "already-unassigned";

/// Every device of a CSV file (rows as `apply` reads them), `global.concurrency` at a time: one
/// line per row as it ends, bad rows reported and never sent, then the counts. Without `force`,
/// a device is unassigned only while it reports its row's account (the file undoes an `apply`,
/// and must not remove what someone linked since).
async fn unassign_rows(
    global: &Global,
    csv: &Path,
    force: bool,
    verify_timeout: Duration,
    out: Output,
) -> Result<Status, Failure> {
    let rows::Sheet { rows, bad, notes } = rows::read(csv).map_err(Failure::Usage)?;
    let connection = connect::connect(global).await?;
    out.notes(&csv.display().to_string(), &notes);
    for row in &bad {
        out.bad_row(&csv.display().to_string(), row.line, &row.why);
    }
    let client = &connection.client;
    let mut reports = futures_util::stream::iter(&rows)
        .map(|row| async move {
            let only = (!force).then_some(row);
            let mut report =
                unassign_one(client, &DeviceArgs::from(&row.target), only, verify_timeout).await;
            report.line = Some(row.line);
            report
        })
        .buffer_unordered(global.concurrency.max(1));
    let mut counts = [
        (UNASSIGNED, 0),
        (ALREADY_UNASSIGNED, 0),
        ("unverified", 0),
        ("failed", 0),
        ("blocked", 0),
    ];
    while let Some(report) = reports.next().await {
        out.row(&report);
        if let Some((_, count)) = counts.iter_mut().find(|(name, _)| *name == report.result) {
            *count += 1;
        }
    }
    // Summary names are snake_case (JSON keys).
    let names: Vec<String> = counts.iter().map(|(r, _)| r.replace('-', "_")).collect();
    let mut summary: Vec<(&str, usize)> = names
        .iter()
        .zip(&counts)
        .map(|(name, (_, count))| (name.as_str(), *count))
        .collect();
    summary.push(("bad_rows", bad.len()));
    out.summary(&summary, None);
    Ok(
        match counts[0].1 + counts[1].1 == rows.len() && bad.is_empty() {
            true => Status::AllDone,
            false => Status::SomeFailed,
        },
    )
}

/// Removes the account from the device `args` names and waits until the device shows no
/// account: the line to print, whose `result` is `unassigned` only then.
///
/// With `only` (a CSV row), nothing is sent unless the device reports that row's account, by
/// the rule `plan` and `verify_assignment` use: a device that reports no account is
/// `already-unassigned`, one that reports another is `blocked`.
async fn unassign_one(
    client: &GraphClient,
    args: &DeviceArgs,
    only: Option<&Row>,
    verify_timeout: Duration,
) -> RowReport {
    let device = match resolve(client, args).await {
        Ok(device) => device,
        Err(report) => return report,
    };
    let mut report = base(args, &device);
    if let Some(row) = only {
        if linked(&device).is_none() {
            report.result = ALREADY_UNASSIGNED;
            return report;
        }
        if !reports(&device, row) {
            report.result = "blocked";
            report.detail = Some(format!(
                "another account is linked: {}; unassign --force removes it",
                device.assignment_differences(&row.assignment()).join("; ")
            ));
            return report;
        }
    }
    // Checked before the first call: a refused id fails the row as that call would have.
    let checked = report
        .device_id
        .as_deref()
        .unwrap_or_default()
        .parse::<DeviceId>();
    let id = match checked {
        Ok(id) => id,
        Err(e) => {
            report.result = "failed";
            report.detail = Some(e.to_string());
            return report;
        }
    };
    if let Err(e) = client.unassign_resource_account_from_device(&id).await {
        report.result = "failed";
        report.detail = Some(e.to_string());
        return report;
    }
    // Like an assignment, the removal shows on the device only after a while.
    let start = Instant::now();
    let mut pause = FIRST_POLL;
    loop {
        match client.autopilot_device(&id).await {
            Ok(now) if linked(&now).is_none() => {
                report.result = UNASSIGNED;
                return report;
            }
            Ok(now) => {
                if start.elapsed() >= verify_timeout {
                    report.result = "unverified";
                    report.detail = Some(format!(
                        "Graph accepted the removal, but after {verify_timeout:?} the device still reports {}",
                        now.user_principal_name.unwrap_or_default()
                    ));
                    return report;
                }
            }
            Err(e) => {
                report.result = "unverified";
                report.detail = Some(format!(
                    "Graph accepted the removal; reading the device failed: {e}"
                ));
                return report;
            }
        }
        let left = verify_timeout.saturating_sub(start.elapsed());
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

impl From<&Target> for DeviceArgs {
    fn from(target: &Target) -> Self {
        match target {
            Target::Serial(serial) => DeviceArgs {
                serial: Some(serial.clone()),
                device: None,
            },
            Target::Device(id) => DeviceArgs {
                serial: None,
                device: Some(id.clone()),
            },
        }
    }
}
