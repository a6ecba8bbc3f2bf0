//! A plan an admin can review and hand on: the account on every line, `phase` in JSON, the
//! `--report` file, re-arming with `--force`, an account another device already has.

mod support;

use autopilot_resource_account_stand_in::{Device, StandIn, StandInUser};

/// A Teams Rooms Pro account, so the account check lets its row through.
fn licensed(graph: &StandIn, upn: &str) {
    graph.add_user(StandInUser::new(upn).license("Microsoft_Teams_Rooms_Pro"));
}
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn plan_and_apply_lines_show_the_account_and_json_lines_their_phase() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=2);
    let dir = temp_dir("review-lines");
    let csv = write_csv(&dir, &rooms(1..=2));
    let csv = csv.to_str().unwrap();
    let out = against(&graph, "t0ken", "plan", &["--csv", csv]).await;
    assert!(out.status.success(), "{}", both(&out));
    assert!(
        text(&out.stdout).contains(
            "line 2: device dev-1, account room-1@contoso.com: assign: Teams Rooms license \
             Microsoft_Teams_Rooms_Pro\n"
        ),
        "{}",
        both(&out)
    );
    let out = against(&graph, "t0ken", "plan", &["--csv", csv, "--output", "json"]).await;
    let lines = json_lines(&out);
    let row = lines.iter().find(|l| l["line"] == 3).unwrap();
    assert_eq!(row["phase"], "plan");
    assert_eq!(row["user_principal_name"], "room-2@contoso.com");
    assert_eq!(row["addressable_user_name"], "Room 2");
    assert_eq!(row["resource_account_name"], "room-2");
    let out = against(
        &graph,
        "t0ken",
        "apply",
        &["--csv", csv, "--output", "json"],
    )
    .await;
    assert!(out.status.success(), "{}", both(&out));
    let lines = json_lines(&out);
    let rows: Vec<_> = lines.iter().filter(|l| l.get("line").is_some()).collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|l| l["phase"] == "verify" && l["result"] == "verified")
    );
    assert!(
        rows.iter()
            .any(|l| l["user_principal_name"] == "room-1@contoso.com")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_is_a_csv_of_every_row_written_atomically() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=2);
    // dev-3 does not exist; its account does (the line names only the missing device).
    licensed(&graph, "room-3@contoso.com");
    let dir = temp_dir("review-report");
    let csv = write_csv(&dir, &(rooms(1..=3) + ",bad@contoso.com,,\n"));
    let csv = csv.to_str().unwrap();
    let report = dir.join("racked.csv");
    let out = against(
        &graph,
        "t0ken",
        "apply",
        &["--csv", csv, "--report", report.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let written = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(
        lines,
        [
            "line,serial_number,user_principal_name,addressable_user_name,resource_account_name,device_id,result,detail,request_id",
            "2,,room-1@contoso.com,Room 1,room-1,dev-1,verified,,",
            "3,,room-2@contoso.com,Room 2,room-2,dev-2,verified,,",
            "4,,room-3@contoso.com,Room 3,room-3,dev-3,blocked,no Autopilot device has this id,",
            "5,,,,,,bad-row,has neither a serial_number nor a device_id,",
        ],
        "{written}"
    );
    // No temp file left beside it.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["racked.csv", "rooms.csv", "rooms.csv.journal.jsonl"]
    );
    // A report of ours is replaced by the next run's.
    let out = against(
        &graph,
        "t0ken",
        "plan",
        &["--csv", csv, "--report", report.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .contains(",already-assigned,")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_never_goes_through_a_link_nor_over_another_file() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=1);
    let dir = temp_dir("review-refuse");
    let csv = write_csv(&dir, &rooms(1..=1));
    let csv = csv.to_str().unwrap();
    let target = dir.join("precious.txt");
    std::fs::write(&target, "keep me\n").unwrap();
    let link = dir.join("link.csv");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, &link).unwrap();
    #[cfg(unix)]
    for (path, why) in [
        (&link, "symbolic link"),
        (&target, "not an autopilot-ra report"),
    ] {
        let out = against(
            &graph,
            "t0ken",
            "apply",
            &["--csv", csv, "--report", path.to_str().unwrap()],
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{}", both(&out));
        assert!(text(&out.stderr).contains(why), "{}", both(&out));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    }
    let missing = dir.join("no-such-dir").join("report.csv");
    let out = against(
        &graph,
        "t0ken",
        "apply",
        &["--csv", csv, "--report", missing.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("no such directory"),
        "{}",
        both(&out)
    );
    assert!(
        graph.requests().is_empty(),
        "refused before anything was sent"
    );
    // Nor over the input file itself.
    let out = against(&graph, "t0ken", "plan", &["--csv", csv, "--report", csv]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert_eq!(std::fs::read_to_string(csv).unwrap(), rooms(1..=1));
}

#[tokio::test(flavor = "multi_thread")]
async fn force_rearms_a_device_that_already_shows_the_account() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new("dev-1", "SN-1").group_tag("MTR-A").linked(
        "room-1@contoso.com",
        "Room 1",
        "room-1",
    )]);
    licensed(&graph, "room-1@contoso.com");
    let dir = temp_dir("review-force");
    let csv = write_csv(&dir, &rooms(1..=1));
    let csv = csv.to_str().unwrap();
    let out = against(&graph, "t0ken", "apply", &["--csv", csv]).await;
    assert!(out.status.success(), "{}", both(&out));
    assert!(
        text(&out.stdout).contains(": already-assigned"),
        "{}",
        both(&out)
    );
    assert!(
        writes_to(&graph).is_empty(),
        "without --force nothing is sent"
    );
    let out = against(&graph, "t0ken", "plan", &["--csv", csv, "--force"]).await;
    assert!(
        text(&out.stdout).contains("account room-1@contoso.com: rearm"),
        "{}",
        both(&out)
    );
    let out = against(&graph, "t0ken", "apply", &["--csv", csv, "--force"]).await;
    assert!(out.status.success(), "{}", both(&out));
    assert!(text(&out.stdout).contains(": verified"), "{}", both(&out));
    assert_eq!(writes_to(&graph), ["dev-1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_another_device_has_blocks_the_row() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([
        Device::new("dev-1", "SN-1").group_tag("MTR-A"),
        Device::new("dev-2", "SN-2").group_tag("MTR-A").linked(
            "Room-1@contoso.com",
            "Room 1",
            "room-1",
        ),
    ]);
    licensed(&graph, "room-1@contoso.com");
    licensed(&graph, "room-2@contoso.com");
    let dir = temp_dir("review-elsewhere");
    let csv = write_csv(
        &dir,
        "device_id,user_principal_name,addressable_user_name,resource_account_name\n\
         dev-1,room-1@contoso.com,Room 1,room-1\n\
         dev-2,room-2@contoso.com,Room 2,room-2\n",
    );
    // Without `--reassign` (which since issue 24 lets such a row through: cli/tests/accounts.rs).
    let out = against(&graph, "t0ken", "apply", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "line 2: device dev-1, account room-1@contoso.com: blocked: room-1@contoso.com is \
             already linked to device dev-2 (serial SN-2)"
        ),
        "{stdout}"
    );
    assert!(writes_to(&graph).is_empty());
}
