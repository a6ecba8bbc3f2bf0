//! Error bodies as Graph (and the gateways in front of it) really send them: each becomes a
//! typed error that keeps the status, and nothing panics.

use autopilot_resource_account::{Error, GraphClient, ResourceAccountAssignment, RetryPolicy};
use autopilot_resource_account_stand_in::{Reply, StandIn};
use serde_json::json;

const TOKEN: &str = "secret-token-never-printed";

async fn answer(reply: Reply) -> Error {
    let graph = StandIn::start().await.unwrap();
    graph.script("d", [reply]);
    // One answer per call here; retries have their own tests (tests/retry.rs).
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .assign_resource_account_to_device(&id("d"), &ResourceAccountAssignment::default())
        .await
        .unwrap_err();
    let sent = graph.requests()[0]
        .header("client-request-id")
        .unwrap()
        .to_owned();
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(
        !text.contains(TOKEN) && !format!("{err:?}").contains(TOKEN),
        "{text}"
    );
    // The id we sent is always available, echoed or not.
    assert_eq!(
        err.client_request_id(),
        Some(sent.as_str()).filter(|_| err.graph().is_some())
    );
    err
}

#[tokio::test]
async fn graph_error_with_offsetless_date_and_empty_details() {
    let body = json!({"error": {
        "code": "Forbidden",
        "message": "Insufficient privileges to complete the operation.",
        "details": [],
        "innerError": {"date": "2026-11-29T12:34:56", "request-id": "11111111-2222-3333-4444-555555555555", "client-request-id": "ignored-if-different"}
    }});
    let err = answer(Reply::status(403).json(&body)).await;
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.code(), Some("Forbidden"));
    assert_eq!(
        err.request_id(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    let graph = err.graph().unwrap();
    assert_eq!(graph.date(), Some("2026-11-29T12:34:56"));
    assert_eq!(
        graph.message(),
        Some("Insufficient privileges to complete the operation.")
    );
    assert!(!err.is_retryable());
    let expected = format!(
        "Graph answered 403 Forbidden: Forbidden: Insufficient privileges to complete the operation. \
         (request-id 11111111-2222-3333-4444-555555555555, client-request-id {})",
        err.client_request_id().unwrap()
    );
    assert_eq!(err.to_string(), expected);
}

#[tokio::test]
async fn unknown_extra_properties_of_any_json_type_are_ignored() {
    let body = json!({
        "error": {
            "code": "BadRequest",
            "message": "Bad",
            "target": null,
            "details": [{"code": "x", "message": "y", "target": "z", "extra": [1, 2]}],
            "innerError": {"date": "2026-11-29T12:34:56", "request-id": "r", "number": 3, "flag": true, "list": ["a"], "obj": {"k": 1}, "nothing": null},
            "number": 42, "flag": false, "list": [1, "two"], "obj": {"nested": {"deep": []}}, "text": "t"
        },
        "@odata.context": "https://graph.microsoft.com/beta/$metadata",
        "count": 1
    });
    let err = answer(Reply::status(400).json(&body)).await;
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("BadRequest"));
    assert_eq!(err.request_id(), Some("r"));
    assert_eq!(err.graph().unwrap().odata().unwrap().details.len(), 1);
}

#[tokio::test]
async fn intune_json_inside_message_is_parsed() {
    let intune = r#"{"_version": 3, "Message": "An internal server error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: 2b5b0fa6-6d2f-4a3a-9a4e-3c1b1c9d2e7f - Url: https://fef.amsua0502.manage.microsoft.com/DeviceEnrollmentFE/StatelessDeviceEnrollmentFEService/deviceManagement/windowsAutopilotDeviceIdentities('d')/microsoft.management.services.api.assignResourceAccountToDevice?api-version=2021-09-08", "CustomApiErrorPhrase": "", "RetryAfter": null, "ErrorSourceService": "", "HttpHeaders": "{}"}"#;
    let body = json!({"error": {"code": "InternalServerError", "message": intune,
        "innerError": {"date": "2026-11-29T12:34:56", "request-id": "r", "client-request-id": "c"}}});
    let err = answer(Reply::status(500).json(&body)).await;
    assert_eq!(err.status(), Some(500));
    assert!(!err.is_retryable(), "500 is not retried");
    let detail = err.graph().unwrap().intune().expect("Intune detail");
    assert_eq!(
        detail.activity_id(),
        Some("2b5b0fa6-6d2f-4a3a-9a4e-3c1b1c9d2e7f")
    );
    assert!(
        err.to_string()
            .contains(": An internal server error has occurred - Operation ID"),
        "{err}"
    );
    assert!(!err.to_string().contains("_version"), "{err}");
}

#[tokio::test]
async fn html_502_keeps_status_and_an_excerpt() {
    let html = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1></body></html>\n";
    let err = answer(
        Reply::status(502)
            .header("Content-Type", "text/html")
            .header("request-id", "gw-1")
            .body(html),
    )
    .await;
    assert_eq!(err.status(), Some(502));
    assert_eq!(err.code(), None);
    assert_eq!(err.request_id(), Some("gw-1"));
    let excerpt = err.graph().unwrap().body_excerpt().unwrap();
    assert!(excerpt.starts_with("<!DOCTYPE html> <html>"), "{excerpt}");
    assert!(
        err.to_string()
            .starts_with("Graph answered 502 Bad Gateway: <!DOCTYPE html>"),
        "{err}"
    );
}

#[tokio::test]
async fn empty_503_is_retryable_with_status() {
    let err = answer(Reply::status(503).header("Retry-After", "7")).await;
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());
    let graph = err.graph().unwrap();
    assert_eq!(graph.body_excerpt(), None);
    assert_eq!(graph.retry_after(), Some(std::time::Duration::from_secs(7)));
    assert!(
        err.to_string()
            .starts_with("Graph answered 503 Service Unavailable"),
        "{err}"
    );
}

#[tokio::test]
async fn ten_megabyte_body_is_cut_not_buffered() {
    // A valid OData error, 10 MB long: read whole, it would decode (code "TooBig"); cut to the
    // first 64 KiB, it cannot. So the test tells a bounded read from a full one.
    let message = "x".repeat(10 * 1024 * 1024);
    let body =
        serde_json::to_vec(&json!({"error": {"code": "TooBig", "message": message}})).unwrap();
    assert!(body.len() > 10 * 1024 * 1024);
    let err = answer(
        Reply::status(500)
            .header("Content-Type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.code(), None, "the body was read past the cap");
    let excerpt = err.graph().unwrap().body_excerpt().unwrap();
    assert!(
        excerpt.starts_with(r#"{"error":{"code":"TooBig""#),
        "{excerpt:.80}"
    );
    assert!(err.to_string().len() < 600, "{}", err.to_string().len());
}

#[tokio::test]
async fn oversized_success_body_is_refused_not_buffered() {
    // A valid device, 17 MiB long: read whole, it would decode; the read must stop at the bound
    // instead (a server sending an endless 200 would otherwise fill memory until the timeout).
    let name = "x".repeat(17 * 1024 * 1024);
    let body = serde_json::to_vec(&json!({"id": "d", "displayName": name})).unwrap();
    let graph = StandIn::start().await.unwrap();
    graph.script(
        "d",
        [Reply::status(200)
            .header("Content-Type", "application/json")
            .body(body)],
    );
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.autopilot_device(&id("d")).await.unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedResponse { .. }),
        "the body was read past the bound: {err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("longer than 16777216 bytes"), "{text}");
    assert!(!err.is_retryable());
    // An ordinary device still reads.
    graph.script(
        "d",
        [Reply::status(200)
            .header("Content-Type", "application/json")
            .body(br#"{"id":"d"}"#.to_vec())],
    );
    assert_eq!(
        client
            .autopilot_device(&id("d"))
            .await
            .unwrap()
            .id
            .as_deref(),
        Some("d")
    );
}

#[tokio::test]
async fn json_that_is_not_an_odata_error_keeps_status() {
    for body in [
        json!({"error": "nope"}),
        json!([1, 2, 3]),
        json!({"error": {"code": 7}}),
        json!(null),
    ] {
        let err = answer(Reply::status(409).json(&body)).await;
        assert_eq!(err.status(), Some(409), "{body}");
        assert_eq!(err.code(), None);
    }
}

#[tokio::test]
async fn throttling_429_is_retryable_and_reads_retry_after() {
    let err = answer(
        Reply::status(429)
            .header("Retry-After", "120")
            .odata("TooManyRequests", "Too many requests"),
    )
    .await;
    assert!(err.is_retryable());
    assert_eq!(err.code(), Some("TooManyRequests"));
    assert_eq!(
        err.graph().unwrap().retry_after(),
        Some(std::time::Duration::from_secs(120))
    );
}

#[tokio::test]
async fn redirect_is_not_followed() {
    // To a second loopback server that records whether it was reached (a name that does not
    // resolve would fail the same way whether or not the redirect were followed).
    let elsewhere = StandIn::start().await.unwrap();
    let location = format!(
        "{}/deviceManagement/windowsAutopilotDeviceIdentities/d/assignResourceAccountToDevice",
        elsewhere.base_url()
    );
    let err = answer(Reply::status(307).header("Location", location)).await;
    assert_eq!(err.status(), Some(307));
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
}

#[tokio::test]
async fn connection_reset_is_a_transport_error() {
    let err = answer(Reply::reset()).await;
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.status(), None);
    assert!(err.is_retryable());
    assert!(err.to_string().starts_with("transport error"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_a_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = GraphClient::builder()
        .base_url(&format!("http://127.0.0.1:{port}/beta"))
        .bearer_token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .assign_resource_account_to_device(&id("d"), &ResourceAccountAssignment::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(!err.to_string().contains(TOKEN));
}

#[tokio::test]
async fn failing_token_source_sends_nothing() {
    use autopilot_resource_account::{AccessToken, BoxFuture, TokenError, TokenProvider};
    struct Broken;
    impl TokenProvider for Broken {
        fn token<'a>(&'a self, _: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
            Box::pin(async {
                Err(TokenError::new(
                    "AADSTS7000215: Invalid client secret provided.",
                ))
            })
        }
    }
    let graph = StandIn::start().await.unwrap();
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(Broken)
        .build()
        .unwrap();
    let err = client
        .assign_resource_account_to_device(&id("d"), &ResourceAccountAssignment::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TokenSource(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "token source failed: AADSTS7000215: Invalid client secret provided."
    );
    assert!(graph.requests().is_empty());
}

#[tokio::test]
async fn empty_token_sends_nothing() {
    use autopilot_resource_account::{AccessToken, BoxFuture, TokenError, TokenProvider};
    struct Blank;
    impl TokenProvider for Blank {
        fn token<'a>(&'a self, _: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
            Box::pin(async { Ok(AccessToken::new(" ")) })
        }
    }
    let graph = StandIn::start().await.unwrap();
    let fixed = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("")
        .build()
        .unwrap();
    let provided = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(Blank)
        .build()
        .unwrap();
    for client in [fixed, provided] {
        let err = client
            .assign_resource_account_to_device(&id("d"), &ResourceAccountAssignment::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TokenSource(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "token source failed: the token source returned an empty token"
        );
    }
    assert!(graph.requests().is_empty(), "{:?}", graph.requests());
}

/// A device id the test knows is allowed.
fn id(id: &str) -> autopilot_resource_account::DeviceId {
    id.parse().unwrap()
}
