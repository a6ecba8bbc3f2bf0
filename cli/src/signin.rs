//! `--auth device-code`: the admin signs in on any browser with a short code; the tool prints
//! the code and URL (stderr, or one JSON line on stdout with `--output json`) and waits. The
//! library refreshes the token during the run; nothing is cached between runs.

use std::io::Write as _;

use autopilot_resource_account::device_code::{DeviceCodeBuilder, DeviceCodeCredential};
use autopilot_resource_account::{Cloud, DeviceCodePrompt, TokenProvider};
use serde_json::json;

use crate::args::Global;
use crate::characters::escape;
use crate::exit::ConnectError;
use crate::output::Output;
use crate::token::tenant_of;

/// Signs in with the global flags; returns the credential and the tenant (`tid`) of its token.
pub async fn device_code(
    global: &Global,
    cloud: Cloud,
) -> Result<(DeviceCodeCredential, Option<String>), ConnectError> {
    let missing = |what: &str| ConnectError::Usage(format!("--auth device-code needs {what}"));
    let client_id = global.client_id.as_deref().ok_or_else(|| {
        missing(
            "--client-id or AZURE_CLIENT_ID (your public-client app registration: see the README)",
        )
    })?;
    let tenant = global
        .tenant_id
        .as_deref()
        .ok_or_else(|| missing("--tenant-id or AZURE_TENANT_ID (tenant id or domain)"))?;
    let mut builder = DeviceCodeCredential::builder(client_id, tenant).cloud(cloud);
    if let Some(authority) = &global.authority {
        builder = builder.authority(authority);
    }
    let out = Output {
        format: global.output,
    };
    sign_in(builder, cloud, out).await
}

/// Runs the sign-in of `builder`, printing its prompt to `out`.
pub async fn sign_in(
    builder: DeviceCodeBuilder,
    cloud: Cloud,
    out: Output,
) -> Result<(DeviceCodeCredential, Option<String>), ConnectError> {
    builder
        .check()
        .map_err(|e| ConnectError::Usage(e.to_string()))?;
    let failed = |e: autopilot_resource_account::TokenError| {
        ConnectError::SignIn(format!("cannot sign in: {e}"))
    };
    let credential = builder.sign_in(|p| prompt(out, p)).await.map_err(failed)?;
    let token = credential.token(&[cloud.scope()]).await.map_err(failed)?;
    Ok((credential, tenant_of(token.secret())))
}

/// What the admin must do. Text goes to stderr so that stdout stays the rows; JSON is one line
/// on stdout like every other record.
fn prompt(out: Output, prompt: &DeviceCodePrompt) {
    if out.json() {
        let line = json!({
            "sign_in": "device-code",
            "verification_uri": prompt.verification_uri,
            "user_code": prompt.user_code,
            "expires_in": prompt.expires_in.as_secs(),
            "message": prompt.message,
        });
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, &line);
        let _ = stdout.write_all(b"\n");
        let _ = stdout.flush();
        return;
    }
    let minutes = prompt.expires_in.as_secs().div_ceil(60);
    tell!(
        "To sign in, open {} and enter the code {} (valid for {minutes} min). Waiting…",
        escape(&prompt.verification_uri),
        escape(&prompt.user_code)
    );
}
