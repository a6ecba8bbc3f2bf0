//! Assign a Teams Rooms resource account to a Windows Autopilot device.
//!
//! With no token this runs against an in-process loopback stand-in of Graph and prints what
//! the endpoint received and answered. With a token (`--token` or `GRAPH_TOKEN`) and a device
//! id it calls the real Graph.
//!
//! ```text
//! cargo run --example assign
//! GRAPH_TOKEN=… cargo run --example assign -- --device <id> --upn room@contoso.com \
//!     --addressable-name "Room 101" --resource-account-name room-101
//! ```

use std::process::ExitCode;

use autopilot_resource_account::stand_in::{Reply, StandIn};
use autopilot_resource_account::{Cloud, GraphClient, ResourceAccountAssignment};
use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(about = "Assign a Teams Rooms resource account to a Windows Autopilot device")]
struct Args {
    /// Bearer token for Graph (needs DeviceManagementServiceConfig.ReadWrite.All). Without one,
    /// the example runs against a loopback stand-in.
    #[arg(long, env = "GRAPH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Autopilot device identity id.
    #[arg(
        long,
        env = "AUTOPILOT_DEVICE_ID",
        default_value = "7f9b6c1e-0000-4000-8000-000000000001"
    )]
    device: String,
    /// Deployment profile id: assign through the profile's assignedDevices instead.
    #[arg(long, env = "AUTOPILOT_PROFILE_ID")]
    profile: Option<String>,
    /// The resource account's user principal name.
    #[arg(long, default_value = "room-101@contoso.com")]
    upn: String,
    /// The name shown on the console.
    #[arg(long, default_value = "Room 101")]
    addressable_name: String,
    /// The resource account name.
    #[arg(long, default_value = "room-101")]
    resource_account_name: String,
    /// National cloud.
    #[arg(long, value_enum, default_value_t = CloudArg::Global)]
    cloud: CloudArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CloudArg {
    Global,
    UsGovL4,
    UsGovL5Dod,
    China,
}

impl From<CloudArg> for Cloud {
    fn from(c: CloudArg) -> Self {
        match c {
            CloudArg::Global => Cloud::Global,
            CloudArg::UsGovL4 => Cloud::UsGovL4,
            CloudArg::UsGovL5Dod => Cloud::UsGovL5Dod,
            CloudArg::China => Cloud::China,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let assignment = ResourceAccountAssignment {
        user_principal_name: Some(args.upn.clone()),
        addressable_user_name: Some(args.addressable_name.clone()),
        resource_account_name: Some(args.resource_account_name.clone()),
    };
    let result = match &args.token {
        Some(token) => real_graph(&args, token, &assignment).await,
        None => demo(&args, &assignment).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn real_graph(
    args: &Args,
    token: &str,
    assignment: &ResourceAccountAssignment,
) -> Result<(), String> {
    let client = GraphClient::builder()
        .cloud(args.cloud.into())
        .bearer_token(token)
        .build()
        .map_err(|e| e.to_string())?;
    send(&client, args, assignment)
        .await
        .map_err(|e| e.to_string())?;
    println!("assigned {} to device {}", args.upn, args.device);
    Ok(())
}

async fn send(
    client: &GraphClient,
    args: &Args,
    assignment: &ResourceAccountAssignment,
) -> Result<(), autopilot_resource_account::Error> {
    match &args.profile {
        Some(profile) => {
            client
                .assign_resource_account_to_deployment_profile_device(
                    profile,
                    &args.device,
                    assignment,
                )
                .await
        }
        None => {
            client
                .assign_resource_account_to_device(&args.device, assignment)
                .await
        }
    }
}

/// Runs the same call against a loopback stand-in, then shows a scripted Graph error too.
async fn demo(args: &Args, assignment: &ResourceAccountAssignment) -> Result<(), String> {
    let graph = StandIn::start()
        .await
        .map_err(|e| format!("cannot start the stand-in: {e}"))?;
    println!(
        "No token given: using a loopback stand-in of Microsoft Graph at {}",
        graph.base_url()
    );
    println!("(pass --token or set GRAPH_TOKEN to call the real Graph)\n");
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("demo-token")
        .build()
        .map_err(|e| e.to_string())?;

    let result = send(&client, args, assignment).await;
    show(&graph, result.as_ref().err());

    let refused = "device-without-intune-license";
    graph.script(
        refused,
        [Reply::status(403).odata(
            "Forbidden",
            "Insufficient privileges to complete the operation.",
        )],
    );
    let result = client
        .assign_resource_account_to_device(refused, assignment)
        .await;
    show(&graph, result.as_ref().err());
    Ok(())
}

fn show(graph: &StandIn, error: Option<&autopilot_resource_account::Error>) {
    let request = graph
        .requests()
        .pop()
        .expect("the stand-in saw the request");
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
    match (request.answered, error) {
        (Some(status), None) => println!("← {status}: assignment accepted\n"),
        (_, Some(error)) => println!("← {error}\n"),
        (None, None) => println!("← connection reset\n"),
    }
}
