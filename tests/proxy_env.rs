//! Proxy variables in the environment never see a bearer token sent over plain http (the
//! loopback stand-in), while https still honours them (CONNECT keeps TLS end to end).
//!
//! Environment variables are process-wide: this file is its own test binary, with one test, so
//! nothing else reads them while they are set.

mod support;

use std::time::Duration;

use autopilot_resource_account::{GraphClient, ResourceAccountAssignment, RetryPolicy};
use autopilot_resource_account_stand_in::StandIn;
use support::recording_proxy;

const TOKEN: &str = "real-token-must-not-reach-a-proxy";

#[test]
fn plain_http_to_loopback_never_goes_through_an_environment_proxy() {
    let (proxy, received) = recording_proxy();
    // SAFETY: the only test of this binary sets them before starting any other thread that
    // reads the environment (the proxy thread does not).
    unsafe {
        for name in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            std::env::set_var(name, &proxy);
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let graph = StandIn::start().await.unwrap();
        let client = GraphClient::builder()
            .base_url(&graph.base_url())
            .bearer_token(TOKEN)
            .timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        client
            .assign_resource_account_to_device(&id("d-1"), &ResourceAccountAssignment::default())
            .await
            .expect("the loopback stand-in answers directly");
        assert_eq!(graph.requests().len(), 1);
        assert_eq!(
            graph.requests()[0].header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(
            received.lock().unwrap().is_empty(),
            "the proxy received {:?}",
            String::from_utf8_lossy(&received.lock().unwrap())
        );

        // https still uses the proxy: it is asked to CONNECT, and sees no token (the proxy
        // never answers, so the call times out without leaving loopback).
        let client = GraphClient::builder()
            .bearer_token(TOKEN)
            .timeout(Duration::from_millis(500))
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let err = client
            .assign_resource_account_to_device(&id("d-1"), &ResourceAccountAssignment::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, autopilot_resource_account::Error::Transport { .. }),
            "{err:?}"
        );
        let seen = String::from_utf8_lossy(&received.lock().unwrap()).into_owned();
        assert!(
            seen.starts_with("CONNECT graph.microsoft.com:443 "),
            "{seen:?}"
        );
        assert!(!seen.contains(TOKEN), "{seen:?}");
    });
}

/// A device id the test knows is allowed.
fn id(id: &str) -> autopilot_resource_account::DeviceId {
    id.parse().unwrap()
}
