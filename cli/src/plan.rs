//! The plan: for each row, which device it names, what the device reports, and what `apply`
//! would do. Reads only; never writes to Graph.
//!
//! Checks, from Microsoft's Teams Rooms on Autopilot guide: the device's deployment profile
//! must be assigned; userless enrollment must not be `blocked` (`allowNextEnrollment` fixes
//! that); the group tag should start with `MTR-` (a warning: dynamic groups key on it). The
//! account side (exists, enabled, Teams Rooms license) is [`crate::account_check`]'s.

use std::collections::HashMap;

use autopilot_resource_account::{AutopilotDevice, DeviceId, GraphClient};
use futures_util::StreamExt;

use crate::output::Output;
use crate::planned::{Decision, Planned};
use crate::refusal::{self, Stop};
use crate::rows::{Row, Target};

/// How to plan: from the command line.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    /// Rows planned at once (device reads, then account checks).
    pub concurrency: usize,
    /// `--reassign`: an account another device has is a warning, not a blocker.
    pub reassign: bool,
    /// Not `--no-account-checks`: check each row's account.
    pub account_checks: bool,
}

/// Plans every row, at most `concurrency` at a time, then checks their accounts (unless turned
/// off); the result is in CSV order. A `401` trips `stop`: rows not yet read are
/// `not_attempted`. `out` gets the notice of a skipped account check.
pub async fn plan(
    client: &GraphClient,
    rows: Vec<Row>,
    options: PlanOptions,
    stop: &Stop,
    out: Output,
) -> Vec<Planned> {
    let concurrency = options.concurrency;
    let mut rows = rows.into_iter();
    let mut planned = Vec::with_capacity(rows.len());
    // The first row alone: a refused token then costs one request, not `concurrency` of them.
    if let Some(first) = rows.next() {
        planned.push(plan_row(client, first, stop).await);
    }
    let rest: Vec<Planned> = futures_util::stream::iter(rows)
        .map(|row| plan_row(client, row, stop))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    planned.extend(rest);
    same_device(&mut planned);
    account_elsewhere(&mut planned, options.reassign);
    if options.account_checks && !stop.stopped() {
        crate::account_check::check(client, &mut planned, concurrency, stop, out).await;
    }
    planned
}

/// Two rows that resolve to one device (a serial and an id, say): only the first is planned.
fn same_device(planned: &mut [Planned]) {
    let mut first: HashMap<String, u64> = HashMap::new();
    for p in planned.iter_mut() {
        let Some(id) = p.device_id.clone() else {
            continue;
        };
        if !p.blockers.is_empty() || p.not_attempted {
            continue;
        }
        match first.get(&id) {
            Some(line) => {
                *p = Planned::blocked(
                    p.row.clone(),
                    Some(id),
                    format!("the same device as line {line}"),
                )
            }
            None => {
                first.insert(id, p.row.line);
            }
        }
    }
}

/// A row whose account a device read by the plan already has, while the row is for another
/// device: blocked before anything is sent (Graph would link one account to two devices), or
/// with `reassign` a warning. Graph cannot look devices up by account (the Autopilot list
/// filters only with functions such as `contains(serialNumber, …)`), so only the devices the
/// plan read are known.
fn account_elsewhere(planned: &mut [Planned], reassign: bool) {
    let mut holders: HashMap<String, (String, Option<String>)> = HashMap::new();
    for p in planned.iter() {
        if let (Some(upn), Some(id)) = (&p.linked, &p.device_id) {
            holders
                .entry(upn.trim().to_lowercase())
                .or_insert_with(|| (id.clone(), p.device_serial.clone()));
        }
    }
    for p in planned.iter_mut() {
        if p.not_attempted || !p.blockers.is_empty() {
            continue;
        }
        let upn = p.row.user_principal_name.trim().to_lowercase();
        let Some((id, serial)) = holders.get(&upn) else {
            continue;
        };
        if p.device_id.as_ref() != Some(id) {
            let serial = serial
                .as_deref()
                .map(|s| format!(" (serial {s})"))
                .unwrap_or_default();
            let upn = &p.row.user_principal_name;
            if reassign {
                p.warnings.push(format!(
                    "{upn} is linked to device {id}{serial} too (--reassign); unassign it there"
                ));
            } else {
                p.blockers.push(format!(
                    "{upn} is already linked to device {id}{serial}; unassign it there first \
                     (or --reassign)"
                ));
            }
        }
    }
}

async fn plan_row(client: &GraphClient, row: Row, stop: &Stop) -> Planned {
    if stop.stopped() {
        let id = match &row.target {
            Target::Device(id) => Some(id.clone()),
            Target::Serial(_) => None,
        };
        return Planned::not_attempted(row, id);
    }
    let device = match &row.target {
        Target::Serial(serial) => match client.find_autopilot_devices_by_serial(serial).await {
            Ok(mut found) if found.len() == 1 => found.remove(0),
            Ok(found) if found.is_empty() => {
                return Planned::blocked(
                    row,
                    None,
                    "no Autopilot device has this serial number".into(),
                );
            }
            Ok(found) => {
                let ids: Vec<&str> = found.iter().filter_map(|d| d.id.as_deref()).collect();
                let why = format!(
                    "ambiguous serial number: {} devices ({})",
                    found.len(),
                    ids.join(", ")
                );
                return Planned::blocked(row, None, why);
            }
            Err(e) if stop.check(&e) => return Planned::not_attempted(row, None),
            Err(e) => {
                return Planned::blocked(
                    row,
                    None,
                    format!(
                        "cannot look the serial number up: {}",
                        refusal::explain(&e, false)
                    ),
                );
            }
        },
        Target::Device(id) => {
            let id = id.clone();
            // Checked where it is first used: a refused id blocks the row as the read would.
            let read = match id.parse::<DeviceId>() {
                Ok(checked) => client.autopilot_device(&checked).await,
                Err(e) => Err(e),
            };
            match read {
                Ok(device) => device,
                Err(e) if e.status() == Some(404) => {
                    return Planned::blocked(
                        row,
                        Some(id),
                        "no Autopilot device has this id".into(),
                    );
                }
                Err(e) if stop.check(&e) => return Planned::not_attempted(row, Some(id)),
                Err(e) => {
                    let why = format!("cannot read the device: {}", refusal::explain(&e, false));
                    return Planned::blocked(row, Some(id), why);
                }
            }
        }
    };
    check(row, device)
}

/// The checks on a device that was read.
fn check(row: Row, device: AutopilotDevice) -> Planned {
    let device_id = match (&row.target, device.id.clone()) {
        (_, Some(id)) => id,
        (Target::Device(id), None) => id.clone(),
        (Target::Serial(_), None) => {
            return Planned::blocked(row, None, "Graph returned the device without an id".into());
        }
    };
    let mut blockers = Vec::new();
    match device.deployment_profile_assignment_status.as_deref() {
        Some(status) if status.starts_with("assigned") => {}
        Some(status) => blockers.push(format!(
            "deployment profile not assigned (deploymentProfileAssignmentStatus {status})"
        )),
        None => blockers.push("Graph did not say whether a deployment profile is assigned".into()),
    }
    let userless_blocked = device
        .userless_enrollment_status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("blocked"));
    let mut warnings = Vec::new();
    let tag = device.group_tag.as_deref().unwrap_or_default();
    if !tag.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("MTR-")) {
        warnings.push(match tag {
            "" => "no group tag (Teams Rooms devices are tagged MTR-…)".to_owned(),
            tag => format!("group tag {tag:?} does not start with MTR-"),
        });
    }
    let linked = linked(&device).map(str::to_owned);
    let assigned = reports(&device, &row);
    let device_serial = device.serial_number.clone();
    Planned {
        row,
        device_id: Some(device_id),
        blockers,
        userless_blocked,
        warnings,
        linked,
        assigned,
        device_serial,
        not_attempted: false,
        rearm: false,
        account_license: None,
    }
}

/// The account the device reports, if any (a blank `userPrincipalName` is none).
pub fn linked(device: &AutopilotDevice) -> Option<&str> {
    device
        .user_principal_name
        .as_deref()
        .filter(|upn| !upn.trim().is_empty())
}

/// Whether the device reports the row's assignment, by the library's rule (the one
/// `verify_assignment` waits on).
pub fn reports(device: &AutopilotDevice, row: &Row) -> bool {
    device.assignment_differences(&row.assignment()).is_empty()
}

/// `plan`: prints one line per row; reads from Graph, never writes.
pub async fn run(
    global: &crate::args::Global,
    args: &crate::args::CsvArgs,
    out: crate::output::Output,
) -> Result<crate::exit::Status, crate::exit::Failure> {
    let crate::rows::Sheet { rows, bad, notes } =
        crate::rows::read(&args.csv).map_err(crate::exit::Failure::Usage)?;
    if let Some(path) = &args.report {
        crate::report::check(path).map_err(crate::exit::Failure::Usage)?;
    }
    let connection = crate::connect::connect(global).await?;
    out.notes(&args.csv.display().to_string(), &notes);
    let mut sink = crate::report::Sink::new(out);
    for row in &bad {
        out.bad_row(&args.csv.display().to_string(), row.line, &row.why);
        sink.bad_row(row.line, &row.why);
    }
    let stop = Stop::default();
    let options = PlanOptions {
        concurrency: global.concurrency,
        reassign: args.reassign,
        account_checks: !args.no_account_checks,
    };
    let mut planned = plan(&connection.client, rows, options, &stop, out).await;
    for p in &mut planned {
        p.rearm = args.force;
    }
    let blocked = print(&planned, &mut sink);
    out.summary(
        &[
            ("rows", planned.len()),
            ("blocked", blocked),
            ("bad_rows", bad.len()),
        ],
        Some("nothing was written"),
    );
    sink.finish(args.report.as_deref())
        .map_err(crate::exit::Failure::Run)?;
    if let Some(message) = stop.message(global.token.as_deref()) {
        return Err(crate::exit::Failure::Refused(message));
    }
    Ok(match blocked + bad.len() {
        0 => crate::exit::Status::AllDone,
        _ => crate::exit::Status::SomeFailed,
    })
}

/// Prints the plan's lines; returns how many rows are blocked (or not attempted).
pub fn print(planned: &[Planned], sink: &mut crate::report::Sink) -> usize {
    let mut blocked = 0;
    for p in planned {
        sink.row(p.report());
        blocked += usize::from(matches!(
            p.decision(false),
            Decision::Blocked(_) | Decision::NotAttempted
        ));
    }
    blocked
}
