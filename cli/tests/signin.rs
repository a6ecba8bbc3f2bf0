//! `autopilot-ra --auth device-code` against the stand-in's identity endpoint, in a real
//! process: the code is printed (stderr, or a JSON line), the run completes with the token the
//! sign-in got (the stand-in's Graph takes no other), and bad sign-in flags exit 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use autopilot_resource_account_stand_in::{Device, SignIn, StandIn, StandInUser};

const BIN: &str = env!("CARGO_BIN_EXE_autopilot-ra");
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";

async fn run(args: Vec<String>) -> Output {
    let mut command = Command::new(BIN);
    command.args(args);
    for name in [
        "GRAPH_TOKEN",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
    ] {
        command.env_remove(name);
    }
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(name);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A stand-in with two devices that takes only its own tokens, signing in at once (1 s poll).
async fn stand_in(script: SignIn) -> (StandIn, PathBuf) {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices(
        (1..=2).map(|i| Device::new(format!("dev-{i}"), format!("SN-{i}")).group_tag("MTR-Rooms")),
    );
    // The account check reads the rows' accounts: licensed, so the rows go ahead.
    for i in 1..=2 {
        graph.add_user(
            StandInUser::new(format!("room-{i}@contoso.com")).license("Microsoft_Teams_Rooms_Pro"),
        );
    }
    graph.script_sign_in(script.interval(Duration::from_secs(1)));
    graph.require_issued_tokens(true);
    let dir = std::env::temp_dir().join(format!(
        "autopilot-ra-signin-{}-{}",
        std::process::id(),
        graph.addr().port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("rooms.csv");
    std::fs::write(
        &csv,
        "device_id,user_principal_name,addressable_user_name,resource_account_name\n\
         dev-1,room-1@contoso.com,Room 1,room-1\n\
         dev-2,room-2@contoso.com,Room 2,room-2\n",
    )
    .unwrap();
    (graph, csv)
}

fn plan_args(graph: &StandIn, csv: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--auth",
        "device-code",
        "--authority",
        &graph.authority_url(),
        "--client-id",
        CLIENT,
        "--tenant-id",
        "contoso.onmicrosoft.com",
        "--base-url",
        &graph.base_url(),
    ]
    .map(String::from)
    .into();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend([
        "plan".into(),
        "--csv".into(),
        csv.to_string_lossy().into_owned(),
    ]);
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_signs_in_with_a_device_code_printed_on_stderr() {
    let (graph, csv) = stand_in(SignIn::approve()).await;
    let out = run(plan_args(&graph, &csv, &[])).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("enter the code STANDIN1"), "{stderr}");
    assert!(stderr.contains("/identity/devicelogin"), "{stderr}");
    assert!(
        stdout.contains("line 2: device dev-1, account room-1@contoso.com: assign"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 3: device dev-2, account room-2@contoso.com: assign"),
        "{stdout}"
    );
    let counters = graph.identity_counters();
    assert_eq!(
        (counters.sign_ins, counters.refused_graph_calls),
        (1, 0),
        "{counters:?}"
    );
    assert!(
        !stdout.contains("STANDIN1"),
        "text rows stay alone on stdout: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_output_json_the_code_is_a_json_line() {
    let (graph, csv) = stand_in(SignIn::approve()).await;
    let out = run(plan_args(&graph, &csv, &["--output", "json"])).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["sign_in"], "device-code");
    assert_eq!(first["user_code"], "STANDIN1");
    assert!(
        first["verification_uri"]
            .as_str()
            .unwrap()
            .ends_with("/identity/devicelogin")
    );
    assert_eq!(first["expires_in"], 900);
    for line in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_sign_in_exits_1_with_one_line() {
    let (graph, csv) = stand_in(SignIn::deny()).await;
    let out = run(plan_args(&graph, &csv, &[])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("autopilot-ra: cannot sign in: the sign-in was declined"),
        "{stderr}"
    );
    assert!(graph.requests().is_empty(), "nothing was sent to Graph");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_sign_in_flags_exit_2_before_anything_is_sent() {
    let (graph, csv) = stand_in(SignIn::approve()).await;
    let url = graph.authority_url();
    let mut no_client = plan_args(&graph, &csv, &[]);
    let at = no_client.iter().position(|a| a == "--client-id").unwrap();
    no_client.drain(at..at + 2);
    let mut remote = plan_args(&graph, &csv, &[]);
    let at = remote.iter().position(|a| *a == url).unwrap();
    remote[at] = "http://login.example/identity".into();
    let mut no_auth = plan_args(&graph, &csv, &[]);
    no_auth.drain(0..2);
    for (args, why) in [
        (no_client, "--auth device-code needs --client-id"),
        (remote, "must use https"),
        (no_auth, "--authority is for --auth device-code"),
    ] {
        let out = run(args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{why}: {stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
    }
    assert_eq!(graph.identity_counters().device_codes, 0);
    assert!(graph.requests().is_empty());
}
