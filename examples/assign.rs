//! Assign a Teams Rooms resource account to one Windows Autopilot device with the library.
//!
//! ```text
//! cargo run --example assign                       # loopback stand-in: no token, nothing leaves the machine
//! GRAPH_TOKEN=… cargo run --example assign -- <device-id> <upn> [<display name>]
//! ```
//!
//! Fleets from a CSV file (plan, apply, verify, resume) are the `autopilot-ra` tool's job:
//! `cargo run -p autopilot-resource-account-cli -- --help`.

use std::process::ExitCode;

use autopilot_resource_account::{DeviceId, GraphClient, ResourceAccountAssignment};
use autopilot_resource_account_stand_in::StandIn;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    // A checked id: a bad one is refused here, before any client or call.
    let device: DeviceId = args
        .next()
        .as_deref()
        .unwrap_or("7f9b6c1e-0000-4000-8000-000000000001")
        .parse()
        .map_err(|e: autopilot_resource_account::Error| e.to_string())?;
    let upn = args.next().unwrap_or_else(|| "room-101@contoso.com".into());
    let name = args.next().unwrap_or_else(|| "Room 101".into());
    let assignment = ResourceAccountAssignment::new()
        .with_resource_account_name(upn.split('@').next().unwrap_or_default().to_owned())
        .with_user_principal_name(upn)
        .with_addressable_user_name(name);

    // With a token: the real Graph. Without: a stand-in on 127.0.0.1 that records what it gets.
    let token = std::env::var("GRAPH_TOKEN").ok().filter(|t| !t.is_empty());
    let stand_in = match &token {
        Some(_) => None,
        None => Some(StandIn::start().await.map_err(|e| e.to_string())?),
    };
    let mut builder = GraphClient::builder()
        .bearer_token(token.clone().unwrap_or_else(|| "stand-in-token".into()));
    if let Some(graph) = &stand_in {
        println!(
            "No GRAPH_TOKEN: using a loopback stand-in of Graph at {}",
            graph.base_url()
        );
        builder = builder.base_url(&graph.base_url());
    }
    let client = builder.build().map_err(|e| e.to_string())?;

    // `send()` rather than `.await`: the answer's status and request-id come with the success.
    let result = client
        .assign_resource_account_to_device(&device, &assignment)
        .send()
        .await;

    if let Some(request) = stand_in.as_ref().and_then(|g| g.requests().pop()) {
        println!("→ {} {}", request.method, request.target);
        for (name, value) in &request.headers {
            let value = if name == "authorization" {
                "Bearer <redacted>"
            } else {
                value
            };
            println!("  {name}: {value}");
        }
        println!("  body: {}", String::from_utf8_lossy(&request.body));
    }
    match result {
        Ok(response) => {
            println!(
                "← {} accepted: the resource account is linked to device {device} (request-id {})",
                response.status(),
                response.request_id().unwrap_or("none")
            );
            Ok(())
        }
        // One line, never the token; status and request-id for a support case.
        Err(e) => Err(format!(
            "{e} (status {:?}, request-id {:?})",
            e.status(),
            e.request_id()
        )),
    }
}
