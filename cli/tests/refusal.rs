//! Graph refusing the caller: a 401 stops the run after the first request with one message; a
//! 403 names the permission; every JSON-output failure is one parseable line.

mod support;

use autopilot_resource_account_stand_in::{Reply, StandIn};
use support::*;

fn expired_token() -> String {
    jwt(&serde_json::json!({
        "aud": "https://management.azure.com",
        "scp": "User.Read",
        "exp": 1_700_000_000,
        "tid": "00000000-0000-0000-0000-00000000000a",
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_stops_plan_after_the_first_request() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=6);
    graph.script_any((0..50).map(|_| {
        Reply::status(401).odata("InvalidAuthenticationToken", "Lifetime validation failed")
    }));
    let dir = temp_dir("refused-plan");
    let csv = write_csv(&dir, &rooms(1..=6));
    let token = expired_token();
    let out = against(&graph, &token, "plan", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(graph.requests().len(), 1, "{}", both(&out));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for expected in [
        "Graph refused the token (401",
        "audience (aud) https://management.azure.com",
        "scopes (scp) User.Read",
        "expired at 2023-11-14 22:13:20 UTC",
        "DeviceManagementServiceConfig.ReadWrite.All",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert_eq!(stdout.matches(": not-attempted").count(), 6, "{stdout}");
    let payload = token.split('.').nth(1).unwrap();
    assert!(!stdout.contains(payload) && !stderr.contains(payload));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_write_stops_apply_and_resume_picks_the_rows_up() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=3);
    // The plan's read of dev-1 succeeds; its write is refused.
    graph.script(
        "dev-1",
        [
            Reply::status(200).json(&device_json("dev-1", "SN-1")),
            Reply::status(401).odata("InvalidAuthenticationToken", "expired"),
        ],
    );
    let dir = temp_dir("refused-apply");
    let csv = write_csv(&dir, &rooms(1..=3));
    let csv = csv.to_str().unwrap();
    let out = against(
        &graph,
        "t0ken",
        "apply",
        &["--csv", csv, "--concurrency", "1", "--output", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(
        writes_to(&graph),
        ["dev-1"],
        "nothing written after the 401"
    );
    let lines = json_lines(&out);
    let refused: Vec<_> = lines
        .iter()
        .filter(|l| l["result"] == "not-attempted")
        .collect();
    assert_eq!(refused.len(), 3, "{lines:?}");
    assert!(refused.iter().all(|l| l["phase"] == "apply"));
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "token", "{last}");
    assert!(last["error"].as_str().unwrap().contains("not a JWT"));
    assert!(out.stderr.is_empty(), "{}", both(&out));
    assert!(!text(&out.stdout).contains("t0ken"));
    // Nothing was journalled as done: --resume writes all three.
    let out = against(&graph, "t0ken", "apply", &["--csv", csv, "--resume"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let mut writes = writes_to(&graph);
    writes.sort();
    assert_eq!(writes, ["dev-1", "dev-1", "dev-2", "dev-3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_names_the_permission_the_call_needs() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=2);
    graph.script(
        "dev-1",
        [Reply::status(403).odata("Forbidden", "Application is not authorized")],
    );
    graph.script(
        "dev-2",
        [
            Reply::status(200).json(&device_json("dev-2", "SN-2")),
            Reply::status(403).odata("Forbidden", "Application is not authorized"),
        ],
    );
    let dir = temp_dir("forbidden");
    let csv = write_csv(&dir, &rooms(1..=2));
    let out = against(&graph, "t0ken", "apply", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    let read = stdout.lines().find(|l| l.starts_with("line 2:")).unwrap();
    assert!(read.contains("blocked: cannot read the device"), "{read}");
    assert!(
        read.contains("DeviceManagementServiceConfig.Read.All"),
        "{read}"
    );
    let write = stdout.lines().find(|l| l.starts_with("line 3:")).unwrap();
    assert!(write.contains("failed: Graph answered 403"), "{write}");
    assert!(
        write.contains("needs the Graph permission DeviceManagementServiceConfig.ReadWrite.All"),
        "{write}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_with_json_output_are_one_json_line() {
    for args in [
        vec!["plan", "--output", "json"],
        vec!["--output=json", "apply", "--csv", "x.csv", "--bogus"],
        vec!["--output", "json", "frobnicate"],
        vec!["--output", "json"],
        vec![
            "--output",
            "json",
            "apply",
            "--csv",
            "x.csv",
            "--verify-timeout",
            "x",
        ],
    ] {
        let out = run(&args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", both(&out));
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: {}", both(&out));
        assert_eq!(lines[0]["kind"], "usage");
        assert!(!lines[0]["error"].as_str().unwrap().is_empty());
        assert!(out.stderr.is_empty(), "{args:?}: {}", both(&out));
    }
    // Text output keeps clap's own message.
    let out = run(&["plan"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--csv <FILE>"), "{}", both(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_json_failure_parses_line_by_line() {
    let graph = StandIn::start().await.unwrap();
    let dir = temp_dir("json-failures");
    let csv = write_csv(&dir, &rooms(1..=1));
    let missing = dir.join("missing.csv");
    let base = graph.base_url();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["plan", "--csv", csv.to_str().unwrap()], 2, "usage"),
        (
            vec![
                "plan",
                "--token",
                "t",
                "--base-url",
                &base,
                "--csv",
                missing.to_str().unwrap(),
            ],
            2,
            "usage",
        ),
        (
            vec![
                "plan",
                "--token",
                "t",
                "--base-url",
                "http://example.com",
                "--csv",
                csv.to_str().unwrap(),
            ],
            2,
            "usage",
        ),
    ];
    for (mut args, code, kind) in cases {
        args.extend(["--output", "json"]);
        let out = run(&args).await;
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", both(&out));
        let lines = json_lines(&out);
        assert_eq!(
            lines.last().unwrap()["kind"],
            kind,
            "{args:?}: {}",
            both(&out)
        );
        assert!(out.stderr.is_empty(), "{args:?}: {}", both(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_and_help() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(&["completions", shell]).await;
        assert!(out.status.success(), "{shell}: {}", both(&out));
        let script = text(&out.stdout);
        assert!(
            script.contains("autopilot-ra") && script.contains("apply"),
            "{shell}"
        );
    }
    for (command, permission) in [
        ("plan", "DeviceManagementServiceConfig.Read.All"),
        ("apply", "DeviceManagementServiceConfig.ReadWrite.All"),
        ("unassign", "DeviceManagementServiceConfig.ReadWrite.All"),
    ] {
        let out = run(&[command, "--help"]).await;
        assert!(out.status.success());
        let help = text(&out.stdout);
        assert!(
            help.contains("Examples:") && help.contains(permission),
            "{help}"
        );
        assert!(help.matches("  autopilot-ra ").count() >= 2, "{help}");
    }
}
