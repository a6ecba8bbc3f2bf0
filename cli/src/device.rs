//! `show` and `unassign`: one device, named by serial number or id.

use std::time::{Duration, Instant};

use autopilot_resource_account::{AutopilotDevice, GraphClient};

use crate::args::{DeviceArgs, Global, UnassignArgs};
use crate::output::{Output, RowReport};
use crate::{Failure, Status, connect};

/// The first pause between reads while waiting for an unassignment to show; it doubles.
const FIRST_POLL: Duration = Duration::from_millis(200);
const MAX_POLL: Duration = Duration::from_secs(15);

pub async fn show(global: &Global, args: &DeviceArgs, out: Output) -> Result<Status, Failure> {
    let connection = connect::connect(global).await?;
    let device = match resolve(&connection.client, args).await {
        Ok(device) => device,
        Err(report) => {
            out.row(&report);
            return Ok(Status::SomeFailed);
        }
    };
    let fields = serde_json::to_value(&device).unwrap_or_default();
    let mut report = base(args, &device);
    report.result = "found";
    if let Some(fields) = fields.as_object() {
        report.extra = fields.clone();
    }
    if out.json() {
        out.row(&report);
    } else {
        out.row(&report);
        for (name, value) in fields.as_object().into_iter().flatten() {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            say!("  {name}: {}", crate::output::escape(&value));
        }
    }
    Ok(Status::AllDone)
}

pub async fn unassign(
    global: &Global,
    args: &UnassignArgs,
    out: Output,
) -> Result<Status, Failure> {
    let connection = connect::connect(global).await?;
    let client = &connection.client;
    let device = match resolve(client, &args.device).await {
        Ok(device) => device,
        Err(report) => {
            out.row(&report);
            return Ok(Status::SomeFailed);
        }
    };
    let mut report = base(&args.device, &device);
    let id = report.device_id.clone().unwrap_or_default();
    if let Err(e) = client.unassign_resource_account_from_device(&id).await {
        report.result = "failed";
        report.detail = Some(e.to_string());
        out.row(&report);
        return Ok(Status::SomeFailed);
    }
    // Like an assignment, the removal shows on the device only after a while.
    let start = Instant::now();
    let mut pause = FIRST_POLL;
    loop {
        match client.autopilot_device(&id).await {
            Ok(now)
                if now
                    .user_principal_name
                    .as_deref()
                    .is_none_or(|u| u.trim().is_empty()) =>
            {
                report.result = "unassigned";
                out.row(&report);
                return Ok(Status::AllDone);
            }
            Ok(now) => {
                if start.elapsed() >= args.verify_timeout {
                    report.result = "unverified";
                    report.detail = Some(format!(
                        "Graph accepted the removal, but after {:?} the device still reports {}",
                        args.verify_timeout,
                        now.user_principal_name.unwrap_or_default()
                    ));
                    out.row(&report);
                    return Ok(Status::SomeFailed);
                }
            }
            Err(e) => {
                report.result = "unverified";
                report.detail = Some(format!(
                    "Graph accepted the removal; reading the device failed: {e}"
                ));
                out.row(&report);
                return Ok(Status::SomeFailed);
            }
        }
        let left = args.verify_timeout.saturating_sub(start.elapsed());
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

fn base(args: &DeviceArgs, device: &AutopilotDevice) -> RowReport {
    RowReport {
        serial_number: args.serial.clone().or_else(|| device.serial_number.clone()),
        device_id: device.id.clone().or_else(|| args.device.clone()),
        ..RowReport::default()
    }
}

/// The one device `args` names, or the line to print instead.
async fn resolve(client: &GraphClient, args: &DeviceArgs) -> Result<AutopilotDevice, RowReport> {
    let mut report = RowReport {
        serial_number: args.serial.clone(),
        device_id: args.device.clone(),
        result: "blocked",
        ..RowReport::default()
    };
    let found = match (&args.serial, &args.device) {
        (Some(serial), _) => {
            client
                .find_autopilot_devices_by_serial(serial)
                .await
                .map(|mut found| match found.len() {
                    1 => Ok(found.remove(0)),
                    0 => Err("no Autopilot device has this serial number".to_owned()),
                    n => Err(format!(
                        "ambiguous serial number: {n} devices ({})",
                        found
                            .iter()
                            .filter_map(|d| d.id.as_deref())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                })
        }
        (None, Some(id)) => {
            client
                .autopilot_device(id)
                .await
                .map(Ok)
                .or_else(|e| match e.status() {
                    Some(404) => Ok(Err("no Autopilot device has this id".to_owned())),
                    _ => Err(e),
                })
        }
        (None, None) => Ok(Err("give --serial or --device".to_owned())),
    };
    match found {
        Ok(Ok(device)) => Ok(device),
        Ok(Err(why)) => {
            report.detail = Some(why);
            Err(report)
        }
        Err(e) => {
            report.result = "failed";
            report.detail = Some(e.to_string());
            Err(report)
        }
    }
}
