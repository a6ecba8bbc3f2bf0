//! A value from Graph that carries terminal controls and invisible formatting characters is
//! escaped on its way out: visibly in text, as `\uXXXX` in JSON lines (which still parse to the
//! value Graph sent).

mod support;

use autopilot_resource_account_stand_in::{Device, StandIn};
use support::{both, run_with_env as run, text};

/// C1 CSI, DEL, Arabic letter mark, zero-width space, line separator, byte-order mark, RLO, RLI.
const NAME: &str = "Bad\u{9b}31mRED\u{7f}\u{61c}\u{200b}\u{2028}\u{feff}\u{202e}\u{2067}";

/// The characters of `NAME` that reached `output` raw (none may).
fn raw_controls(output: &str) -> Vec<char> {
    output
        .chars()
        .filter(|&c| !c.is_ascii_alphanumeric() && NAME.contains(c))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_display_name_from_graph_never_reaches_the_terminal_raw() {
    let graph = StandIn::start().await.unwrap();
    let mut device = Device::new("dev-1", "SN-1").group_tag("MTR-Rooms");
    device.display_name = Some(NAME.into());
    graph.add_devices([device]);
    let base = graph.base_url();
    let show = [
        "show",
        "--base-url",
        &base,
        "--token",
        "t0ken",
        "--device",
        "dev-1",
    ];

    let out = run(&show, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert_eq!(raw_controls(&stdout), Vec::<char>::new(), "{stdout:?}");
    assert!(
        stdout.contains(
            r"displayName: Bad\u{9b}31mRED\u{7f}\u{61c}\u{200b}\u{2028}\u{feff}\u{202e}\u{2067}"
        ),
        "{stdout}"
    );

    let mut json = show.to_vec();
    json.extend(["--output", "json"]);
    let out = run(&json, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert_eq!(raw_controls(&stdout), Vec::<char>::new(), "{stdout:?}");
    assert!(
        stdout.contains(r"Bad\u009b31mRED\u007f\u061c\u200b\u2028\ufeff\u202e\u2067"),
        "{stdout}"
    );
    // Still the very value Graph sent, once parsed.
    let line = stdout.lines().next().unwrap();
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(value["displayName"], NAME, "{line}");
}
