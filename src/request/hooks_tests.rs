//! Unit tests of the hooks that need their private parts (`finish`); those that need a
//! `GraphClient` are in the `api` layer (`client.rs`, `hooks_tests`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;

use super::{MAX_ERROR_BODY, finish};

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
