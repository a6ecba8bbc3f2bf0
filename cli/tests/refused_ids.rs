//! A device id off the allow-list, from the CSV, from `--device` or from Graph's answer: the
//! CLI checks it where it first uses it and reports the library's message, and never sends it.

mod support;

use autopilot_resource_account_stand_in::{Device, StandIn, StandInUser};
use support::*;

const REFUSED: &str = r#"invalid input: device_id "../x" contains '/': ids are ASCII letters, digits, '-', '_' and '.'"#;

/// No request of `graph` named a device id with `bad` in it.
fn never_sent(graph: &StandIn, bad: &str) {
    for request in graph.requests() {
        assert!(!request.target.contains(bad), "{}", request.target);
    }
}

/// With `REFUSED_IDS_DUMP=DIR`, the output of each run goes to `DIR/<name>` (to compare builds).
fn dump(name: &str, output: &str) {
    if let Some(dir) = std::env::var_os("REFUSED_IDS_DUMP") {
        std::fs::write(std::path::Path::new(&dir).join(name), output).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_blocks_a_csv_row_with_a_refused_id() {
    let graph = StandIn::start().await.unwrap();
    fleet(&graph, 1..=1);
    let dir = temp_dir("refused-plan");
    let csv = write_csv(
        &dir,
        "device_id,user_principal_name\ndev-1,room-1@contoso.com\n../x,room-2@contoso.com\n",
    );
    let out = against(&graph, "t", "plan", &["--csv", csv.to_str().unwrap()]).await;
    let all = both(&out);
    assert!(
        all.contains(&format!(
            "line 3: device ../x, account room-2@contoso.com: blocked: cannot read the device: {REFUSED}"
        )),
        "{all}"
    );
    dump("plan", &all);
    never_sent(&graph, "../x");
    never_sent(&graph, "%2F");
}

#[tokio::test(flavor = "multi_thread")]
async fn show_and_unassign_refuse_a_device_argument() {
    let graph = StandIn::start().await.unwrap();
    for command in ["show", "unassign"] {
        let out = against(&graph, "t", command, &["--device", "../x"]).await;
        let all = both(&out);
        assert!(all.contains(REFUSED), "{command}: {all}");
        assert!(!out.status.success(), "{command}: {all}");
        dump(command, &all);
    }
    assert!(graph.requests().is_empty(), "{:?}", graph.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_fails_a_row_whose_device_graph_names_with_a_refused_id() {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new("a b", "SN-9").group_tag("MTR-Rooms")]);
    graph.add_user(StandInUser::new("room-9@contoso.com").license("Microsoft_Teams_Rooms_Pro"));
    let dir = temp_dir("refused-apply");
    let csv = write_csv(
        &dir,
        "serial_number,user_principal_name\nSN-9,room-9@contoso.com\n",
    );
    let out = against(&graph, "t", "apply", &["--csv", csv.to_str().unwrap()]).await;
    let all = both(&out);
    assert!(
        all.contains(
            r#"invalid input: device_id "a b" contains ' ': ids are ASCII letters, digits, '-', '_' and '.'"#
        ),
        "{all}"
    );
    assert!(!out.status.success(), "{all}");
    assert!(writes_to(&graph).is_empty(), "{:?}", writes_to(&graph));
    dump("apply", &all);
}
