//! Helpers shared by the newer CLI test files: the binary run against the loopback stand-in.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use autopilot_resource_account_stand_in::{Device, StandIn, StandInUser};
use base64::Engine as _;

pub const BIN: &str = env!("CARGO_BIN_EXE_autopilot-ra");

/// Runs the binary with `args`, no inherited token, proxy or Azure variables.
pub async fn run(args: &[&str]) -> Output {
    run_with_env(args, &[]).await
}

/// [`run`] with `env` set on top of the cleaned environment.
pub async fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args);
    for name in [
        "GRAPH_TOKEN",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// `command` against `graph` with `token`, plus `args`.
pub async fn against(graph: &StandIn, token: &str, command: &str, args: &[&str]) -> Output {
    let base = graph.base_url();
    let mut all = vec![command, "--base-url", &base, "--token", token];
    if command == "apply" {
        all.extend(["--verify-timeout", "5"]);
    }
    all.extend_from_slice(args);
    run(&all).await
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn both(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// Every stdout line parsed as JSON (panics, naming the line, on one that is not).
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autopilot-ra-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `rooms.csv` in `dir`: one row per device `dev-{i}`.
pub fn rooms_csv(dir: &Path, ids: impl IntoIterator<Item = usize>) -> PathBuf {
    let mut text =
        String::from("device_id,user_principal_name,addressable_user_name,resource_account_name\n");
    for i in ids {
        text.push_str(&format!("dev-{i},room-{i}@contoso.com,Room {i},room-{i}\n"));
    }
    write_csv(dir, &text)
}

pub fn write_csv(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("rooms.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// A CSV file with rows `dev-{i}` → `room-{i}@contoso.com`.
pub fn rooms(ids: impl IntoIterator<Item = usize>) -> String {
    let mut text =
        String::from("device_id,user_principal_name,addressable_user_name,resource_account_name\n");
    for i in ids {
        text.push_str(&format!("dev-{i},room-{i}@contoso.com,Room {i},room-{i}\n"));
    }
    text
}

/// Devices `dev-{i}` with serial `SN-{i}`, ready for Teams Rooms, and their accounts
/// `room-{i}@contoso.com`, licensed for Teams Rooms Pro.
pub fn fleet(graph: &StandIn, ids: impl IntoIterator<Item = usize>) {
    let ids: Vec<usize> = ids.into_iter().collect();
    graph.add_devices(
        ids.iter()
            .map(|i| Device::new(format!("dev-{i}"), format!("SN-{i}")).group_tag("MTR-Rooms")),
    );
    for i in ids {
        graph.add_user(
            StandInUser::new(format!("room-{i}@contoso.com")).license("Microsoft_Teams_Rooms_Pro"),
        );
    }
}

/// Device ids that received an assignment, in arrival order.
pub fn writes_to(graph: &StandIn) -> Vec<String> {
    graph
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.target.ends_with("/assignResourceAccountToDevice"))
        .filter_map(|r| r.device_id)
        .collect()
}

/// A device as Graph returns it from a read, for a scripted reply.
pub fn device_json(id: &str, serial: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "serialNumber": serial,
        "groupTag": "MTR-Rooms",
        "deploymentProfileAssignmentStatus": "assignedInSync",
        "userlessEnrollmentStatus": "allowed",
    })
}

/// An unsigned JWT with these claims (the CLI only reads its payload).
pub fn jwt(claims: &serde_json::Value) -> String {
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        b.encode(claims.to_string())
    )
}
