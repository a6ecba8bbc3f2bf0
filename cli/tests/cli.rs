//! `autopilot-ra` as an admin runs it: the real binary against the library's loopback stand-in,
//! started in this test process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod support;

use autopilot_resource_account_stand_in::{Device, Reply, StandIn, StandInUser};
use support::run_with_env as run;

const BIN: &str = env!("CARGO_BIN_EXE_autopilot-ra");

/// `apply`/`plan` against `graph` with a token, plus `args`.
async fn against(graph: &StandIn, command: &str, args: &[&str]) -> Output {
    let base = graph.base_url();
    let mut all = vec![
        command,
        "--base-url",
        &base,
        "--token",
        "t0ken",
        "--verify-timeout",
        "5",
    ];
    if !matches!(command, "apply" | "unassign") {
        all.truncate(5);
    }
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

/// Devices `dev-{i}` with serial `SN-{i}`, ready for Teams Rooms, and their accounts
/// `room-{i}@contoso.com`, licensed for Teams Rooms Pro.
fn fleet(graph: &StandIn, ids: impl IntoIterator<Item = usize>) {
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

fn writes_to(graph: &StandIn) -> Vec<String> {
    let mut devices: Vec<String> = graph
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.target.ends_with("/assignResourceAccountToDevice"))
        .filter_map(|r| r.device_id)
        .collect();
    devices.sort();
    devices
}

fn journal_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_offline_without_credentials() {
    let out = run(&["demo"], &[]).await;
    assert!(out.status.success(), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("loopback stand-in"), "{stdout}");
    for expected in [
        "line 2: serial PF3ABC101 (device 7f9b6c1e-0000-4000-8000-000000000101), account room-101@contoso.com: assign: Teams Rooms license Microsoft_Teams_Rooms_Pro\n",
        "line 4: serial PF3ABC103 (device 7f9b6c1e-0000-4000-8000-000000000103), account boardroom@contoso.com: already-assigned",
        "line 5: serial PF3ABC104 (device 7f9b6c1e-0000-4000-8000-000000000104), account huddle-5a@contoso.com: blocked: userless enrollment is blocked",
        "line 6: serial PF3ABC105 (device 7f9b6c1e-0000-4000-8000-000000000105), account lobby@contoso.com: blocked: deployment profile not assigned",
        "line 5: serial PF3ABC104 (device 7f9b6c1e-0000-4000-8000-000000000104), account huddle-5a@contoso.com: verified: warn: group tag \"Huddle\"",
        "verified: 3, already assigned: 1, unverified: 0, failed: 0, blocked: 5",
        "authorization: Bearer <redacted>",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
    assert!(!stdout.contains("demo-token"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_are_reported_with_their_line_and_never_sent() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=7);
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
        "line 8: device_id contains a control character (U+001B); skipped",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'));
    assert!(
        stdout.contains("line 2: device dev-1, account room-1@contoso.com: verified"),
        "{stdout}"
    );
    assert!(stdout.contains("bad rows: 5"), "{stdout}");
    assert_eq!(writes_to(&graph), ["dev-1", "dev-4"]);
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
async fn resume_skips_what_this_endpoint_verified_and_survives_a_torn_line() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, [1, 2, 4, 5, 6]); // dev-3 is not enrolled yet
    let dir = temp_dir("resume");
    let csv = write_csv(&dir, &rooms(1..=6));
    let csv_arg = csv.to_str().unwrap();
    let journal = dir.join("rooms.csv.journal.jsonl");

    let out = against(&graph, "apply", &["--csv", csv_arg]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("line 4: device dev-3, account room-3@contoso.com: blocked: no Autopilot device has this id"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 2: device dev-1, account room-1@contoso.com: verified"),
        "{stdout}"
    );
    let entries = journal_lines(&journal);
    assert!(
        entries
            .iter()
            .all(|e| e["endpoint"] == graph.base_url().as_str())
    );
    let outcomes = |device: &str| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e["device_id"] == device)
            .map(|e| e["outcome"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(outcomes("dev-1"), ["assigned", "verified"]);
    assert_eq!(outcomes("dev-3"), ["blocked"]);
    assert_eq!(entries.len(), 5 * 2 + 1);

    // A crash mid-write: the journal keeps dev-1, dev-2 and dev-3's lines, then a line torn
    // inside a multi-byte character. dev-3 has been enrolled since.
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
    assert_eq!(kept.len(), 5);
    let mut bytes = (kept.join("\n") + "\n{\"v\":1,\"detail\":\"Salle ").into_bytes();
    bytes.extend_from_slice(&"é".as_bytes()[..1]);
    std::fs::write(&journal, bytes).unwrap();
    fleet(&graph, [3]);

    // Resume: dev-1 and dev-2 are skipped unread; dev-3 is planned again and written; dev-4..6
    // were written but their verification is not in the journal: read again, already assigned.
    let before = graph.requests().len();
    let out = against(&graph, "apply", &["--csv", csv_arg, "--resume"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("line 5: device dev-4, account room-4@contoso.com: already-assigned"),
        "{stdout}"
    );
    assert!(stdout.contains("already done: 2"), "{stdout}");
    let requests = graph.requests()[before..].to_vec();
    let touched: std::collections::BTreeSet<String> = requests
        .iter()
        .filter(|r| r.target.contains("/deviceManagement/"))
        .filter_map(|r| r.device_id.clone())
        .collect();
    assert_eq!(
        touched.into_iter().collect::<Vec<_>>(),
        ["dev-3", "dev-4", "dev-5", "dev-6"]
    );
    let posts: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| r.device_id.as_deref())
        .collect();
    assert_eq!(posts, ["dev-3"]);
    // The torn tail was cut: every line parses.
    assert_eq!(journal_lines(&journal).len(), 5 + 2 + 3);

    // Everything verified: nothing is read or sent.
    let before = graph.requests().len();
    let out = against(&graph, "apply", &["--csv", csv_arg, "--resume"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(graph.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_journal_keeps_graphs_request_id_of_each_accepted_write() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, [1, 2, 3]);
    let dir = temp_dir("request-ids");
    let csv = write_csv(&dir, &rooms(1..=3));
    let out = against(&graph, "apply", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let entries = journal_lines(&dir.join("rooms.csv.journal.jsonl"));
    let ids: std::collections::HashSet<String> = entries
        .iter()
        .filter(|e| e["outcome"] == "assigned")
        .map(|e| {
            let id = e["request_id"]
                .as_str()
                .expect("an accepted write's request-id");
            assert_eq!((id.len(), id.matches('-').count()), (36, 4), "a GUID: {id}");
            id.to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 3, "one per write: {entries:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_journal_from_another_endpoint_is_refused() {
    let first = StandIn::start().await.unwrap();
    let second = StandIn::start().await.unwrap();
    fleet(&first, 1..=2);
    fleet(&second, 1..=2);
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
async fn a_journal_another_run_holds_is_refused() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=3);
    // The first run verifies for about 3 s: long enough for the second one to start.
    graph.set_visibility_delay(Duration::from_secs(3));
    let dir = temp_dir("locked");
    let csv = write_csv(&dir, &rooms(1..=3));
    let csv_arg = csv.to_str().unwrap();
    let journal = dir.join("rooms.csv.journal.jsonl");

    let first_args = ["--csv", csv_arg];
    let first = against(&graph, "apply", &first_args);
    let second = async {
        // Once the first run has journalled a write, it is between its writes and the end.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(&journal).is_ok_and(|t| t.contains("\"assigned\"")) {
            assert!(
                std::time::Instant::now() < deadline,
                "the first run wrote nothing"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        against(&graph, "apply", &["--csv", csv_arg, "--resume"]).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status.code(), Some(0), "{}", both(&first));
    assert_eq!(second.status.code(), Some(2), "{}", both(&second));
    let stderr = text(&second.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&journal.display().to_string()), "{stderr}");
    assert!(stderr.contains("another run holds it"), "{stderr}");
    assert!(second.stdout.is_empty(), "{}", both(&second));
    // Only the first run wrote, each device once, and only it journalled.
    assert_eq!(writes_to(&graph), ["dev-1", "dev-2", "dev-3"]);
    assert_eq!(journal_lines(&journal).len(), 3 * 2);

    // The lock ends with the run that held it.
    let out = against(&graph, "apply", &["--csv", csv_arg, "--resume"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        text(&out.stdout).contains("already done: 3"),
        "{}",
        both(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_is_one_object_per_line() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=3);
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
        lines.iter().filter(|l| l["result"] == "verified").count(),
        3
    );
    let summary = lines.last().unwrap();
    assert_eq!(
        (summary["verified"].as_u64(), summary["bad_rows"].as_u64()),
        (Some(3), Some(1))
    );
    assert!(out.stderr.is_empty(), "{}", both(&out));
}

/// A fleet with one device in each state the plan tells apart.
fn mixed_fleet(graph: &StandIn) {
    graph.add_devices([
        Device::new("dev-1", "SN-1").group_tag("MTR-A"),
        Device::new("dev-2", "SN-2").group_tag("MTR-A").linked(
            "room-2@contoso.com",
            "Room 2",
            "room-2",
        ),
        Device::new("dev-3", "SN-3")
            .group_tag("MTR-A")
            .linked("old@contoso.com", "Old", "old"),
        Device::new("dev-5a", "SN-5").group_tag("MTR-A"),
        Device::new("dev-5b", "sn-5 ").group_tag("MTR-A"),
        Device::new("dev-6", "SN-6")
            .group_tag("MTR-A")
            .profile_status("notAssigned"),
        Device::new("dev-7", "SN-7")
            .group_tag("MTR-A")
            .userless_enrollment("blocked"),
        Device::new("dev-8", "SN-8").group_tag("Lobby"),
        // Near misses of SN-1's `contains` lookup, and a serial with a quote.
        Device::new("dev-10", "SN-10").group_tag("MTR-A"),
        Device::new("dev-11", "XSN-1").group_tag("MTR-A"),
        Device::new("dev-q", "PF3'Q\"1").group_tag("MTR-A"),
    ]);
    for room in ["1", "2", "3", "4", "5", "6", "7", "8", "q"] {
        graph.add_user(StandInUser::new(format!("room-{room}@contoso.com")).license(PRO));
    }
    graph.set_page_size(2);
}

/// The Teams Rooms license of the test accounts, and how a plan line names it.
const PRO: &str = "Microsoft_Teams_Rooms_Pro";
const LICENSED: &str = "Teams Rooms license Microsoft_Teams_Rooms_Pro";

const MIXED_CSV: &str = "serial_number,user_principal_name,addressable_user_name,resource_account_name\n\
    SN-1,room-1@contoso.com,Room 1,room-1\n\
    sn-2,room-2@contoso.com,Room 2,room-2\n\
    SN-3,room-3@contoso.com,Room 3,room-3\n\
    SN-4,room-4@contoso.com,Room 4,room-4\n\
    SN-5,room-5@contoso.com,Room 5,room-5\n\
    SN-6,room-6@contoso.com,Room 6,room-6\n\
    SN-7,room-7@contoso.com,Room 7,room-7\n\
    SN-8,room-8@contoso.com,Room 8,room-8\n\
    \"PF3'Q\"\"1\",room-q@contoso.com,Room Q,room-q\n";

#[tokio::test(flavor = "multi_thread")]
async fn plan_tells_every_case_apart_and_writes_nothing() {
    let graph = StandIn::start().await.unwrap();
    mixed_fleet(&graph);
    let dir = temp_dir("plan");
    let csv = write_csv(&dir, MIXED_CSV);
    let out = against(&graph, "plan", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "blocked rows: {}", both(&out));
    let stdout = text(&out.stdout);
    for expected in [
        &format!(
            "line 2: serial SN-1 (device dev-1), account room-1@contoso.com: assign: {LICENSED}\n"
        ),
        &format!(
            "line 3: serial sn-2 (device dev-2), account room-2@contoso.com: already-assigned: {LICENSED}\n"
        ),
        &format!(
            "line 4: serial SN-3 (device dev-3), account room-3@contoso.com: reassign: old@contoso.com is linked now; {LICENSED}\n"
        ),
        "line 5: serial SN-4, account room-4@contoso.com: blocked: no Autopilot device has this serial number\n",
        "line 6: serial SN-5, account room-5@contoso.com: blocked: ambiguous serial number: 2 devices (dev-5a, dev-5b)\n",
        "line 7: serial SN-6 (device dev-6), account room-6@contoso.com: blocked: deployment profile not assigned (deploymentProfileAssignmentStatus notAssigned)\n",
        "line 8: serial SN-7 (device dev-7), account room-7@contoso.com: blocked: userless enrollment is blocked",
        &format!(
            "line 9: serial SN-8 (device dev-8), account room-8@contoso.com: warn: group tag \"Lobby\" does not start with MTR-; {LICENSED}\n"
        ),
        &format!(
            "line 10: serial PF3'Q\"1 (device dev-q), account room-q@contoso.com: assign: {LICENSED}\n"
        ),
        "rows: 9, blocked: 4, bad rows: 0; nothing was written",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
    let methods: std::collections::BTreeSet<String> =
        graph.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods.into_iter().collect::<Vec<_>>(), ["GET"]);
    // The quote went out doubled inside the OData literal, and the lookup followed pages.
    assert!(
        graph
            .requests()
            .iter()
            .any(|r| r.target.contains("PF3%27%27Q")),
        "{:?}",
        graph
            .requests()
            .iter()
            .map(|r| &r.target)
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_writes_verifies_unblocks_and_leaves_what_it_must() {
    let graph = StandIn::start().await.unwrap();
    mixed_fleet(&graph);
    // Eventual consistency: the devices show an assignment only after a while.
    graph.set_visibility_delay(Duration::from_millis(600));
    let dir = temp_dir("apply");
    let csv = write_csv(&dir, MIXED_CSV);
    let out = against(
        &graph,
        "apply",
        &["--csv", csv.to_str().unwrap(), "--allow-next-enrollment"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    for expected in [
        "line 2: serial SN-1 (device dev-1), account room-1@contoso.com: verified\n",
        "line 3: serial sn-2 (device dev-2), account room-2@contoso.com: already-assigned\n",
        "line 4: serial SN-3 (device dev-3), account room-3@contoso.com: blocked: old@contoso.com is linked now; apply --reassign replaces it\n",
        "line 7: serial SN-6 (device dev-6), account room-6@contoso.com: blocked: deployment profile not assigned",
        "line 8: serial SN-7 (device dev-7), account room-7@contoso.com: verified\n",
        "line 9: serial SN-8 (device dev-8), account room-8@contoso.com: verified: warn: group tag \"Lobby\" does not start with MTR-\n",
        "line 10: serial PF3'Q\"1 (device dev-q), account room-q@contoso.com: verified\n",
        "verified: 4, already assigned: 1, unverified: 0, failed: 0, blocked: 4",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
    assert_eq!(writes_to(&graph), ["dev-1", "dev-7", "dev-8", "dev-q"]);
    let unblocked: Vec<String> = graph
        .requests()
        .into_iter()
        .filter(|r| r.target.ends_with("/allowNextEnrollment"))
        .filter_map(|r| r.device_id)
        .collect();
    assert_eq!(unblocked, ["dev-7"]);
    assert_eq!(
        graph
            .device("dev-1")
            .unwrap()
            .user_principal_name
            .as_deref(),
        Some("room-1@contoso.com")
    );

    // --reassign replaces the other account; the rest is done or still blocked.
    let before = graph.requests().len();
    let out = against(
        &graph,
        "apply",
        &["--csv", csv.to_str().unwrap(), "--resume", "--reassign"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        text(&out.stdout)
            .contains("line 4: serial SN-3 (device dev-3), account room-3@contoso.com: verified"),
        "{}",
        both(&out)
    );
    let posts: Vec<String> = graph.requests()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| r.device_id.clone())
        .collect();
    assert_eq!(posts, ["dev-3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_assignment_that_does_not_show_in_time_is_unverified_and_retried() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=2);
    graph.set_visibility_delay(Duration::from_secs(3));
    let dir = temp_dir("unverified");
    let csv = write_csv(&dir, &rooms(1..=2));
    let base = graph.base_url();
    let args = [
        "apply",
        "--base-url",
        &base,
        "--token",
        "t",
        "--csv",
        csv.to_str().unwrap(),
        "--verify-timeout",
        "0.5",
        "--resume",
    ];
    let out = run(&args, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("line 2: device dev-1, account room-1@contoso.com: unverified: "),
        "{stdout}"
    );
    assert!(stdout.contains("unverified: 2"), "{stdout}");
    let journal = journal_lines(&dir.join("rooms.csv.journal.jsonl"));
    assert_eq!(
        journal
            .iter()
            .filter(|e| e["outcome"] == "unverified")
            .count(),
        2
    );

    // Later, the devices show it: --resume reads them again and finds the work done. Waits
    // for that event (both devices report the account), polling at most 30 s.
    for _ in 0..600 {
        let shown = |id: &str| {
            graph
                .device(id)
                .is_some_and(|d| d.user_principal_name.is_some())
        };
        if shown("dev-1") && shown("dev-2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = graph.requests().len();
    let out = run(&args, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        text(&out.stdout).contains("already assigned: 2"),
        "{}",
        both(&out)
    );
    assert!(graph.requests()[before..].iter().all(|r| r.method == "GET"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_write_fails_the_row() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=2);
    let device = serde_json::json!({
        "id": "dev-2", "serialNumber": "SN-2", "groupTag": "MTR-A",
        "deploymentProfileAssignmentStatus": "assignedInSync", "userlessEnrollmentStatus": "allowed",
    });
    graph.script(
        "dev-2",
        [
            Reply::status(200).json(&device),
            Reply::status(403).odata("Forbidden", "Insufficient privileges"),
        ],
    );
    let dir = temp_dir("refused");
    let csv = write_csv(&dir, &rooms(1..=2));
    let out = against(&graph, "apply", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        text(&out.stdout).contains(
            "line 3: device dev-2, account room-2@contoso.com: failed: Graph answered 403"
        ),
        "{}",
        both(&out)
    );
    let journal = journal_lines(&dir.join("rooms.csv.journal.jsonl"));
    let failed: Vec<_> = journal
        .iter()
        .filter(|e| e["outcome"] == "failed")
        .collect();
    assert_eq!((failed.len(), failed[0]["status"].as_u64()), (1, Some(403)));
}

#[tokio::test(flavor = "multi_thread")]
async fn show_and_unassign_one_device() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([
        Device::new("dev-1", "SN-1").group_tag("MTR-A").linked(
            "room-1@contoso.com",
            "Room \u{1b}[31m1",
            "room-1",
        ),
        Device::new("dev-10", "SN-10"),
    ]);
    graph.set_visibility_delay(Duration::from_millis(400));
    let out = against(&graph, "show", &["--serial", "sn-1"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("serial sn-1 (device dev-1): found"),
        "{stdout}"
    );
    assert!(
        stdout.contains("userPrincipalName: room-1@contoso.com"),
        "{stdout}"
    );
    assert!(
        stdout.contains("addressableUserName: Room \\u{1b}[31m1"),
        "{stdout}"
    );
    assert!(!stdout.contains('\u{1b}'), "{stdout}");

    let out = against(&graph, "show", &["--device", "dev-1", "--output", "json"]).await;
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["groupTag"], "MTR-A");

    let out = against(&graph, "show", &["--serial", "SN-404"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));

    let out = against(&graph, "unassign", &["--device", "dev-1"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        text(&out.stdout).contains("(device dev-1): unassigned"),
        "{}",
        both(&out)
    );
    assert_eq!(graph.device("dev-1").unwrap().user_principal_name, None);

    let out = against(&graph, "show", &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn unassign_a_csv_file_one_line_per_row() {
    let graph = StandIn::start().await.unwrap();
    let linked = |i: usize| {
        Device::new(format!("dev-{i}"), format!("SN-{i}")).linked(
            &format!("room-{i}@contoso.com"),
            &format!("Room {i}"),
            &format!("room-{i}"),
        )
    };
    graph.add_devices((1..=3).map(linked));
    graph.set_visibility_delay(Duration::from_millis(300));
    // dev-3: read, then the removal is refused.
    let dev_3 = serde_json::json!({
        "id": "dev-3", "serialNumber": "SN-3", "userPrincipalName": "room-3@contoso.com",
    });
    graph.script(
        "dev-3",
        [
            Reply::status(200).json(&dev_3),
            Reply::status(403).odata("Forbidden", "Insufficient privileges"),
        ],
    );
    let dir = temp_dir("unassign-csv");
    // The file `apply` reads: by id or by serial; a duplicate device is a bad row.
    let csv = write_csv(
        &dir,
        "device_id,serial_number,user_principal_name\n\
         dev-1,,room-1@contoso.com\n\
         ,sn-2,room-2@contoso.com\n\
         dev-3,,room-3@contoso.com\n\
         dev-404,,room-9@contoso.com\n\
         dev-1,,room-1@contoso.com\n",
    );
    let csv_arg = csv.to_str().unwrap();
    let out = against(&graph, "unassign", &["--csv", csv_arg]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    let mut lines: Vec<&str> = stdout.lines().collect();
    let summary = lines.pop().unwrap_or_default();
    lines.sort_unstable();
    let expected = [
        "line 2: serial SN-1 (device dev-1): unassigned",
        "line 3: serial sn-2 (device dev-2): unassigned",
        "line 4: serial SN-3 (device dev-3): failed: Graph answered 403 Forbidden",
        "line 5: device dev-404: blocked: no Autopilot device has this id",
    ];
    assert_eq!(lines.len(), expected.len(), "{stdout}");
    for (line, expected) in lines.iter().zip(expected) {
        assert!(line.starts_with(expected), "{expected}\n{stdout}");
    }
    assert_eq!(
        summary,
        "unassigned: 2, already unassigned: 0, unverified: 0, failed: 1, blocked: 1, bad rows: 1"
    );
    assert!(
        text(&out.stderr).contains("line 6: the same device as line 2; skipped"),
        "{}",
        both(&out)
    );
    for (device, upn) in [
        ("dev-1", None),
        ("dev-2", None),
        ("dev-3", Some("room-3@contoso.com")),
    ] {
        let now = graph.device(device).unwrap().user_principal_name;
        assert_eq!(now.as_deref(), upn, "{device}");
    }
    assert_eq!(removals(&graph), ["dev-1", "dev-2", "dev-3"]);

    // Every row done: exit 0, `--concurrency` calls at a time.
    let graph = StandIn::start().await.unwrap();
    graph.add_devices((1..=9).map(linked));
    for i in 1..=9 {
        // What `linked(i)` reports: its row's account, so it is unassigned.
        let device = serde_json::json!({
            "id": format!("dev-{i}"),
            "serialNumber": format!("SN-{i}"),
            "userPrincipalName": format!("room-{i}@contoso.com"),
            "addressableUserName": format!("Room {i}"),
            "resourceName": format!("room-{i}"),
        });
        graph.script(
            format!("dev-{i}"),
            [Reply::status(200)
                .json(&device)
                .delay(Duration::from_millis(300))],
        );
    }
    let csv = write_csv(&dir, &rooms(1..=9));
    let out = against(
        &graph,
        "unassign",
        &[
            "--csv",
            csv.to_str().unwrap(),
            "--concurrency",
            "3",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let objects: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 9 + 1, "{}", both(&out));
    assert!(
        objects[..9].iter().all(|o| o["result"] == "unassigned"),
        "{objects:?}"
    );
    assert_eq!(objects[9]["unassigned"], 9);
    assert_eq!(removals(&graph).len(), 9);
    let in_flight = graph.counters().max_in_flight;
    assert!((2..=3).contains(&in_flight), "{in_flight} calls at once");

    // A file that cannot be used: exit 2, nothing sent.
    let before = graph.requests().len();
    let unknown = dir.join("unknown.csv");
    std::fs::write(&unknown, "device,user_principal_name\ndev-1,a@b.c\n").unwrap();
    let out = against(&graph, "unassign", &["--csv", unknown.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("unknown column \"device\""),
        "{}",
        both(&out)
    );
    let out = against(&graph, "unassign", &["--csv", csv_arg, "--device", "dev-1"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(graph.requests().len(), before);
}

/// Devices that got an unassign request, sorted.
fn removals(graph: &StandIn) -> Vec<String> {
    let mut devices: Vec<String> = graph
        .requests()
        .into_iter()
        .filter(|r| r.target.ends_with("/unassignResourceAccountFromDevice"))
        .filter_map(|r| r.device_id)
        .collect();
    devices.sort();
    devices
}

#[tokio::test(flavor = "multi_thread")]
async fn unassign_csv_removes_only_the_rows_own_account() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([
        Device::new("dev-1", "SN-1").linked("room-1@contoso.com", "Room 1", "room-1"),
        // Linked since the file was applied: someone else's assignment.
        Device::new("dev-2", "SN-2").linked("lobby@contoso.com", "Lobby", "lobby"),
        Device::new("dev-3", "SN-3"),
    ]);
    let dir = temp_dir("unassign-guard");
    // The upn's case differs: the library's rule ignores it.
    let csv = write_csv(
        &dir,
        "device_id,user_principal_name,addressable_user_name\n\
         dev-1,ROOM-1@contoso.com,Room 1\n\
         dev-2,room-2@contoso.com,Room 2\n\
         dev-3,room-3@contoso.com,Room 3\n",
    );
    let csv_arg = csv.to_str().unwrap();
    let out = against(&graph, "unassign", &["--csv", csv_arg]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    let mut lines: Vec<&str> = stdout.lines().collect();
    let summary = lines.pop().unwrap_or_default();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "line 2: serial SN-1 (device dev-1): unassigned",
            "line 3: serial SN-2 (device dev-2): blocked: another account is linked: userPrincipalName is \
             \"lobby@contoso.com\" (expected \"room-2@contoso.com\"); addressableUserName is \
             \"Lobby\" (expected \"Room 2\"); unassign --force removes it",
            "line 4: serial SN-3 (device dev-3): already-unassigned",
        ],
        "{}",
        both(&out)
    );
    assert_eq!(
        summary,
        "unassigned: 1, already unassigned: 1, unverified: 0, failed: 0, blocked: 1, bad rows: 0"
    );
    assert_eq!(removals(&graph), ["dev-1"]);
    assert_eq!(
        graph
            .device("dev-2")
            .unwrap()
            .user_principal_name
            .as_deref(),
        Some("lobby@contoso.com")
    );

    // JSON: the same outcomes, snake_case counts.
    let out = against(&graph, "unassign", &["--csv", csv_arg, "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let objects: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = objects.last().unwrap();
    assert_eq!(
        (&summary["already_unassigned"], &summary["blocked"]),
        (&serde_json::json!(2), &serde_json::json!(1)),
        "{objects:?}"
    );
    assert_eq!(removals(&graph), ["dev-1"]);

    // `--force`: today's behaviour, whatever the device reports.
    let out = against(&graph, "unassign", &["--csv", csv_arg, "--force"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        text(&out.stdout).contains("line 3: serial SN-2 (device dev-2): unassigned"),
        "{}",
        both(&out)
    );
    assert_eq!(graph.device("dev-2").unwrap().user_principal_name, None);
    assert_eq!(removals(&graph), ["dev-1", "dev-1", "dev-2", "dev-3"]);

    // `--force` means something only with `--csv`.
    let before = graph.requests().len();
    let out = against(&graph, "unassign", &["--device", "dev-2", "--force"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(graph.requests().len(), before);
}

#[cfg(feature = "azure-identity")]
#[tokio::test(flavor = "multi_thread")]
async fn client_secret_sign_in_needs_its_secret_and_ignores_graph_token() {
    let dir = temp_dir("auth");
    let csv = write_csv(&dir, &rooms([1]));
    let args = [
        "plan",
        "--csv",
        csv.to_str().unwrap(),
        "--auth",
        "client-secret",
        "--tenant-id",
        "contoso.onmicrosoft.com",
        "--client-id",
        "app",
    ];
    let out = run(&args, &[("GRAPH_TOKEN", "not-used")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("--auth client-secret needs AZURE_CLIENT_SECRET"),
        "{}",
        both(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_does_not_stop_the_run() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=3);
    let dir = temp_dir("pipe");
    let csv = write_csv(&dir, &rooms(1..=3));
    let base = graph.base_url();
    let mut child = Command::new(BIN)
        .args([
            "apply",
            "--base-url",
            &base,
            "--token",
            "t",
            "--csv",
            csv.to_str().unwrap(),
        ])
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader went away (`| head -0`)
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(!text(&out.stderr).contains("panicked"), "{}", both(&out));
    let journal = journal_lines(&dir.join("rooms.csv.journal.jsonl"));
    assert_eq!(
        journal
            .iter()
            .filter(|e| e["outcome"] == "verified")
            .count(),
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_variables_never_see_loopback_traffic() {
    let graph = StandIn::start().await.unwrap();
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let accept = tokio::spawn(async move {
        while let Ok((_stream, _)) = proxy.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    fleet(&graph, 1..=2);
    let dir = temp_dir("proxy");
    let csv = write_csv(&dir, &rooms(1..=2));
    let base = graph.base_url();
    let env: Vec<(&str, &str)> = [
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
    ]
    .into_iter()
    .map(|name| (name, proxy_url.as_str()))
    .collect();
    let out = run(
        &[
            "apply",
            "--base-url",
            &base,
            "--token",
            "s3cret",
            "--verify-timeout",
            "5",
            "--csv",
            csv.to_str().unwrap(),
        ],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(writes_to(&graph), ["dev-1", "dev-2"]);
    assert!(!text(&out.stdout).contains("s3cret") && !text(&out.stderr).contains("s3cret"));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the proxy was contacted"
    );
    accept.abort();
}
