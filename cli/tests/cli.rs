//! `autopilot-ra` as an admin runs it: the real binary against the library's loopback stand-in,
//! started in this test process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use autopilot_resource_account::stand_in::{Reply, StandIn};

const BIN: &str = env!("CARGO_BIN_EXE_autopilot-ra");

/// Runs the binary with `args`, no inherited token or proxy, and `env` set.
async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
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

/// `apply`/`plan` against `graph` with a token, plus `args`.
async fn against(graph: &StandIn, command: &str, args: &[&str]) -> Output {
    let base = graph.base_url();
    let mut all = vec![command, "--base-url", &base, "--token", "t0ken"];
    all.extend_from_slice(args);
    run(&all, &[]).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn both(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autopilot-ra-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_csv(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("rooms.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn rooms(ids: impl IntoIterator<Item = usize>) -> String {
    let mut text =
        String::from("device_id,user_principal_name,addressable_user_name,resource_account_name\n");
    for i in ids {
        text.push_str(&format!("dev-{i},room-{i}@contoso.com,Room {i},room-{i}\n"));
    }
    text
}

fn journal_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sent_to(graph: &StandIn) -> Vec<String> {
    let mut devices: Vec<String> = graph
        .requests()
        .into_iter()
        .filter_map(|r| r.device_id)
        .collect();
    devices.sort();
    devices
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_offline_without_credentials() {
    let out = run(&["demo"], &[]).await;
    assert!(out.status.success(), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("loopback stand-in"), "{stdout}");
    assert!(stdout.contains("← 204: assignment accepted"), "{stdout}");
    assert!(stdout.contains("← Graph answered 403"), "{stdout}");
    assert!(
        stdout.contains("authorization: Bearer <redacted>"),
        "{stdout}"
    );
    assert!(!stdout.contains("demo-token"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_are_reported_with_their_line_and_never_sent() {
    let graph = StandIn::start().await.unwrap();
    let dir = temp_dir("bad");
    let csv = write_csv(
        &dir,
        "device_id,user_principal_name,addressable_user_name,resource_account_name\n\
         dev-1,room-1@contoso.com,Room 1,room-1\n\
         dev-2,room-2@contoso.com,Room 2\n\
         ,room-3@contoso.com,Room 3,room-3\n\
         dev-4,room-4@contoso.com,Room 4,room-4\n\
         dev-1,again@contoso.com,Again,again\n\
         dev-6,,Room 6,room-6\n\
         \"dev-\u{1b}[2J7\",room-7@contoso.com,Room 7,room-7\n",
    );
    let out = against(&graph, "apply", &["--csv", csv.to_str().unwrap()]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    for expected in [
        "line 3: 3 fields; the header has 4; skipped",
        "line 4: has neither a serial_number nor a device_id; skipped",
        "line 6: the same device as line 2; skipped",
        "line 7: empty user_principal_name; skipped",
        "line 8: device_id contains a control character; skipped",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'));
    assert!(
        stdout.contains("line 2: device dev-1: assigned"),
        "{stdout}"
    );
    assert!(stdout.contains("bad rows: 5"), "{stdout}");
    assert_eq!(sent_to(&graph), ["dev-1", "dev-4"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_cannot_be_used_exits_2_and_sends_nothing() {
    let graph = StandIn::start().await.unwrap();
    let dir = temp_dir("usage");
    let good = write_csv(&dir, &rooms([1]));
    let unknown = dir.join("unknown.csv");
    std::fs::write(&unknown, "device,user_principal_name\ndev-1,a@b.c\n").unwrap();
    let base = graph.base_url();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "apply",
                "--base-url",
                &base,
                "--token",
                "t",
                "--csv",
                unknown.to_str().unwrap(),
            ],
            "unknown column \"device\"",
        ),
        (
            vec![
                "apply",
                "--base-url",
                &base,
                "--token",
                "t",
                "--csv",
                "/nonexistent/rooms.csv",
            ],
            "cannot read",
        ),
        (
            vec![
                "apply",
                "--base-url",
                &base,
                "--csv",
                good.to_str().unwrap(),
            ],
            "no token",
        ),
        (
            vec![
                "plan",
                "--base-url",
                "http://192.0.2.1/beta",
                "--token",
                "t",
                "--csv",
                good.to_str().unwrap(),
            ],
            "must use https",
        ),
        (
            vec![
                "apply",
                "--token",
                "t",
                "--csv",
                good.to_str().unwrap(),
                "--dry-run",
            ],
            "--dry-run",
        ),
        (
            vec![
                "apply",
                "--token",
                "t",
                "--csv",
                good.to_str().unwrap(),
                "--concurrency",
                "0",
            ],
            "concurrency",
        ),
    ];
    for (args, why) in cases {
        let out = run(&args, &[]).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}\n{}", both(&out));
        assert!(text(&out.stderr).contains(why), "{args:?}\n{}", both(&out));
    }
    assert!(graph.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_skips_what_this_endpoint_recorded_and_survives_a_torn_line() {
    let graph = StandIn::start().await.unwrap();
    let dir = temp_dir("resume");
    let csv = write_csv(&dir, &rooms(1..=6));
    let csv_arg = csv.to_str().unwrap();
    let journal = dir.join("rooms.csv.journal.jsonl");

    // First run: dev-3 is refused (403, not retried), the others are assigned.
    graph.script(
        "dev-3",
        [Reply::status(403).odata("Forbidden", "Insufficient privileges")],
    );
    let out = against(&graph, "apply", &["--csv", csv_arg]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        text(&out.stdout).contains("line 4: device dev-3: failed: Graph answered 403"),
        "{}",
        both(&out)
    );
    let entries = journal_lines(&journal);
    assert_eq!(entries.len(), 6);
    assert!(
        entries
            .iter()
            .all(|e| e["endpoint"] == graph.base_url().as_str())
    );
    let failed: Vec<_> = entries
        .iter()
        .filter(|e| e["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (
            failed[0]["device_id"].as_str(),
            failed[0]["status"].as_u64()
        ),
        (Some("dev-3"), Some(403))
    );

    // A crash mid-write: the journal keeps dev-1, dev-2 and dev-3's failure, then a line torn
    // inside a multi-byte character.
    let kept: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter(|l| {
            ["\"dev-1\"", "\"dev-2\"", "\"dev-3\""]
                .iter()
                .any(|d| l.contains(d))
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(kept.len(), 3);
    let mut bytes = (kept.join("\n") + "\n{\"v\":1,\"detail\":\"Salle ").into_bytes();
    bytes.extend_from_slice(&"é".as_bytes()[..1]);
    std::fs::write(&journal, bytes).unwrap();

    let before = graph.requests().len();
    let out = against(&graph, "apply", &["--csv", csv_arg, "--resume"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let again: Vec<String> = graph.requests()[before..]
        .iter()
        .filter_map(|r| r.device_id.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        again,
        ["dev-3", "dev-4", "dev-5", "dev-6"],
        "{}",
        both(&out)
    );
    assert!(
        text(&out.stdout).contains("already done: 2"),
        "{}",
        both(&out)
    );
    // The torn tail was cut: every line parses.
    assert_eq!(journal_lines(&journal).len(), 3 + 4);

    // Everything done: nothing is sent.
    let before = graph.requests().len();
    let out = against(&graph, "apply", &["--csv", csv_arg, "--resume"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(graph.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_journal_from_another_endpoint_is_refused() {
    let first = StandIn::start().await.unwrap();
    let second = StandIn::start().await.unwrap();
    let dir = temp_dir("endpoint");
    let csv = write_csv(&dir, &rooms(1..=2));
    let csv_arg = csv.to_str().unwrap();
    let out = against(&first, "apply", &["--csv", csv_arg]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));

    // The same journal, another endpoint: refused in one line, with or without --resume.
    for resume in [true, false] {
        let mut args = vec!["--csv", csv_arg];
        if resume {
            args.push("--resume");
        }
        let out = against(&second, "apply", &args).await;
        assert_eq!(out.status.code(), Some(2), "{}", both(&out));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("records a run against {}", first.base_url())),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert!(second.requests().is_empty());

    // A journal of the old example (every device "succeeded", bound to nothing) is not trusted.
    let journal = dir.join("rooms.csv.journal.jsonl");
    std::fs::write(
        &journal,
        "{\"device_id\":\"dev-1\",\"line\":2,\"outcome\":\"succeeded\",\"at\":1}\n",
    )
    .unwrap();
    let out = against(&second, "apply", &["--csv", csv_arg, "--resume"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(second.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_is_one_object_per_line() {
    let graph = StandIn::start().await.unwrap();
    let dir = temp_dir("json");
    let csv = write_csv(&dir, &(rooms(1..=3) + ",x@y.z,,\n"));
    let out = against(
        &graph,
        "apply",
        &["--csv", csv.to_str().unwrap(), "--output", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["result"] == "bad-row" && l["line"] == 5)
    );
    assert_eq!(
        lines.iter().filter(|l| l["result"] == "assigned").count(),
        3
    );
    let summary = lines.last().unwrap();
    assert_eq!(
        (summary["assigned"].as_u64(), summary["bad_rows"].as_u64()),
        (Some(3), Some(1))
    );
    assert!(out.stderr.is_empty(), "{}", both(&out));
}
