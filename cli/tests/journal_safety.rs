//! `apply` never harms a file that is not its journal: the CSV file given as `--journal`, a
//! symbolic link at the journal's path (dangling or not), an oversized file. Each is refused
//! with exit 2 and one line, before anything is sent, and left byte for byte as it was.

#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use autopilot_resource_account_stand_in::{Device, StandIn, StandInUser};
use support::{both, rooms_csv, run_with_env as run, temp_dir, text};

/// `apply --csv <csv>` against a new stand-in with `dev-1`, plus `extra`.
async fn apply(csv: &Path, extra: &[&str]) -> (std::process::Output, StandIn) {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new("dev-1", "SN-1").group_tag("MTR-Rooms")]);
    // The account check reads the row's account: licensed, so the row goes ahead.
    graph.add_user(StandInUser::new("room-1@contoso.com").license("Microsoft_Teams_Rooms_Pro"));
    let out = apply_at(&graph, csv, extra).await;
    (out, graph)
}

async fn apply_at(graph: &StandIn, csv: &Path, extra: &[&str]) -> std::process::Output {
    let base = graph.base_url();
    let mut args = vec![
        "apply",
        "--base-url",
        &base,
        "--token",
        "t0ken",
        "--verify-timeout",
        "5",
        "--csv",
        csv.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args, &[]).await
}

/// Exit 2, one line on stderr containing `why`, nothing sent.
fn refused(out: &std::process::Output, graph: &StandIn, why: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", both(out));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{}", both(out));
    assert!(stderr.contains(why), "{}", both(out));
    assert!(graph.requests().is_empty(), "{:?}", graph.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_csv_file_given_as_journal_is_left_unchanged() {
    let dir = temp_dir("journal-is-csv");
    let csv = rooms_csv(&dir, 1..=1);
    // Without its last newline: the last row used to be cut as a "torn" journal line.
    let mut bytes = std::fs::read(&csv).unwrap();
    bytes.pop();
    std::fs::write(&csv, &bytes).unwrap();
    for journal in [csv.clone(), dir.join("one-line.csv")] {
        if journal != csv {
            // A single line and no newline: all of it looks like a torn tail.
            std::fs::write(&journal, "device_id,user_principal_name").unwrap();
        }
        let before = std::fs::read(&journal).unwrap();
        let (out, graph) = apply(&csv, &["--journal", journal.to_str().unwrap()]).await;
        refused(
            &out,
            &graph,
            "is not a journal of this version of autopilot-ra",
        );
        assert!(
            text(&out.stderr).contains("left as it is"),
            "{}",
            both(&out)
        );
        assert_eq!(std::fs::read(&journal).unwrap(), before);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_symbolic_link_at_the_journal_path_is_refused() {
    let dir = temp_dir("journal-symlink");
    let csv = rooms_csv(&dir, 1..=1);
    let target = dir.join("precious.txt");
    std::fs::write(&target, "keep me\nand me, with no newline").unwrap();
    let before = std::fs::read(&target).unwrap();
    // At the default path, and given as --journal.
    let default = dir.join("rooms.csv.journal.jsonl");
    std::os::unix::fs::symlink(&target, &default).unwrap();
    for extra in [&[][..], &["--journal", default.to_str().unwrap()][..]] {
        let (out, graph) = apply(&csv, extra).await;
        refused(&out, &graph, "is a symbolic link");
        assert_eq!(std::fs::read(&target).unwrap(), before);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dangling_symbolic_link_creates_nothing() {
    let dir = temp_dir("journal-dangling");
    let csv = rooms_csv(&dir, 1..=1);
    let target = dir.join("created-through-the-link");
    let link = dir.join("journal.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (out, graph) = apply(&csv, &["--journal", link.to_str().unwrap()]).await;
    refused(&out, &graph, "is a symbolic link");
    assert!(!target.exists());
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_file_is_refused_unread_and_unchanged() {
    let dir = temp_dir("journal-oversized");
    let csv = rooms_csv(&dir, 1..=1);
    let big = dir.join("big.bin");
    // 600 MB, sparse: costs no disk. Reading it whole took 630 MB of memory, then it was cut to 0.
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(600_000_000).unwrap();
    drop(file);
    let (out, graph) = apply(&csv, &["--journal", big.to_str().unwrap()]).await;
    refused(&out, &graph, "larger than 64 MiB");
    assert_eq!(std::fs::metadata(&big).unwrap().len(), 600_000_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_journal_is_private_to_its_owner() {
    let dir = temp_dir("journal-mode");
    let csv = rooms_csv(&dir, 1..=1);
    let (out, graph) = apply(&csv, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let journal = dir.join("rooms.csv.journal.jsonl");
    let mode = std::fs::metadata(&journal).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // It was written, and it is read back on the next run.
    assert!(
        std::fs::read_to_string(&journal)
            .unwrap()
            .contains("\"verified\"")
    );
    let out = apply_at(&graph, &csv, &["--resume"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        text(&out.stdout).contains("already done: 1"),
        "{}",
        both(&out)
    );
}
