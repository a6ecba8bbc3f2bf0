//! The log output of calls carries the operation, ids, attempts, status and Graph's ids, and
//! never the token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use autopilot_resource_account::{GraphClient, ResourceAccountAssignment, RetryPolicy};
use autopilot_resource_account_stand_in::{Reply, StandIn};

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJ-very-secret-token";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn spans_carry_ids_and_status_and_never_the_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let graph = StandIn::start().await.unwrap();
    graph.script(
        "dev-1",
        [Reply::status(429)
            .header("Retry-After", "0")
            .header(
                "x-ms-ags-diagnostic",
                r#"{"ServerInfo":{"DataCenter":"West Europe"}}"#,
            )
            .odata("TooManyRequests", "slow down")],
    );
    graph.script("dev-2", [Reply::status(403).odata("Forbidden", "no")]);
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token(TOKEN)
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap();
    let assignment = ResourceAccountAssignment::default();
    client
        .assign_resource_account_to_device(&id("dev-1"), &assignment)
        .await
        .unwrap();
    let err = client
        .assign_resource_account_to_deployment_profile_device(
            &profile("prof-1"),
            &id("dev-2"),
            &assignment,
        )
        .await
        .unwrap_err();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        !logs.contains(TOKEN),
        "the token leaked into the logs:\n{logs}"
    );
    assert!(!logs.contains("very-secret"), "{logs}");
    for expected in [
        "operation=\"assign_resource_account_to_device\"",
        "device_id=\"dev-1\"",
        "profile_id=\"prof-1\"",
        "attempts=2",
        "status=429",
        "retrying",
        "assignment accepted",
        "assignment failed",
        "status=403",
        "DataCenter",
    ] {
        assert!(logs.contains(expected), "missing {expected:?} in:\n{logs}");
    }
    let sent_id = graph.requests()[0]
        .header("client-request-id")
        .unwrap()
        .to_owned();
    assert!(
        logs.contains(&sent_id),
        "client-request-id missing:\n{logs}"
    );
    let request_id = err.request_id().unwrap();
    assert!(logs.contains(request_id), "request-id missing:\n{logs}");
}

/// A device id the test knows is allowed.
fn id(id: &str) -> autopilot_resource_account::DeviceId {
    id.parse().unwrap()
}

/// A profile id the test knows is allowed.
fn profile(id: &str) -> autopilot_resource_account::ProfileId {
    id.parse().unwrap()
}
