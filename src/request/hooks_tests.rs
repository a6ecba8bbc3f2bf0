//! Unit tests of the hooks that need their private parts (`finish`, the request `pre` builds).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::AUTHORIZATION;

use super::{MAX_ERROR_BODY, finish};
use crate::GraphClient;

#[tokio::test]
async fn the_authorization_header_is_marked_sensitive() {
    // Mutant killed: `set_sensitive(true)` removed. Checked on the request `pre` hands to
    // `exec`, for a fresh header and for the one reused for the same token.
    let client = GraphClient::builder()
        .base_url("http://127.0.0.1:9/beta")
        .bearer_token("s3cret-token")
        .build()
        .unwrap();
    let url = "http://127.0.0.1:9/beta/deviceManagement/windowsAutopilotDeviceIdentities/d/assignResourceAccountToDevice";
    let info = OperationInfo {
        operation_id: crate::generated::operations::ASSIGN_RESOURCE_ACCOUNT_TO_DEVICE,
    };
    for _ in 0..2 {
        let mut request = reqwest::Client::new().post(url).build().unwrap();
        client
            .generated()
            .pre::<()>(&mut request, &info)
            .await
            .unwrap();
        let auth = &request.headers()[AUTHORIZATION];
        assert!(auth.is_sensitive());
        let shown = format!("{:?}", request.headers());
        assert!(
            shown.contains("Sensitive") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn an_error_body_is_read_only_to_its_bound() {
    // Mutant killed: reading the whole 10 MB body and keeping its first 64 KiB. The body is a
    // stream that counts the chunks it is asked for.
    const CHUNK: usize = 16 * 1024;
    let polled = Arc::new(AtomicUsize::new(0));
    let counter = polled.clone();
    let chunks = futures_util::stream::iter(0..640).map(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; CHUNK]))
    });
    let body = reqwest::Body::wrap_stream(chunks);
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::BAD_GATEWAY;
    let response = finish(reqwest::Response::from(response)).await.unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(response.bytes().await.unwrap().len(), MAX_ERROR_BODY);
    assert_eq!(
        polled.load(Ordering::SeqCst),
        MAX_ERROR_BODY / CHUNK,
        "chunks read of the 640"
    );
}

#[test]
fn the_client_debug_shows_its_settings_never_its_token() {
    // Mutant killed: `Debug for HookState` replaced by `Ok(())` (cargo mutants): the hook state
    // is shown by what is safe to show (scopes, retry policy), and the token never.
    let client = GraphClient::builder()
        .base_url("http://127.0.0.1:9/beta")
        .bearer_token("s3cret-token")
        .build()
        .unwrap();
    let shown = format!("{client:?}");
    assert!(
        shown.contains("HookState") && shown.contains("scopes") && shown.contains("retry"),
        "{shown}"
    );
    assert!(!shown.contains("s3cret"), "{shown}");
}

#[tokio::test]
async fn an_error_body_is_cut_at_its_bound_inside_a_chunk() {
    // Mutant killed: `MAX_ERROR_BODY - body.len()` → `+` in `read_bounded` (cargo mutants). The
    // chunks (10,000 bytes) do not divide the bound, so the last one must be cut inside.
    let chunks = futures_util::stream::iter(0..20)
        .map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 10_000])));
    let mut response = http::Response::new(reqwest::Body::wrap_stream(chunks));
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    let response = finish(reqwest::Response::from(response)).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.bytes().await.unwrap().len(), MAX_ERROR_BODY);
}
