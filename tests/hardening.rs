//! Bounds that hold in (tokio's paused) time rather than on a fast machine: the serial lookup's
//! deadline, `verify_assignment`'s poll schedule, the total delay cap of a call that waits at
//! the throttle gate, a hung `invalidate`; and `localhost` reached without name resolution.
//!
//! Paused-clock tests count requests at the stand-in and read tokio's clock: they measure
//! the client's schedule, not the machine's speed.

mod support;

use std::time::Duration;

use autopilot_resource_account::{
    AccessToken, BoxFuture, Error, GraphClient, GraphClientBuilder, RetryPolicy, TokenError,
    TokenProvider,
};
use autopilot_resource_account_stand_in::{Device, PauseHint, Reply, StandIn, Throttling};
use support::{DEVICE, TOKEN, assignment, device};
use tokio::time::Instant;

/// Awaits `call`, which must end by itself; in paused time the bound is an hour of the
/// paused clock (it keeps a regression from hanging the suite, at no wall-clock cost).
async fn ends_by_itself<T>(call: impl std::future::IntoFuture<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(3600), call)
        .await
        .expect("the call ends by itself")
}

fn builder(graph: &StandIn) -> GraphClientBuilder {
    GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token(TOKEN)
}

#[tokio::test(start_paused = true)]
async fn a_slow_serial_lookup_ends_at_its_deadline() {
    // Each page answers 40 s late (within the 60 s timeout), and there are 20 of them: 800 s
    // without a deadline.
    let graph = StandIn::start().await.unwrap();
    graph.set_page_size(1);
    graph.add_devices((0..20).map(|i| Device::new(format!("d{i}"), "PF1")));
    graph.throttling(Throttling::new(PauseHint::Seconds).latency(Duration::from_secs(40)));
    let client = builder(&graph)
        .lookup_deadline(Duration::from_secs(110))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = ends_by_itself(client.find_autopilot_devices_by_serial("PF1"))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(110), "{err}");
    match &err {
        Error::DeadlineExceeded {
            deadline, pages, ..
        } => {
            assert_eq!(*deadline, Duration::from_secs(110));
            assert_eq!(
                *pages, 2,
                "pages at 40 s and 80 s; the third was cut at 110 s"
            );
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert_eq!(
        text,
        "serial lookup \"PF1\" did not finish within 110.0 s (the lookup deadline; 2 pages read)"
    );
    assert!(!err.is_retryable());
    // The third request reached the stand-in (at 100 s, half its latency) and was cut.
    assert_eq!(graph.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_default_lookup_deadline_is_five_minutes() {
    let graph = StandIn::start().await.unwrap();
    graph.set_page_size(1);
    graph.add_devices((0..20).map(|i| Device::new(format!("d{i}"), "PF1")));
    graph.throttling(Throttling::new(PauseHint::Seconds).latency(Duration::from_secs(40)));
    let client = builder(&graph).build().unwrap();
    let start = Instant::now();
    let err = ends_by_itself(client.find_autopilot_devices_by_serial("PF1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::DeadlineExceeded { pages: 7, .. }),
        "{err:?}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(300));
    // A lookup within the deadline is untouched.
    let quick = StandIn::start().await.unwrap();
    quick.add_devices([Device::new("d1", "PF1")]);
    let found = builder(&quick)
        .build()
        .unwrap()
        .find_autopilot_devices_by_serial("PF1")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

#[test]
fn a_zero_lookup_deadline_is_refused() {
    let err = GraphClient::builder()
        .bearer_token("t")
        .lookup_deadline(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("lookup deadline"), "{err}");
}

/// A device that never reports the assignment, watched for 100 s: the reads and the time.
async fn watch_for_100_s() -> (usize, Duration, Error) {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new(DEVICE, "PF1")]);
    let client = builder(&graph).build().unwrap();
    let start = Instant::now();
    let err = ends_by_itself(client.verify_assignment(
        &device(),
        &assignment(),
        Duration::from_secs(100),
    ))
    .await
    .unwrap_err();
    (graph.requests().len(), start.elapsed(), err)
}

#[tokio::test(start_paused = true)]
async fn verification_polls_on_a_doubling_schedule_capped_at_30_s() {
    // Reads at 0, 0.2, 0.6, 1.4, 3.0, 6.2, 12.6, 25.4, 51.0 (pauses doubling from 200 ms),
    // 81.0 (the 30 s cap), 100 (the rest of the timeout). Kills the mutants "no doubling"
    // (501 reads) and "no 30 s cap" (10 reads: 51.0 + 51.2 passes the timeout).
    let (reads, elapsed, err) = watch_for_100_s().await;
    assert_eq!(reads, 11, "{err}");
    // Kills "the last sleep overshoots the timeout" (a full 30 s pause from 81 s: 111 s).
    assert_eq!(elapsed, Duration::from_secs(100));
    match err {
        Error::NotVerified { waited, .. } => assert_eq!(waited, Duration::from_secs(100)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn waiting_at_the_gate_counts_toward_the_total_delay_cap() {
    // Mutant killed: the time a call waits at the gate after a 429 without `Retry-After` not
    // added to its waited time. Each refused probe would then get the whole cap again, and the
    // call would go on for as long as the server refuses (here: through all 60 refusals, then
    // succeed). With it counted, the call ends with its 429 when 10 s of waiting are used up.
    let graph = StandIn::start().await.unwrap();
    graph.script(
        DEVICE,
        (0..60).map(|_| Reply::status(429).odata("TooManyRequests", "no hint")),
    );
    let client = builder(&graph)
        .retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(50))
                .with_max_total_delay(Duration::from_secs(10)),
        )
        .build()
        .unwrap();
    let start = Instant::now();
    let err = ends_by_itself(client.assign_resource_account_to_device(&device(), &assignment()))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429), "{err}");
    assert!(
        start.elapsed() <= Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(graph.requests().len() < 60);
}

/// Hands out one token; its `invalidate` never returns (a cache waiting on a hung credential).
struct HungInvalidate;

impl TokenProvider for HungInvalidate {
    fn token<'a>(&'a self, _: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        Box::pin(async { Ok(AccessToken::new("token-1")) })
    }
    fn invalidate<'a>(&'a self, _: &'a [&'a str], _: &'a AccessToken) -> BoxFuture<'a, ()> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_invalidate_is_bounded_by_the_timeout() {
    // Mutant killed: the 401's `invalidate` awaited without the client's timeout (the call
    // would never end; `ends_by_itself` fails after 20 s).
    let graph = StandIn::start().await.unwrap();
    graph.script(
        DEVICE,
        [Reply::status(401).odata("InvalidAuthenticationToken", "expired")],
    );
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(HungInvalidate)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = ends_by_itself(client.assign_resource_account_to_device(&device(), &assignment()))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn localhost_reaches_the_loopback_stand_in_with_its_name_in_host() {
    let graph = StandIn::start().await.unwrap();
    let port = graph.addr().port();
    let client = GraphClient::builder()
        .base_url(&format!("http://localhost:{port}/beta"))
        .bearer_token(TOKEN)
        .build()
        .unwrap();
    client
        .assign_resource_account_to_device(&device(), &assignment())
        .await
        .unwrap();
    let requests = graph.requests();
    assert_eq!(requests.len(), 1);
    let host = format!("localhost:{port}");
    assert_eq!(requests[0].header("host"), Some(host.as_str()));
}
