//! `autopilot_device_pages_by_serial` (issue 25): the serial lookup as a stream of pages. Each
//! poll reads one page (counted at the stand-in) and yields its exact matches; an error is the
//! last item, after the pages before it; the lookup deadline counts the time spent reading,
//! not the caller's time between polls. The `Vec` lookup collects this stream: its own tests
//! (wire.rs, paging_bounds.rs, hardening.rs) keep their assertions.

mod support;

use std::time::Duration;

use autopilot_resource_account::{Error, GraphClient, InputErrorKind};
use autopilot_resource_account_stand_in::{Device, PauseHint, Reply, StandIn, Throttling};
use futures_util::StreamExt;
use serde_json::json;
use support::{TOKEN, client};

/// The ids of a page's devices.
fn ids(page: Result<Vec<autopilot_resource_account::AutopilotDevice>, Error>) -> Vec<String> {
    page.unwrap().into_iter().filter_map(|d| d.id).collect()
}

#[tokio::test]
async fn pages_arrive_one_by_one_with_their_exact_matches() {
    let graph = StandIn::start().await.unwrap();
    graph.set_page_size(2);
    // `contains` returns the near misses PF10 and XPF1 too; only the exact serials are kept.
    graph.add_devices([
        Device::new("d1", "PF1"),
        Device::new("d2", "PF10"),
        Device::new("d3", " pf1 "),
        Device::new("d4", "XPF1"),
        Device::new("d5", "PF1"),
    ]);
    let client = client(&graph);
    let mut pages = std::pin::pin!(client.autopilot_device_pages_by_serial("PF1"));
    assert!(
        graph.requests().is_empty(),
        "nothing is sent before the first poll"
    );
    let expected: [&[&str]; 3] = [&["d1"], &["d3"], &["d5"]];
    for (n, want) in expected.into_iter().enumerate() {
        let page = pages.next().await.expect("a page");
        assert_eq!(ids(page), want, "page {}", n + 1);
        assert_eq!(graph.requests().len(), n + 1, "one request per page");
    }
    assert!(pages.next().await.is_none());
    assert_eq!(graph.requests().len(), 3);
    // The Vec lookup: the same devices, in the same order.
    let all: Vec<_> = client
        .find_autopilot_devices_by_serial("PF1")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|d| d.id)
        .collect();
    assert_eq!(all, ["d1", "d3", "d5"]);
}

/// A page whose next link (under the stand-in's base URL) carries `token`.
fn page(base: &str, id: &str, token: usize) -> Reply {
    Reply::status(200).json(&json!({
        "value": [{ "id": id, "serialNumber": "PF1" }],
        "@odata.nextLink": format!(
            "{base}/deviceManagement/windowsAutopilotDeviceIdentities?$skiptoken={token}"
        ),
    }))
}

#[tokio::test]
async fn an_error_ends_the_stream_after_the_pages_before_it() {
    let graph = StandIn::start().await.unwrap();
    let base = graph.base_url();
    graph.script_any([
        page(&base, "d1", 1),
        page(&base, "d2", 2),
        Reply::status(400).odata("BadRequest", "no third page"),
    ]);
    let client = client(&graph);
    let items: Vec<_> = client
        .autopilot_device_pages_by_serial("PF1")
        .collect()
        .await;
    assert_eq!(items.len(), 3, "{items:?}");
    let mut items = items.into_iter();
    assert_eq!(ids(items.next().unwrap()), ["d1"]);
    assert_eq!(ids(items.next().unwrap()), ["d2"]);
    let err = items.next().unwrap().unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(graph.requests().len(), 3);
}

#[tokio::test]
async fn a_foreign_next_link_ends_the_stream_after_its_page() {
    let graph = StandIn::start().await.unwrap();
    graph.set_page_size(1);
    graph.set_next_link_base(Some("http://evil.example/beta".into()));
    graph.add_devices([Device::new("d1", "PF1"), Device::new("d2", "PF1")]);
    let client = client(&graph);
    let items: Vec<_> = client
        .autopilot_device_pages_by_serial("PF1")
        .collect()
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    let mut items = items.into_iter();
    assert_eq!(ids(items.next().unwrap()), ["d1"]);
    let err = items.next().unwrap().unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert!(
        err.to_string().contains("outside the client's base URL"),
        "{err}"
    );
    assert_eq!(graph.requests().len(), 1, "the foreign link is never sent");
}

#[tokio::test]
async fn a_refused_serial_is_the_only_item() {
    let graph = StandIn::start().await.unwrap();
    let client = client(&graph);
    let items: Vec<_> = client
        .autopilot_device_pages_by_serial("  ")
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    match &items[0] {
        Err(Error::InvalidInput(input)) => assert_eq!(input.kind(), InputErrorKind::Serial),
        other => panic!("{other:?}"),
    }
    assert!(graph.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_deadline_counts_reading_not_the_callers_time_between_pages() {
    // Pages answer 40 s late; the deadline is 100 s. The caller waits 1000 s after the first
    // page: that does not count, the second page's 40 s do (20 s left), and the third read is
    // cut 20 s in.
    let graph = StandIn::start().await.unwrap();
    graph.set_page_size(1);
    graph.add_devices((0..5).map(|i| Device::new(format!("d{i}"), "PF1")));
    graph.throttling(Throttling::new(PauseHint::Seconds).latency(Duration::from_secs(40)));
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token(TOKEN)
        .lookup_deadline(Duration::from_secs(100))
        .build()
        .unwrap();
    let mut pages = std::pin::pin!(client.autopilot_device_pages_by_serial("PF1"));
    assert_eq!(ids(pages.next().await.unwrap()), ["d0"]);
    tokio::time::sleep(Duration::from_secs(1000)).await;
    assert_eq!(ids(pages.next().await.unwrap()), ["d1"]);
    let start = tokio::time::Instant::now();
    let err = pages.next().await.unwrap().unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(20), "{err}");
    assert!(
        matches!(err, Error::DeadlineExceeded { pages: 2, .. }),
        "{err:?}"
    );
    assert!(pages.next().await.is_none(), "the error ends the stream");
}
