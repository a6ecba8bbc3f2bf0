//! The `assign` example as a user runs it: CSV rows, bad rows, the journal and `--resume`.
//!
//! `cargo test` builds the examples before running tests; when only this test was built
//! (`cargo test --test cli`) and the example is missing or older than its source, the test
//! builds it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `target/<profile>/examples/assign`, next to this test's own `deps/` folder.
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join("assign");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/assign.rs");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if !path.exists() || modified(&path) < modified(&source) {
        let target_dir = profile_dir.parent().unwrap();
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "assign", "--features", "test-util"])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(example())
        .args(args)
        .env_remove("GRAPH_TOKEN")
        .env_remove("AUTOPILOT_DEVICE_ID")
        .env_remove("AUTOPILOT_PROFILE_ID")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arad-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn csv(dir: &Path, rows: &[&str]) -> PathBuf {
    let path = dir.join("devices.csv");
    let mut text =
        String::from("device id,user principal name,addressable user name,resource account name\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn journal_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn no_arguments_still_runs_the_loopback_demo() {
    let out = run(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("loopback stand-in"), "{stdout}");
    assert!(stdout.contains("← 204: assignment accepted"), "{stdout}");
    assert!(stdout.contains("Bearer <redacted>"), "{stdout}");
}

#[test]
fn bad_rows_are_reported_with_their_line_and_skipped() {
    let dir = temp_dir("bad");
    let path = csv(
        &dir,
        &[
            "dev-1,room-1@contoso.com,Room 1,room-1",
            "dev-2,room-2@contoso.com,Room 2",
            ",room-3@contoso.com,Room 3,room-3",
            "dev-4,room-4@contoso.com,Room 4,room-4",
            "dev-1,again@contoso.com,Again,again",
            "dev-6,,Room 6,room-6",
        ],
    );
    let out = run(&["--csv", path.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "bad rows make the run fail");
    assert!(stderr.contains("line 3: 3 fields; expected 4"), "{stderr}");
    assert!(stderr.contains("line 4: empty device id"), "{stderr}");
    assert!(
        stderr.contains("line 6: device dev-1 is already on line 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 7: empty user principal name"),
        "{stderr}"
    );
    assert!(
        stdout.contains("succeeded: 2, failed: 0, skipped: 4 (0 already done, 4 bad rows)"),
        "{stdout}"
    );
    let journal = journal_lines(&dir.join("devices.csv.journal.jsonl"));
    let mut devices: Vec<&str> = journal
        .iter()
        .map(|e| e["device_id"].as_str().unwrap())
        .collect();
    devices.sort();
    assert_eq!(devices, ["dev-1", "dev-4"]);
}

#[test]
fn resume_skips_what_the_journal_records_as_done() {
    let dir = temp_dir("resume");
    let rows: Vec<String> = (1..=6)
        .map(|i| format!("dev-{i},room-{i}@contoso.com,Room {i},room-{i}"))
        .collect();
    let path = csv(&dir, &rows.iter().map(String::as_str).collect::<Vec<_>>());
    let journal = dir.join("journal.jsonl");
    let (csv_arg, journal_arg) = (path.to_str().unwrap(), journal.to_str().unwrap());

    // First run: dev-3 is refused, the others succeed.
    let out = run(&[
        "--csv",
        csv_arg,
        "--journal",
        journal_arg,
        "--stand-in-forbid",
        "dev-3",
    ]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("succeeded: 5, failed: 1, skipped: 0"),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains("device dev-3: Graph answered 403 Forbidden"),
        "{}",
        text(&out.stderr)
    );
    let entries = journal_lines(&journal);
    assert_eq!(entries.len(), 6);
    let failed: Vec<_> = entries
        .iter()
        .filter(|e| e["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["device_id"], "dev-3");
    assert_eq!(failed[0]["status"], 403);
    assert_eq!(failed[0]["line"], 4);

    // Simulate a crash: keep the failure and two successes, then a torn line.
    let kept: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter(|l| l.contains("dev-3") || l.contains("\"dev-1\"") || l.contains("\"dev-2\""))
        .map(str::to_owned)
        .collect();
    assert_eq!(kept.len(), 3);
    std::fs::write(
        &journal,
        kept.join("\n") + "\n{\"device_id\":\"dev-4\",\"li",
    )
    .unwrap();

    // Resume: dev-1 and dev-2 are skipped; dev-3 (failed) is tried again, now accepted.
    let out = run(&["--csv", csv_arg, "--journal", journal_arg, "--resume"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("succeeded: 4, failed: 0, skipped: 2 (2 already done, 0 bad rows)"),
        "{stdout}"
    );
    let entries = journal_lines(&journal);
    let mut done: Vec<&str> = entries
        .iter()
        .filter(|e| e["outcome"] == "succeeded")
        .map(|e| e["device_id"].as_str().unwrap())
        .collect();
    done.sort();
    assert_eq!(done, ["dev-1", "dev-2", "dev-3", "dev-4", "dev-5", "dev-6"]);

    // Everything done: a third run sends nothing.
    let out = run(&["--csv", csv_arg, "--journal", journal_arg, "--resume"]);
    assert!(
        text(&out.stdout).contains("succeeded: 0, failed: 0, skipped: 6 (6 already done"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn dry_run_prints_the_requests_and_writes_no_journal() {
    let dir = temp_dir("dry");
    let path = csv(
        &dir,
        &[
            "dev-1,room-1@contoso.com,Room 1,room-1",
            "dev_2,room-2@contoso.com,Room 2,room-2",
        ],
    );
    let out = run(&[
        "--csv",
        path.to_str().unwrap(),
        "--dry-run",
        "--token",
        "s3cret",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains(
        "POST https://graph.microsoft.com/beta/deviceManagement/windowsAutopilotDeviceIdentities/dev-1/assignResourceAccountToDevice"
    ), "{stdout}");
    assert!(
        stdout.contains("windowsAutopilotDeviceIdentities/dev_2/assign"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#""userPrincipalName":"room-2@contoso.com""#),
        "{stdout}"
    );
    assert!(
        stdout.contains("authorization: Bearer <redacted>"),
        "{stdout}"
    );
    assert!(!stdout.contains("s3cret") && !text(&out.stderr).contains("s3cret"));
    assert!(!dir.join("devices.csv.journal.jsonl").exists());
}
