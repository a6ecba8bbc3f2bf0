//! CSV files as admins have them (issue 22): Excel's `;` and tab files, UTF-16 and Windows-1252,
//! Intune's headers, extra columns, and the same account on two rows, through the real binary
//! against the library's loopback stand-in. The files are in `tests/data/`; `rows`' unit tests
//! check that each reads to exactly the rows of `rooms.csv`.

use std::path::PathBuf;
use std::process::{Command, Output};

use autopilot_resource_account_stand_in::{Device, StandIn, StandInUser};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_autopilot-ra");

/// The serials of `tests/data/rooms.csv`.
const SERIALS: [&str; 5] = [
    "PF3ABC101",
    "PF3ABC102",
    "PF3ABC103",
    "PF3ABC104",
    "PF3ABC105",
];

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A stand-in holding the devices of `rooms.csv`, ready for Teams Rooms.
async fn graph() -> StandIn {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices(
        SERIALS
            .iter()
            .map(|s| Device::new(format!("dev-{s}"), *s).group_tag("MTR-Rooms")),
    );
    // The accounts of `rooms.csv`, licensed for Teams Rooms, so the account check passes.
    for upn in [
        "room-101@contoso.com",
        "salle-reunion@contoso.com",
        "boardroom@contoso.com",
        "huddle-5a@contoso.com",
        "lobby@contoso.com",
    ] {
        graph.add_user(StandInUser::new(upn).license("Microsoft_Teams_Rooms_Pro"));
    }
    graph
}

/// `autopilot-ra <command> --base-url … --token … <args>`, no token or proxy inherited.
async fn run(graph: &StandIn, command: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args([command, "--base-url", &graph.base_url(), "--token", "t0ken"]);
    if command == "apply" {
        cmd.args(["--verify-timeout", "5"]);
    }
    cmd.args(args);
    for name in ["GRAPH_TOKEN", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        cmd.env_remove(name);
        cmd.env_remove(name.to_lowercase());
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
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

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_reads_an_excel_semicolon_file() {
    // Issue 22: `unknown column "serial_number;user_principal_name;…"`, and nothing planned.
    let graph = graph().await;
    let csv = data("rooms-semicolon.csv");
    let out = run(&graph, "plan", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let stdout = text(&out.stdout);
    for (i, serial) in SERIALS.iter().enumerate() {
        let start = format!(
            "line {}: serial {serial} (device dev-{serial}), account ",
            i + 2
        );
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&start) && l.contains(": assign: Teams Rooms license")),
            "{start}\n{}",
            both(&out)
        );
    }
    assert!(
        stdout.contains("rows: 5, blocked: 0, bad rows: 0; nothing was written"),
        "{stdout}"
    );
    // The delimiter is told once, on stderr, and nothing else is.
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}: columns separated by \";\" (read from the header)\n",
            csv.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_form_plans_as_the_plain_file_and_notes_how_it_was_read() {
    let graph = graph().await;
    let plan = |name: &'static str| {
        let graph = &graph;
        async move {
            let csv = data(name);
            let out = run(
                graph,
                "plan",
                &["--csv", csv.to_str().unwrap(), "--output", "json"],
            )
            .await;
            assert_eq!(out.status.code(), Some(0), "{name}: {}", both(&out));
            assert!(out.stderr.is_empty(), "{name}: {}", both(&out));
            let (notes, rows): (Vec<Value>, Vec<Value>) = json_lines(&out)
                .into_iter()
                .partition(|l| l.get("file").is_some());
            for note in &notes {
                assert_eq!(note["file"], csv.display().to_string(), "{name}");
            }
            let notes: Vec<String> = notes
                .iter()
                .map(|n| n["note"].as_str().unwrap().to_owned())
                .collect();
            (notes, rows)
        }
    };
    let (notes, plain) = plan("rooms.csv").await;
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(plain.len(), 5 + 1, "{plain:?}");
    for (name, expected) in [
        ("rooms-semicolon.csv", "columns separated by \";\""),
        ("rooms-tab.tsv", "columns separated by tabs"),
        ("rooms-utf8-bom.csv", ""),
        ("rooms-utf16le.txt", "read as UTF-16LE"),
        ("rooms-utf16be.csv", "read as UTF-16BE"),
        ("rooms-windows1252.csv", "read as windows-1252"),
        (
            "rooms-intune.csv",
            "ignored columns: \"Windows Product ID\"",
        ),
        ("rooms-extra-column.csv", "ignored columns: \"notes\""),
    ] {
        let (notes, rows) = plan(name).await;
        assert_eq!(rows, plain, "{name}");
        match expected {
            "" => assert!(notes.is_empty(), "{name}: {notes:?}"),
            _ => assert!(
                notes.iter().any(|n| n.contains(expected)),
                "{name}: {notes:?}"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_windows_1252_name_reaches_graph_as_written() {
    // Issue 22: `line 3: is not valid UTF-8; skipped`.
    let graph = graph().await;
    let dir = std::env::temp_dir().join(format!("autopilot-ra-cp1252-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("rooms.csv");
    std::fs::copy(data("rooms-windows1252.csv"), &csv).unwrap();
    let out = run(&graph, "apply", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let body = graph
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.device_id.as_deref() == Some("dev-PF3ABC102"))
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .unwrap();
    assert_eq!(body["addressableUserName"], "Salle Réunion", "{body}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_account_on_two_rows_refuses_the_file_and_sends_nothing() {
    // Issue 22: both devices got the account, and both came back verified.
    let graph = graph().await;
    let dir = std::env::temp_dir().join(format!("autopilot-ra-dup-upn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("rooms.csv");
    std::fs::write(
        &csv,
        "Serial;UPN;Display Name\n\
         PF3ABC101;room-101@contoso.com;Room 101\n\
         PF3ABC102;room-102@contoso.com;Room 102\n\
         PF3ABC103;ROOM-101@contoso.com;Room 103\n",
    )
    .unwrap();
    for command in ["plan", "apply", "unassign"] {
        let out = run(&graph, command, &["--csv", csv.to_str().unwrap()]).await;
        assert_eq!(out.status.code(), Some(2), "{command}: {}", both(&out));
        assert_eq!(
            text(&out.stderr),
            format!(
                "autopilot-ra: {}: the same user_principal_name on two rows (a resource \
                 account links to one device): ROOM-101@contoso.com on lines 2 and 4\n",
                csv.display()
            ),
            "{command}"
        );
    }
    assert!(graph.requests().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_column_says_what_was_found_and_what_is_closest() {
    let graph = graph().await;
    let dir = std::env::temp_dir().join(format!("autopilot-ra-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("rooms.csv");
    std::fs::write(
        &csv,
        "Serial\tUser Principle Name\nPF3ABC101\troom@contoso.com\n",
    )
    .unwrap();
    let out = run(&graph, "plan", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).ends_with(
            ": needs a user_principal_name column; headers found: \"Serial\", \"User Principle \
             Name\"; unknown column \"User Principle Name\" is closest to user_principal_name\n"
        ),
        "{}",
        both(&out)
    );
    assert!(graph.requests().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
