//! A success whose body the connection cuts short is a transport failure (no answer to read),
//! not "an answer the API description does not allow": only a body the hooks cut at their bound
//! is that. Kills the mutant found by cargo mutants in `Error::from_generated` (the match guard
//! `body_too_long(&source)` replaced with `true`, which reported every broken body as too long).

use std::error::Error as _;
use std::io::{Read, Write};
use std::time::Duration;

use autopilot_resource_account::{DeviceId, Error, GraphClient, RetryPolicy};

/// Answers each connection with a 200 that promises 1,000 bytes of JSON, sends 7 and closes.
fn cutting_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"id\":",
            );
            let _ = stream.flush();
        }
    });
    format!("http://{addr}/beta")
}

#[tokio::test]
async fn a_success_body_cut_by_the_connection_is_a_transport_error() {
    let client = GraphClient::builder()
        .base_url(&cutting_server())
        .bearer_token("t")
        .retry_policy(RetryPolicy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let device: DeviceId = "dev-1".parse().unwrap();
    let err = client.autopilot_device(&device).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { .. }),
        "a body cut short is no answer: {err:?}"
    );
    assert!(
        !err.to_string().contains("longer than"),
        "not the hooks' bound: {err}"
    );
    // What failed, as the opaque TransportError says it: not the connection, not a timeout
    // (kills `is_connect -> true` and `|| -> &&` in its Display, found by cargo mutants).
    let Error::Transport { source, .. } = &err else {
        unreachable!()
    };
    assert!(!source.is_connect(), "{source:?}");
    assert!(!source.is_timeout(), "{source:?}");
    assert_eq!(source.to_string(), "reading the response failed");
    assert_eq!(
        err.source().unwrap().to_string(),
        "reading the response failed"
    );
}
