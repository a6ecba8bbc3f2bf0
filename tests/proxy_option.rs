//! `GraphClientBuilder::proxy` (issue 25): https requests go through the proxy given (asked to
//! `CONNECT`, so it never sees the token); plain http to a loopback base URL never does; a
//! proxy URL that does not parse or is not http/https is refused at `build()`, and neither
//! the builder's `Debug` nor the error shows its credentials.

mod support;

use std::sync::Mutex;
use std::time::Duration;

use autopilot_resource_account::{Error, GraphClient, InputErrorKind, RetryPolicy};
use autopilot_resource_account_stand_in::StandIn;
use support::{TOKEN, assignment, device, recording_proxy};

fn seen(received: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&received.lock().unwrap()).into_owned()
}

#[tokio::test]
async fn https_goes_through_the_proxy_given() {
    let (proxy, received) = recording_proxy();
    let client = GraphClient::builder()
        .bearer_token(TOKEN)
        .proxy(&proxy)
        .timeout(Duration::from_millis(500))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    // The proxy never answers: the call times out without leaving loopback.
    let err = client
        .assign_resource_account_to_device(&device(), &assignment())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let seen = seen(&received);
    assert!(
        seen.starts_with("CONNECT graph.microsoft.com:443 "),
        "{seen:?}"
    );
    assert!(!seen.contains(TOKEN), "{seen:?}");
}

#[tokio::test]
async fn plain_http_to_loopback_never_uses_the_proxy_given() {
    let (proxy, received) = recording_proxy();
    let graph = StandIn::start().await.unwrap();
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token(TOKEN)
        .proxy(&proxy)
        .build()
        .unwrap();
    client
        .assign_resource_account_to_device(&device(), &assignment())
        .await
        .expect("the loopback stand-in answers directly");
    assert_eq!(graph.requests().len(), 1);
    assert!(received.lock().unwrap().is_empty(), "{:?}", seen(&received));
}

#[test]
fn a_proxy_url_that_cannot_work_is_refused_at_build() {
    for (url, says) in [
        ("not a url", "does not parse"),
        ("proxy.contoso.com:3128", "must be http://host:port"),
        ("socks5://127.0.0.1:1080", "must be http://host:port"),
        ("file:///tmp/proxy", "must be http://host:port"),
        (
            "ftp://user:s3cret@proxy.contoso.com",
            "must be http://host:port",
        ),
    ] {
        let err = GraphClient::builder()
            .bearer_token("t")
            .proxy(url)
            .build()
            .unwrap_err();
        let Error::InvalidInput(input) = &err else {
            panic!("{url}: {err:?}");
        };
        assert_eq!(input.kind(), InputErrorKind::Proxy, "{url}");
        assert!(input.kind().is_builder_mistake());
        assert_eq!(input.parameter(), Some("proxy"));
        let text = err.to_string();
        assert!(text.contains(says), "{url}: {text}");
        assert!(!text.contains("s3cret") && !text.contains('\n'), "{text}");
    }
    // Credentials are allowed, and the builder's Debug does not show them.
    let builder = GraphClient::builder()
        .bearer_token("t")
        .proxy("http://user:s3cret@127.0.0.1:3128");
    assert!(!format!("{builder:?}").contains("s3cret"));
    builder.build().unwrap();
    GraphClient::builder()
        .bearer_token("t")
        .proxy("https://proxy.contoso.com")
        .build()
        .unwrap();
}
