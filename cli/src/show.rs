//! `show`: one device, named by serial number or id, with every field Graph reports.

use crate::args::{DeviceArgs, Global};
use crate::connect;
use crate::device::{base, resolve};
use crate::exit::{Failure, Status};
use crate::output::Output;

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
            say!("  {name}: {}", crate::characters::escape(&value));
        }
    }
    Ok(Status::AllDone)
}
