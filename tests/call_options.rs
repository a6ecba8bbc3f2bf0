//! Per-call options and a success's metadata (issue 25), as the server sees them: the
//! `client-request-id` a caller gives goes out on every attempt, a call's timeout replaces the
//! client's, a bad option sends nothing, and `send()` reports the answer's status and ids.

mod support;

use std::time::Duration;

use autopilot_resource_account::{
    CallOptions, Error, GraphClient, InputErrorKind, Response, RetryPolicy,
};
use autopilot_resource_account_stand_in::{Reply, StandIn};
use support::{DEVICE, assignment, client, device};

const CALLER_ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

#[tokio::test]
async fn send_reports_the_answers_status_and_ids() {
    let graph = StandIn::start().await.unwrap();
    graph.script(
        DEVICE,
        [Reply::status(204).header("request-id", "graph-req-1")],
    );
    let client = client(&graph);
    let response: Response<()> = client
        .assign_resource_account_to_device(&device(), &assignment())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.request_id(), Some("graph-req-1"));
    assert_eq!(response.attempts(), 1);
    let sent = graph.requests();
    assert_eq!(sent.len(), 1);
    // The id the response reports is the one that went out.
    assert_eq!(
        sent[0].header("client-request-id"),
        Some(response.client_request_id())
    );
}

#[tokio::test]
async fn a_read_sent_gives_its_value_and_status() {
    let graph = StandIn::start().await.unwrap();
    graph.script(
        DEVICE,
        [Reply::status(200)
            .header("request-id", "graph-req-2")
            .json(&serde_json::json!({"id": DEVICE, "serialNumber": "PF1"}))],
    );
    let client = client(&graph);
    let response = client.autopilot_device(&device()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.request_id(), Some("graph-req-2"));
    assert_eq!(response.value().serial_number.as_deref(), Some("PF1"));
    assert_eq!(response.into_value().id.as_deref(), Some(DEVICE));
}

#[tokio::test(start_paused = true)]
async fn the_callers_client_request_id_goes_out_on_every_attempt() {
    let graph = StandIn::start().await.unwrap();
    graph.script(DEVICE, [Reply::status(503), Reply::status(204)]);
    let client = client(&graph);
    // Given in upper case: sent in Graph's form.
    let response = client
        .unassign_resource_account_from_device(&device())
        .with_client_request_id(CALLER_ID.to_uppercase())
        .send()
        .await
        .unwrap();
    assert_eq!(response.attempts(), 2);
    assert_eq!(response.client_request_id(), CALLER_ID);
    let sent: Vec<_> = graph
        .requests()
        .iter()
        .map(|r| r.header("client-request-id").unwrap().to_owned())
        .collect();
    assert_eq!(sent, [CALLER_ID, CALLER_ID]);
}

#[tokio::test]
async fn the_next_call_gets_a_fresh_id_again() {
    let graph = StandIn::start().await.unwrap();
    let client = client(&graph);
    let options = CallOptions::default().with_client_request_id(CALLER_ID);
    client
        .allow_next_enrollment(&device())
        .options(options)
        .await
        .unwrap();
    client.allow_next_enrollment(&device()).await.unwrap();
    let sent = graph.requests();
    assert_eq!(sent[0].header("client-request-id"), Some(CALLER_ID));
    let second = sent[1].header("client-request-id").unwrap();
    assert_ne!(second, CALLER_ID);
    assert!(uuid::Uuid::parse_str(second).is_ok());
}

#[tokio::test]
async fn a_bad_option_is_refused_before_anything_is_sent() {
    let graph = StandIn::start().await.unwrap();
    let client = client(&graph);
    let cases = [
        (
            CallOptions::default().with_client_request_id("not-a-guid"),
            InputErrorKind::ClientRequestId,
            "client_request_id",
        ),
        (
            CallOptions::default().with_client_request_id(""),
            InputErrorKind::ClientRequestId,
            "client_request_id",
        ),
        (
            // A header injection attempt is refused like any other non-GUID.
            CallOptions::default().with_client_request_id(format!("{CALLER_ID}\r\nx-evil: 1")),
            InputErrorKind::ClientRequestId,
            "client_request_id",
        ),
        (
            CallOptions::default().with_timeout(Duration::ZERO),
            InputErrorKind::ZeroTimeout,
            "timeout",
        ),
    ];
    for (options, kind, parameter) in cases {
        let err = client
            .assign_resource_account_to_device(&device(), &assignment())
            .options(options.clone())
            .await
            .unwrap_err();
        let Error::InvalidInput(input) = &err else {
            panic!("{options:?}: {err:?}");
        };
        assert_eq!(input.kind(), kind, "{options:?}");
        assert_eq!(input.parameter(), Some(parameter));
        assert!(!err.to_string().contains('\n'), "one line: {err}");
    }
    assert!(graph.requests().is_empty(), "nothing may be sent");
}

/// A client whose own timeout is long and which does not retry a timeout.
fn patient_client(graph: &StandIn) -> GraphClient {
    GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token(support::TOKEN)
        .timeout(Duration::from_secs(600))
        .retry_policy(RetryPolicy::default().with_max_retries(0))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_calls_timeout_replaces_the_clients() {
    let graph = StandIn::start().await.unwrap();
    // Answers after 30 s: within the client's 600 s, beyond the call's 2 s.
    graph.script_any([
        Reply::status(204).delay(Duration::from_secs(30)),
        Reply::status(204).delay(Duration::from_secs(30)),
    ]);
    let client = patient_client(&graph);
    let start = tokio::time::Instant::now();
    let err = client
        .assign_resource_account_to_device(&device(), &assignment())
        .with_timeout(Duration::from_secs(2))
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    // Without the option, the client's timeout holds: the slow answer arrives.
    let start = tokio::time::Instant::now();
    client
        .assign_resource_account_to_device(&device(), &assignment())
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn a_calls_timeout_holds_on_every_attempt() {
    let graph = StandIn::start().await.unwrap();
    // A quick 503, then an answer slower than the call's timeout: the retry has it too.
    graph.script(
        DEVICE,
        [
            Reply::status(503),
            Reply::status(204).delay(Duration::from_secs(30)),
        ],
    );
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token(support::TOKEN)
        .timeout(Duration::from_secs(600))
        .retry_policy(RetryPolicy::default().with_max_retries(1))
        .build()
        .unwrap();
    let err = client
        .assign_resource_account_to_device(&device(), &assignment())
        .with_timeout(Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 2, .. }),
        "{err:?}"
    );
}

/// A token source that never answers.
struct Hung;

impl autopilot_resource_account::TokenProvider for Hung {
    fn token<'a>(
        &'a self,
        _scopes: &'a [&'a str],
    ) -> autopilot_resource_account::BoxFuture<
        'a,
        Result<autopilot_resource_account::AccessToken, autopilot_resource_account::TokenError>,
    > {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn a_calls_timeout_bounds_the_wait_for_the_token_too() {
    let graph = StandIn::start().await.unwrap();
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(Hung)
        .timeout(Duration::from_secs(600))
        .retry_policy(RetryPolicy::default().with_max_retries(0))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let err = client
        .allow_next_enrollment(&device())
        .with_timeout(Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TokenSource(_)), "{err:?}");
    assert!(err.to_string().contains("the call's timeout"), "{err}");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(3) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    assert!(graph.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_bulk_outcome_names_the_request_id_of_its_answer() {
    use autopilot_resource_account::{BulkItem, BulkOptions, Target};
    use futures_util::StreamExt;

    let graph = StandIn::start().await.unwrap();
    let (ok, refused) = (support::id("dev-ok"), support::id("dev-refused"));
    graph.script(
        ok.as_str(),
        [Reply::status(204).header("request-id", "req-accepted")],
    );
    graph.script(
        refused.as_str(),
        [Reply::status(400)
            .header("request-id", "req-refused")
            .odata("BadRequest", "no")],
    );
    let client = client(&graph);
    let items: Vec<_> = [&ok, &refused]
        .into_iter()
        .map(|id| BulkItem::new(id.clone(), Target::device(id.clone()), assignment()))
        .collect();
    let outcomes: Vec<_> = client
        .assign_many(items, BulkOptions::default())
        .collect()
        .await;
    for outcome in &outcomes {
        let expected = if outcome.key() == &ok {
            "req-accepted"
        } else {
            "req-refused"
        };
        assert_eq!(outcome.request_id(), Some(expected), "{outcome:?}");
    }
    assert_eq!(outcomes.len(), 2);
}

/// Kills the mutants that empty the `Debug` of `Call` and `CallFuture`: a call shows its options
/// (a log line of a pending call says what it will send), a future says what it is.
#[tokio::test]
async fn a_call_and_its_future_debug_print_what_they_are() {
    use std::future::IntoFuture;

    let graph = StandIn::start().await.unwrap();
    let client = client(&graph);
    let device = device();
    let call = client
        .allow_next_enrollment(&device)
        .with_client_request_id(CALLER_ID);
    let shown = format!("{call:?}");
    assert!(shown.starts_with("Call"), "{shown}");
    assert!(shown.contains(CALLER_ID), "{shown}");
    assert!(!shown.contains(support::TOKEN), "{shown}");
    let future = call.into_future();
    assert_eq!(format!("{future:?}"), "CallFuture");
    drop(future);
    assert!(
        graph.requests().is_empty(),
        "a call not awaited sends nothing"
    );
}

/// Kills the mutants that answer the getters with a constant: the options read back as set.
#[test]
fn options_read_back_what_was_set() {
    let none = CallOptions::default();
    assert_eq!((none.timeout(), none.client_request_id()), (None, None));
    let set = CallOptions::default()
        .with_timeout(Duration::from_millis(1500))
        .with_client_request_id(CALLER_ID);
    assert_eq!(set.timeout(), Some(Duration::from_millis(1500)));
    assert_eq!(set.client_request_id(), Some(CALLER_ID));
    assert_ne!(set, none);
}
