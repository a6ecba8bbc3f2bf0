//! Retries as the server sees them: timing, `Retry-Attempt`, one `client-request-id` per call,
//! what is retried and what is not, and the client-wide throttle gate.

use std::time::{Duration, Instant, SystemTime};

use autopilot_resource_account::stand_in::{Reply, StandIn};
use autopilot_resource_account::{GraphClient, ResourceAccountAssignment, RetryPolicy};

fn client(graph: &StandIn, policy: RetryPolicy) -> GraphClient {
    GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("t")
        .retry_policy(policy)
        .build()
        .unwrap()
}

async fn assign(
    client: &GraphClient,
    device: &str,
) -> Result<(), autopilot_resource_account::Error> {
    client
        .assign_resource_account_to_device(device, &ResourceAccountAssignment::default())
        .await
}

fn fast() -> RetryPolicy {
    RetryPolicy::default().base_delay(Duration::from_millis(10))
}

#[tokio::test]
async fn retry_after_seconds_is_obeyed_with_stable_client_request_id() {
    let graph = StandIn::start().await.unwrap();
    graph.script(
        "d",
        [Reply::status(429)
            .header("Retry-After", "1")
            .odata("TooManyRequests", "slow down")],
    );
    let client = client(&graph, RetryPolicy::default());
    let start = Instant::now();
    assign(&client, "d").await.unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_millis(2500),
        "{elapsed:?}"
    );

    let requests = graph.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("retry-attempt"), None);
    assert_eq!(requests[1].header("retry-attempt"), Some("1"));
    assert_eq!(
        requests[0].header("client-request-id"),
        requests[1].header("client-request-id")
    );
    assert_eq!(requests[0].body, requests[1].body);
    let gap = requests[1].received_at - requests[0].received_at;
    assert!(gap >= Duration::from_secs(1), "{gap:?}");
}

#[tokio::test]
async fn retry_after_http_date_is_obeyed() {
    let graph = StandIn::start().await.unwrap();
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    graph.script("d", [Reply::status(503).header("Retry-After", at)]);
    let client = client(&graph, RetryPolicy::default());
    let start = Instant::now();
    assign(&client, "d").await.unwrap();
    let elapsed = start.elapsed();
    // An HTTP-date has whole-second resolution: "2 s ahead" is 1–2 s from now.
    assert!(
        elapsed >= Duration::from_millis(1000) && elapsed < Duration::from_millis(3000),
        "{elapsed:?}"
    );
    assert_eq!(graph.requests().len(), 2);
}

#[tokio::test]
async fn status_500_is_not_retried() {
    let graph = StandIn::start().await.unwrap();
    graph.script(
        "d",
        [Reply::status(500).odata("InternalServerError", "boom")],
    );
    let err = assign(&client(&graph, fast()), "d").await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.graph().unwrap().attempts(), 1);
    assert_eq!(graph.requests().len(), 1);
}

#[tokio::test]
async fn status_503_is_retried_the_default_number_of_times() {
    let graph = StandIn::start().await.unwrap();
    graph.script("d", (0..10).map(|_| Reply::status(503)));
    let err = assign(&client(&graph, fast()), "d").await.unwrap_err();
    let requests = graph.requests();
    assert_eq!(requests.len(), 4, "1 attempt + 3 retries");
    let attempts: Vec<_> = requests.iter().map(|r| r.header("retry-attempt")).collect();
    assert_eq!(attempts, [None, Some("1"), Some("2"), Some("3")]);
    let ids: std::collections::HashSet<_> = requests
        .iter()
        .map(|r| r.header("client-request-id"))
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.graph().unwrap().attempts(), 4);
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
    // Exponential: gaps of ≥ 10, 20, 40 ms.
    let gaps: Vec<_> = requests
        .windows(2)
        .map(|w| w[1].received_at - w[0].received_at)
        .collect();
    for (gap, min) in gaps.iter().zip([10, 20, 40]) {
        assert!(*gap >= Duration::from_millis(min), "{gaps:?}");
    }
}

#[tokio::test]
async fn retry_after_beyond_the_cap_ends_the_call_without_sleeping() {
    let graph = StandIn::start().await.unwrap();
    graph.script(
        "d",
        [Reply::status(429)
            .header("Retry-After", "300")
            .odata("TooManyRequests", "later")],
    );
    let start = Instant::now();
    let err = assign(&client(&graph, RetryPolicy::default()), "d")
        .await
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(err.status(), Some(429));
    assert_eq!(
        err.graph().unwrap().retry_after(),
        Some(Duration::from_secs(300))
    );
    assert_eq!(graph.requests().len(), 1);
}

#[tokio::test]
async fn connection_reset_before_an_answer_is_retried() {
    let graph = StandIn::start().await.unwrap();
    graph.script("d", [Reply::reset(), Reply::reset()]);
    assign(&client(&graph, fast()), "d").await.unwrap();
    let answered: Vec<_> = graph.requests().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [None, None, Some(204)]);
}

#[tokio::test]
async fn transport_failures_report_attempts() {
    let graph = StandIn::start().await.unwrap();
    graph.script("d", (0..10).map(|_| Reply::reset()));
    let err = assign(&client(&graph, fast().max_retries(2)), "d")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            autopilot_resource_account::Error::Transport { attempts: 3, .. }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("transport error after 3 attempts"),
        "{err}"
    );
}

#[tokio::test]
async fn one_429_pauses_every_call_of_the_client() {
    let graph = StandIn::start().await.unwrap();
    graph.script(
        "a",
        [Reply::status(429)
            .header("Retry-After", "1")
            .odata("TooManyRequests", "slow down")],
    );
    let client = client(&graph, RetryPolicy::default());
    let a = tokio::spawn({
        let client = client.clone();
        async move { assign(&client, "a").await }
    });
    // Wait until the 429 has been answered, then start an unrelated call.
    while graph.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assign(&client, "b").await.unwrap();
    a.await.unwrap().unwrap();
    let requests = graph.requests();
    let first_429 = requests[0].received_at;
    let b = requests
        .iter()
        .find(|r| r.device_id.as_deref() == Some("b"))
        .unwrap();
    assert!(
        b.received_at - first_429 >= Duration::from_millis(950),
        "b was sent {:?} after the 429",
        b.received_at - first_429
    );
}
