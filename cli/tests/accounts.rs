//! The account check of `plan` and `apply` (issue 24): each answer blocks its row with the
//! reason, a licensed row names its Teams Rooms license, a token without the read permissions
//! skips the check with one notice, `--no-account-checks` sends no user request, an account
//! another device has is blocked unless `--reassign`, and the demo inventory shows each outcome.

mod support;

use autopilot_resource_account_stand_in::{Device, StandIn, StandInUser};
use support::*;

const PRO: &str = "Microsoft_Teams_Rooms_Pro";
const BASIC: &str = "Microsoft_Teams_Rooms_Basic";

/// Requests whose target contains `part`.
fn sent(graph: &StandIn, part: &str) -> usize {
    graph
        .requests()
        .iter()
        .filter(|r| r.target.contains(part))
        .count()
}

/// `dev-1..=5` and their accounts: Pro, Basic, only E5, disabled, absent.
async fn tenant() -> StandIn {
    let graph = StandIn::start().await.unwrap();
    // Not `fleet`, which gives every device a licensed account.
    graph.add_devices(
        (1..=5).map(|i| Device::new(format!("dev-{i}"), format!("SN-{i}")).group_tag("MTR-Rooms")),
    );
    graph.add_user(StandInUser::new("room-1@contoso.com").license(PRO));
    graph.add_user(StandInUser::new("room-2@contoso.com").license(BASIC));
    graph.add_user(StandInUser::new("room-3@contoso.com").license("SPE_E5"));
    graph.add_user(
        StandInUser::new("room-4@contoso.com")
            .license(PRO)
            .disabled(),
    );
    graph
}

#[tokio::test(flavor = "multi_thread")]
async fn each_account_answer_blocks_its_row_and_licensed_rows_name_the_license() {
    let graph = tenant().await;
    let dir = temp_dir("accounts-each");
    let csv = write_csv(&dir, &rooms(1..=5));
    let csv = csv.to_str().unwrap();
    let out = against(&graph, "t0ken", "plan", &["--csv", csv]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    for expected in [
        "line 2: device dev-1, account room-1@contoso.com: assign: Teams Rooms license Microsoft_Teams_Rooms_Pro\n",
        "line 3: device dev-2, account room-2@contoso.com: assign: Teams Rooms license Microsoft_Teams_Rooms_Basic\n",
        "line 4: device dev-3, account room-3@contoso.com: blocked: account has no Teams Rooms license (it has SPE_E5)",
        "line 5: device dev-4, account room-4@contoso.com: blocked: account disabled",
        "line 6: device dev-5, account room-5@contoso.com: blocked: account not found",
        "rows: 5, blocked: 3",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{}", both(&out));
    }
    // One user read per row, the tenant's licenses once.
    assert_eq!(sent(&graph, "/users/"), 5);
    assert_eq!(sent(&graph, "/subscribedSkus"), 1);

    let out = against(&graph, "t0ken", "plan", &["--csv", csv, "--output", "json"]).await;
    let lines = json_lines(&out);
    let row = |line: u64| lines.iter().find(|l| l["line"] == line).unwrap();
    assert_eq!(row(2)["account_license"], PRO);
    assert_eq!(row(3)["account_license"], BASIC);
    assert_eq!(row(4)["result"], "blocked");
    assert!(row(4).get("account_license").is_none());

    // `apply` writes only the licensed rows.
    let out = against(&graph, "t0ken", "apply", &["--csv", csv]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let mut written = writes_to(&graph);
    written.sort();
    assert_eq!(written, ["dev-1", "dev-2"], "{}", both(&out));
    assert!(text(&out.stdout).contains("blocked: 3"), "{}", both(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_that_share_an_account_are_refused_before_any_check() {
    // One resource account per Teams Rooms device: the file is refused (the CSV reader names
    // both lines), so no account is read.
    let graph = tenant().await;
    let dir = temp_dir("accounts-shared");
    let csv = write_csv(
        &dir,
        "device_id,user_principal_name,addressable_user_name,resource_account_name\n\
         dev-1,room-1@contoso.com,Room 1,room-1\n\
         dev-2,Room-1@Contoso.com,Room 1,room-1\n",
    );
    let out = against(&graph, "t0ken", "plan", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("lines 2 and 3"),
        "{}",
        both(&out)
    );
    assert_eq!(sent(&graph, "/users/"), 0, "{}", both(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_the_read_permissions_skips_the_check_with_one_line() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=4);
    graph.refuse_account_reads(true);
    let dir = temp_dir("accounts-403");
    let csv = write_csv(&dir, &rooms(1..=4));
    let csv = csv.to_str().unwrap();
    let out = against(&graph, "t0ken", "plan", &["--csv", csv]).await;
    // Every row is planned as before: the skipped check fails none.
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let stderr = text(&out.stderr);
    let notices: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("account checks skipped"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", both(&out));
    assert!(
        notices[0].contains("User.Read.All and Organization.Read.All"),
        "{}",
        notices[0]
    );
    assert_eq!(
        text(&out.stdout).matches(": assign\n").count(),
        4,
        "{}",
        both(&out)
    );
    // The first account alone: one refused request, not one per row.
    assert_eq!(sent(&graph, "/users/") + sent(&graph, "/subscribedSkus"), 1);

    let out = against(&graph, "t0ken", "plan", &["--csv", csv, "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let lines = json_lines(&out);
    let notices: Vec<_> = lines.iter().filter(|l| l.get("notice").is_some()).collect();
    assert_eq!(notices.len(), 1, "{lines:?}");
    assert_eq!(notices[0]["notice"], "account-checks-skipped");
    assert_eq!(
        notices[0]["permissions"],
        serde_json::json!(["User.Read.All", "Organization.Read.All"])
    );
    assert!(text(&out.stderr).is_empty(), "{}", both(&out));

    let out = against(&graph, "t0ken", "apply", &["--csv", csv]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(writes_to(&graph).len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_account_checks_sends_no_user_request() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=3);
    let dir = temp_dir("accounts-off");
    let csv = write_csv(&dir, &rooms(1..=3));
    let csv = csv.to_str().unwrap();
    for command in ["plan", "apply"] {
        let out = against(
            &graph,
            "t0ken",
            command,
            &["--csv", csv, "--no-account-checks"],
        )
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", both(&out));
        assert!(!text(&out.stderr).contains("account"), "{}", both(&out));
    }
    assert_eq!(sent(&graph, "/users"), 0);
    assert_eq!(sent(&graph, "/subscribedSkus"), 0);
    assert_eq!(writes_to(&graph).len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_another_device_has_is_blocked_unless_reassign() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([
        Device::new("dev-1", "SN-1").group_tag("MTR-A"),
        Device::new("dev-2", "SN-2").group_tag("MTR-A").linked(
            "room-1@contoso.com",
            "Room 1",
            "room-1",
        ),
    ]);
    graph.add_user(StandInUser::new("room-1@contoso.com").license(PRO));
    graph.add_user(StandInUser::new("room-2@contoso.com").license(PRO));
    let dir = temp_dir("accounts-elsewhere");
    // dev-2's row (it moves to room-2) is how the plan learns that dev-2 has room-1 now.
    let csv = write_csv(
        &dir,
        "serial_number,user_principal_name,addressable_user_name,resource_account_name\n\
         SN-1,room-1@contoso.com,Room 1,room-1\n\
         SN-2,room-2@contoso.com,Room 2,room-2\n",
    );
    let csv = csv.to_str().unwrap();
    let out = against(&graph, "t0ken", "plan", &["--csv", csv]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "line 2: serial SN-1 (device dev-1), account room-1@contoso.com: blocked: \
             room-1@contoso.com is already linked to device dev-2 (serial SN-2)"
        ),
        "{stdout}"
    );
    let out = against(&graph, "t0ken", "apply", &["--csv", csv]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(writes_to(&graph).is_empty(), "{}", both(&out));

    let out = against(&graph, "t0ken", "plan", &["--csv", csv, "--reassign"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        text(&out.stdout).contains(
            "line 2: serial SN-1 (device dev-1), account room-1@contoso.com: warn: \
             room-1@contoso.com is linked to device dev-2 (serial SN-2) too"
        ),
        "{}",
        both(&out)
    );
    let out = against(&graph, "t0ken", "apply", &["--csv", csv, "--reassign"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let mut written = writes_to(&graph);
    written.sort();
    assert_eq!(written, ["dev-1", "dev-2"], "{}", both(&out));
}

/// `autopilot-ra demo`'s inventory: its devices and users (as `cli/src/demo.rs` sets them up).
fn demo_inventory(graph: &StandIn) {
    let id = |n: &str| format!("7f9b6c1e-0000-4000-8000-00000000{n}");
    graph.add_devices([
        Device::new(id("0101"), "PF3ABC101").group_tag("MTR-Floor1"),
        Device::new(id("0102"), "PF3ABC102").group_tag("MTR-Floor1"),
        Device::new(id("1020"), "PF3ABC1020").group_tag("MTR-Floor2"),
        Device::new(id("0103"), "PF3ABC103")
            .group_tag("MTR-Floor4")
            .linked("boardroom@contoso.com", "Boardroom, 4th floor", "boardroom"),
        Device::new(id("0104"), "PF3ABC104")
            .group_tag("Huddle")
            .userless_enrollment("blocked"),
        Device::new(id("0105"), "PF3ABC105")
            .group_tag("MTR-Lobby")
            .profile_status("notAssigned")
            .linked("events@contoso.com", "Events hall", "events"),
        Device::new(id("0106"), "PF3ABC106").group_tag("MTR-Floor2"),
        Device::new(id("0107"), "PF3ABC107").group_tag("MTR-Floor2"),
        Device::new(id("0108"), "PF3ABC108").group_tag("MTR-Floor3"),
        Device::new(id("0109"), "PF3ABC109").group_tag("MTR-Floor4"),
    ]);
    for user in [
        StandInUser::new("room-101@contoso.com").license(PRO),
        StandInUser::new("room-102@contoso.com").license(BASIC),
        StandInUser::new("boardroom@contoso.com").license(PRO),
        StandInUser::new("huddle-5a@contoso.com").license(BASIC),
        StandInUser::new("lobby@contoso.com").license(PRO),
        StandInUser::new("events@contoso.com").license(PRO),
        StandInUser::new("training@contoso.com").license("SPE_E5"),
        StandInUser::new("old-annex@contoso.com")
            .license(PRO)
            .disabled(),
    ] {
        graph.add_user(user);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_of_the_demo_inventory_shows_each_account_outcome() {
    let graph = StandIn::start().await.unwrap();
    demo_inventory(&graph);
    let csv = concat!(env!("CARGO_MANIFEST_DIR"), "/rooms.csv");
    let out = against(&graph, "t0ken", "plan", &["--csv", csv]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    for expected in [
        "account room-101@contoso.com: assign: Teams Rooms license Microsoft_Teams_Rooms_Pro\n",
        "account room-102@contoso.com: assign: Teams Rooms license Microsoft_Teams_Rooms_Basic\n",
        "line 7: serial PF3ABC106 (device 7f9b6c1e-0000-4000-8000-000000000106), account \
         training@contoso.com: blocked: account has no Teams Rooms license (it has SPE_E5)",
        "line 8: serial PF3ABC107 (device 7f9b6c1e-0000-4000-8000-000000000107), account \
         old-annex@contoso.com: blocked: account disabled",
        "line 9: serial PF3ABC108 (device 7f9b6c1e-0000-4000-8000-000000000108), account \
         absent@contoso.com: blocked: account not found",
        "line 10: serial PF3ABC109 (device 7f9b6c1e-0000-4000-8000-000000000109), account \
         events@contoso.com: blocked: events@contoso.com is already linked to device \
         7f9b6c1e-0000-4000-8000-000000000105 (serial PF3ABC105)",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_shows_each_account_outcome_and_exits_0() {
    let out = run(&["demo"]).await;
    assert!(out.status.success(), "{}", both(&out));
    let stdout = text(&out.stdout);
    for expected in [
        "Teams Rooms license Microsoft_Teams_Rooms_Pro",
        "Teams Rooms license Microsoft_Teams_Rooms_Basic",
        "no Teams Rooms license (it has SPE_E5)",
        "account disabled",
        "account not found",
        "already linked to device 7f9b6c1e-0000-4000-8000-000000000105",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_upn_graph_cannot_address_is_blocked_before_it_is_sent() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=2);
    graph.add_user(StandInUser::new("o'brien+room-1@contoso.com").license(PRO));
    let dir = temp_dir("accounts-upn");
    let csv = write_csv(
        &dir,
        "device_id,user_principal_name,addressable_user_name,resource_account_name\n\
         dev-1,o'brien+room-1@contoso.com,Room 1,room-1\n\
         dev-2,$room-2@contoso.com,Room 2,room-2\n",
    );
    let out = against(&graph, "t0ken", "plan", &["--csv", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "line 2: device dev-1, account o'brien+room-1@contoso.com: assign: Teams Rooms \
             license Microsoft_Teams_Rooms_Pro\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "line 3: device dev-2, account $room-2@contoso.com: blocked: cannot check the account"
        ),
        "{stdout}"
    );
    // Only the addressable account was read.
    assert_eq!(sent(&graph, "/users/"), 1, "{}", both(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn account_checks_stay_within_the_concurrency_bound() {
    use autopilot_resource_account_stand_in::{PauseHint, Throttling};
    use std::time::Duration;
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=7);
    // Each request is held 400 ms after it arrives: requests that arrive within 300 ms of one
    // another are all in flight at once, whatever the speed of the machine.
    graph.throttling(Throttling::new(PauseHint::Seconds).latency(Duration::from_millis(400)));
    let dir = temp_dir("accounts-bound");
    let csv = write_csv(&dir, &rooms(1..=7));
    let csv = csv.to_str().unwrap();
    let out = against(
        &graph,
        "t0ken",
        "plan",
        &["--csv", csv, "--concurrency", "3"],
    )
    .await;
    assert!(out.status.success(), "{}", both(&out));
    let arrivals: Vec<_> = graph
        .requests()
        .into_iter()
        .filter(|r| r.target.contains("/users/"))
        .map(|r| r.received_at)
        .collect();
    assert_eq!(arrivals.len(), 7);
    let most = arrivals
        .iter()
        .map(|a| {
            arrivals
                .iter()
                .filter(|b| *b >= a && b.duration_since(*a) < Duration::from_millis(300))
                .count()
        })
        .max()
        .unwrap();
    assert!(most <= 3, "{most} account checks in flight at once");
}
