//! Assign a Teams Rooms resource account to an Autopilot device as an app (client credentials).
//!
//! ```text
//! AZURE_TENANT_ID=… AZURE_CLIENT_ID=… AZURE_CLIENT_SECRET=… \
//!   cargo run --example client_credentials --features azure-identity -- <device-id> <upn> [display-name]
//! ```
//!
//! The device id and UPN may also come from `AUTOPILOT_DEVICE_ID` and `RESOURCE_ACCOUNT_UPN`;
//! `GRAPH_CLOUD` picks the cloud (`global` (default), `usgov-l4`, `usgov-l5-dod`, `china`).
//! The app registration needs the `DeviceManagementServiceConfig.ReadWrite.All` application
//! permission, with admin consent.

use std::process::ExitCode;

use autopilot_resource_account::azure_identity::{AzureCredential, client_options};
use autopilot_resource_account::{Cloud, DeviceId, Error, GraphClient, ResourceAccountAssignment};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};

const USAGE: &str = "usage: client_credentials <device-id> <user-principal-name> [display-name] \
                     (or AUTOPILOT_DEVICE_ID / RESOURCE_ACCOUNT_UPN), with AZURE_TENANT_ID, \
                     AZURE_CLIENT_ID and AZURE_CLIENT_SECRET set";

struct Config {
    tenant_id: String,
    client_id: String,
    client_secret: String,
    cloud: Cloud,
    device_id: String,
    upn: String,
    display_name: Option<String>,
}

fn config() -> Result<Config, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut args = std::env::args().skip(1);
    let device_id = args.next().or_else(|| var("AUTOPILOT_DEVICE_ID"));
    let upn = args.next().or_else(|| var("RESOURCE_ACCOUNT_UPN"));
    let display_name = args.next();

    let mut missing = Vec::new();
    let mut need = |name: &'static str, value: Option<String>| {
        if value.is_none() {
            missing.push(name);
        }
        value.unwrap_or_default()
    };
    let config = Config {
        tenant_id: need("AZURE_TENANT_ID", var("AZURE_TENANT_ID")),
        client_id: need("AZURE_CLIENT_ID", var("AZURE_CLIENT_ID")),
        client_secret: need("AZURE_CLIENT_SECRET", var("AZURE_CLIENT_SECRET")),
        device_id: need("device id", device_id),
        upn: need("user principal name", upn),
        display_name,
        cloud: Cloud::Global,
    };
    if !missing.is_empty() {
        return Err(format!("missing {}; {USAGE}", missing.join(", ")));
    }
    let cloud = match var("GRAPH_CLOUD")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("global") => Cloud::Global,
        Some("usgov-l4") => Cloud::UsGovL4,
        Some("usgov-l5-dod") => Cloud::UsGovL5Dod,
        Some("china") => Cloud::China,
        Some(other) => {
            return Err(format!(
                "GRAPH_CLOUD={other:?} is not one of global, usgov-l4, usgov-l5-dod, china"
            ));
        }
    };
    Ok(Config { cloud, ..config })
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("client_credentials: {message}");
            return ExitCode::from(2);
        }
    };
    match run(config).await {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("client_credentials: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<String, String> {
    // The credential asks the authority host of the same cloud as the Graph endpoint.
    let credential = ClientSecretCredential::new(
        &config.tenant_id,
        config.client_id,
        config.client_secret.into(),
        Some(ClientSecretCredentialOptions {
            client_options: client_options(config.cloud),
        }),
    )
    .map_err(|e| {
        format!(
            "cannot create the credential: {}",
            e.to_string().lines().next().unwrap_or("")
        )
    })?;

    let client = GraphClient::builder()
        .cloud(config.cloud)
        .token_provider(AzureCredential::new(credential))
        .build()
        .map_err(|e| e.to_string())?;

    let name = config
        .upn
        .split('@')
        .next()
        .unwrap_or(&config.upn)
        .to_owned();
    let assignment = ResourceAccountAssignment::new()
        .with_user_principal_name(config.upn.clone())
        .with_addressable_user_name(config.display_name.unwrap_or_else(|| name.clone()))
        .with_resource_account_name(name);
    let device_id: DeviceId = config.device_id.parse().map_err(|e: Error| e.to_string())?;
    client
        .assign_resource_account_to_device(&device_id, &assignment)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "assigned {} to Autopilot device {} ({:?})",
        config.upn, config.device_id, config.cloud
    ))
}
