//! The one device a `show` or `unassign` names, by serial number or id: finding it, and the
//! start of its report line.

use autopilot_resource_account::{AutopilotDevice, DeviceId, GraphClient};

use crate::args::DeviceArgs;
use crate::output::RowReport;

/// The report line for `device`, named as `args` named it.
pub(crate) fn base(args: &DeviceArgs, device: &AutopilotDevice) -> RowReport {
    RowReport {
        serial_number: args.serial.clone().or_else(|| device.serial_number.clone()),
        device_id: device.id.clone().or_else(|| args.device.clone()),
        ..RowReport::default()
    }
}

/// The one device `args` names, or the line to print instead.
pub(crate) async fn resolve(
    client: &GraphClient,
    args: &DeviceArgs,
) -> Result<AutopilotDevice, RowReport> {
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
            // Checked where read: a refused id fails as the read would have.
            let read = match id.parse::<DeviceId>() {
                Ok(id) => client.autopilot_device(&id).await,
                Err(e) => Err(e),
            };
            read.map(Ok).or_else(|e| match e.status() {
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
