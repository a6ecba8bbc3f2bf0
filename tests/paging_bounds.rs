//! A device list that never ends, or that repeats a page link, stops the serial lookup with an
//! error after a fixed number of requests (counted at the server), never looping until the
//! lookup deadline.

mod support;

use autopilot_resource_account::Error;
use autopilot_resource_account_stand_in::{Reply, StandIn};
use serde_json::json;
use support::client;

/// An empty page whose next link carries `token`.
fn page(base: &str, token: usize) -> Reply {
    Reply::status(200).json(&json!({
        "value": [],
        "@odata.nextLink": format!(
            "{base}/deviceManagement/windowsAutopilotDeviceIdentities?$skiptoken={token}"
        ),
    }))
}

/// Kills the mutants `>` → `>=` and `>` → `==` on the page bound in `lookup_serial` (cargo
/// mutants): exactly 1,000 pages are read, not 999.
#[tokio::test]
async fn an_endless_device_list_stops_after_exactly_1000_pages() {
    let graph = StandIn::start().await.unwrap();
    let base = graph.base_url();
    graph.script_any((1..=1100).map(|n| page(&base, n)));
    let err = client(&graph)
        .find_autopilot_devices_by_serial("PF1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert!(
        err.to_string().contains("did not end after 1000 pages"),
        "{err}"
    );
    assert_eq!(graph.requests().len(), 1000);
}

/// Kills the mutant `||` → `&&` in `lookup_serial` (cargo mutants): a page link seen before
/// stops the lookup at once, not after the page bound.
#[tokio::test]
async fn a_repeated_page_link_stops_the_lookup_at_once() {
    let graph = StandIn::start().await.unwrap();
    let base = graph.base_url();
    graph.script_any((1..=1100).map(|_| page(&base, 7)));
    let err = client(&graph)
        .find_autopilot_devices_by_serial("PF1")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("did not end after 2 pages"),
        "{err}"
    );
    assert_eq!(graph.requests().len(), 2);
}
