//! `Error::source()` leads to the cause a caller can inspect: a token source's failure is its
//! `TokenError`, with the credential's own cause behind it. Kills the mutant found by cargo
//! mutants that deleted the `TokenSource` arm of `<Error as std::error::Error>::source`.

use std::error::Error as _;
use std::time::Duration;

use autopilot_resource_account::{
    AccessToken, BoxFuture, DeviceId, Error, GraphClient, RetryPolicy, TokenError, TokenProvider,
};

/// A token source that fails with a cause of its own.
struct Failing;

impl TokenProvider for Failing {
    fn token<'a>(
        &'a self,
        _scopes: &'a [&'a str],
    ) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        Box::pin(async {
            Err(TokenError::new("the credential refused")
                .with_source(std::io::Error::other("directory unreachable")))
        })
    }
}

#[tokio::test]
async fn a_token_source_failure_leads_to_its_cause() {
    let client = GraphClient::builder()
        .base_url("http://127.0.0.1:9/beta")
        .token_provider(Failing)
        .retry_policy(RetryPolicy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let device: DeviceId = "dev-1".parse().unwrap();
    let err = client.autopilot_device(&device).await.unwrap_err();
    assert!(matches!(err, Error::TokenSource(_)), "{err:?}");
    let token_error = err.source().expect("the token source's error");
    assert!(
        token_error.to_string().contains("the credential refused"),
        "{token_error}"
    );
    let cause = token_error.source().expect("the credential's own cause");
    assert_eq!(cause.to_string(), "directory unreachable");
}
