//! Set-up the integration tests share, defined once: `mod support;` in a test file.
//! (`public_surface.rs` beside it is `include!`d by tests/generated_surface.rs and the xtask.)
// Each test crate uses only part of this.
#![allow(dead_code)]

#[cfg(feature = "azure-identity")]
pub mod credential;

use std::collections::HashSet;
use std::future::IntoFuture;
use std::time::Duration;

use autopilot_resource_account::{
    DeviceId, GraphClient, ProfileId, ResourceAccountAssignment, USER_AGENT,
};
use autopilot_resource_account_stand_in::{RecordedRequest, Reply, StandIn};

/// The bearer token of [`client`].
pub const TOKEN: &str = "test-token-Zm9vYmFy";

/// An Autopilot device id (a GUID, as Graph's are).
pub const DEVICE: &str = "7f9b6c1e-0000-4000-8000-000000000001";

/// [`DEVICE`] as a checked id.
pub fn device() -> DeviceId {
    id(DEVICE)
}

/// A device id the test knows is allowed.
pub fn id(id: &str) -> DeviceId {
    id.parse().unwrap()
}

/// A profile id the test knows is allowed.
pub fn profile(id: &str) -> ProfileId {
    id.parse().unwrap()
}

/// A client of `graph` with the static token [`TOKEN`].
pub fn client(graph: &StandIn) -> GraphClient {
    GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token(TOKEN)
        .build()
        .unwrap()
}

/// An assignment with every field set.
pub fn assignment() -> ResourceAccountAssignment {
    ResourceAccountAssignment::new()
        .with_user_principal_name("room-101@contoso.com")
        .with_addressable_user_name("Room 101")
        .with_resource_account_name("room-101")
}

/// The headers every call of [`client`] carries, whatever its method and body: the token, JSON
/// accepted, this crate's User-Agent, no `api-version`, a fresh v4 GUID `client-request-id`.
pub fn assert_call_headers(request: &RecordedRequest) {
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("user-agent"), Some(USER_AGENT));
    assert_eq!(
        request.header("api-version"),
        None,
        "progenitor's api-version header must be stripped"
    );
    let id = request
        .header("client-request-id")
        .expect("client-request-id");
    let parsed = uuid::Uuid::parse_str(id).expect("client-request-id is a GUID");
    assert_eq!(parsed.get_version_num(), 4);
}

/// Awaits `call`, which must end by itself: the bound only keeps a regression (a hung token
/// source) from hanging the suite.
pub async fn ends_by_itself<T>(call: impl IntoFuture<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .expect("the call ends by itself")
}

/// Three calls for [`DEVICE`] through `client`, whose token provider hands out `token-1`,
/// `token-2`, … on each fetch; `graph` refuses the first with `401` (expired token), without a
/// retry. The refused token is dropped once: the next calls carry one new token.
pub async fn assert_a_401_renews_the_token_once(graph: &StandIn, client: &GraphClient) {
    graph.script(
        DEVICE,
        [Reply::status(401).odata("InvalidAuthenticationToken", "Access token has expired")],
    );
    let assignment = assignment();
    let device = device();
    let call = || client.assign_resource_account_to_device(&device, &assignment);
    let err = call().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.graph().unwrap().attempts(), 1, "a 401 is not retried");
    call().await.unwrap();
    call().await.unwrap();
    let sent: Vec<_> = graph
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["Bearer token-1", "Bearer token-2", "Bearer token-2"]);
}

/// The distinct `client-request-id`s of `requests`: one per call when every call gets a fresh one.
pub fn client_request_ids(requests: &[RecordedRequest]) -> HashSet<String> {
    requests
        .iter()
        .map(|r| r.header("client-request-id").unwrap().to_owned())
        .collect()
}

/// A "proxy" on loopback that answers nothing and records every byte it is sent.
pub fn recording_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = std::io::Read::read(&mut stream, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    (url, received)
}
