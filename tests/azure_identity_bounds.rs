//! The `azure-identity` adapter on its own, as the CLI calls it up front (`TokenProvider::token`,
//! no client around it): every fetch ends within the adapter's timeout, and what a failing
//! credential says reaches the caller redacted. Timing runs on tokio's paused clock.
#![cfg(feature = "azure-identity")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use autopilot_resource_account::azure_identity::{AzureCredential, DEFAULT_TIMEOUT};
use autopilot_resource_account::{Cloud, Error, GraphClient, TokenError};
use azure_core::credentials::{AccessToken as AzureToken, TokenCredential, TokenRequestOptions};
use azure_core::time::Duration as TimeDelta;
use support::credential::{azure_token, credential_error, fetch};
use tokio::time::Instant;

/// Answers its first `answered` calls with an hour-long token, then never answers again: an `az`
/// process that hangs, an IMDS endpoint that swallows packets.
#[derive(Debug, Default)]
struct HangsAfter {
    answered: usize,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenCredential for HangsAfter {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzureToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n > self.answered {
            std::future::pending::<()>().await;
        }
        Ok(azure_token(format!("token-{n}"), TimeDelta::hours(1)))
    }
}

fn hung() -> Arc<HangsAfter> {
    Arc::new(HangsAfter::default())
}

/// One fetch through the adapter. The outer bound (virtual time: the clock is paused) only turns
/// a regression, a fetch that never ends, into a failure instead of a hung test.
async fn token(adapter: &AzureCredential) -> Result<String, TokenError> {
    tokio::time::timeout(
        Duration::from_secs(24 * 3600),
        fetch(adapter, Cloud::Global),
    )
    .await
    .expect("the fetch ends by itself")
}

#[tokio::test(start_paused = true)]
async fn a_credential_that_never_answers_ends_in_a_token_error_after_the_default_timeout() {
    assert_eq!(DEFAULT_TIMEOUT, Duration::from_secs(60));
    let adapter = AzureCredential::new(hung());
    let start = Instant::now();
    let error = token(&adapter).await.unwrap_err();
    assert_eq!(start.elapsed(), DEFAULT_TIMEOUT);
    assert_eq!(
        error.message(),
        "azure credential did not answer within 60s for https://graph.microsoft.com/.default"
    );
}

#[tokio::test(start_paused = true)]
async fn the_timeout_is_configurable_and_bounds_a_caller_waiting_behind_a_hung_fetch() {
    let credential = hung();
    let adapter = AzureCredential::new(credential.clone()).with_timeout(Duration::from_secs(5));
    let start = Instant::now();
    let first = tokio::spawn({
        let adapter = adapter.clone();
        async move { token(&adapter).await }
    });
    // The second caller arrives a second later and waits for the first one's fetch.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = token(&adapter).await.unwrap_err();
    assert!(
        second.message().contains("did not answer within 5s"),
        "{second}"
    );
    assert!(first.await.unwrap().is_err());
    // It shared the first caller's outcome when that one gave up, at 5 s.
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(credential.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_hung_refresh_serves_the_still_valid_token_at_the_timeout() {
    let credential = Arc::new(HangsAfter {
        answered: 1,
        ..HangsAfter::default()
    });
    let adapter = AzureCredential::new(credential.clone()).with_timeout(Duration::from_secs(3));
    assert_eq!(token(&adapter).await.unwrap(), "token-1");
    // 56 minutes later token-1 is due for refresh, and the refresh hangs: token-1 is still
    // valid for 4 minutes, and served when the refresh gives up.
    tokio::time::sleep(Duration::from_secs(56 * 60)).await;
    let start = Instant::now();
    assert_eq!(token(&adapter).await.unwrap(), "token-1");
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(credential.calls.load(Ordering::SeqCst), 2);
}

/// Fails with the given text.
#[derive(Debug)]
struct FailsWith(String);

#[async_trait::async_trait]
impl TokenCredential for FailsWith {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzureToken> {
        Err(credential_error(self.0.clone()))
    }
}

/// Secrets glued to punctuation, as a credential could echo them, each with `SECRET` in it and
/// the context that must survive (issue 21).
const GLUED: [(&str, &str); 9] = [
    (
        "cache entry id:eyJhbGciOiJSUzI1NiJ9.eyJTRUNSRVQiOjF9.SECRET-sig",
        "cache entry id:",
    ),
    (
        r#"echo {"Authorization":"Bearer opaque-SECRET"}"#,
        r#"{"Authorization":"Bearer "#,
    ),
    (
        "Authorization=Bearer opaque-SECRET",
        "Authorization=Bearer ",
    ),
    (
        "header=eyJhbGciOiJSUzI1NiJ9.eyJTRUNSRVQiOjF9.SECRET",
        "header=",
    ),
    ("Bearer: opaque-SECRET refused", "refused"),
    ("Authorization: Bearer%20opaque-SECRET", "Bearer%20"),
    (
        r#"{"client\u005fsecret":"opaque-SECRET"}"#,
        r#""client\u005fsecret":""#,
    ),
    (
        "proxy //user:SECRET@proxy.contoso.com failed",
        "@proxy.contoso.com failed",
    ),
    (
        r#"{"client_secret":"abc\"tail-SECRET","client_id":"app"}"#,
        r#""client_id":"app"}"#,
    ),
];

#[tokio::test]
async fn credential_errors_with_secrets_glued_to_punctuation_are_redacted_for_any_caller() {
    for (text, context) in GLUED {
        let adapter = AzureCredential::new(Arc::new(FailsWith(text.to_owned())));
        // What the CLI prints after `cannot sign in: ` when it asks the adapter up front.
        let error = token(&adapter).await.unwrap_err();
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains("SECRET"), "{text:?} → {shown:?}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
        assert!(error.to_string().contains(context), "{text:?} → {error}");

        // And through a client's call: a token-source error, still redacted.
        let client = GraphClient::builder()
            .base_url("http://127.0.0.1:9/beta")
            .token_provider(adapter)
            .build()
            .unwrap();
        let error = client
            .assign_resource_account_to_device(
                &"7f9b6c1e-0000-4000-8000-000000000001".parse().unwrap(),
                &autopilot_resource_account::ResourceAccountAssignment::new(),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, Error::TokenSource(_)), "{error:?}");
        assert!(!error.to_string().contains("SECRET"), "{error}");
    }
}

/// A one-second token first, then failures that take a second each.
#[derive(Debug, Default)]
struct ExpiresThenFails {
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenCredential for ExpiresThenFails {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzureToken> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Ok(azure_token("token-1".to_owned(), TimeDelta::seconds(1)));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        Err(credential_error("AADSTS50000: refresh failed".to_owned()))
    }
}

/// Kills the mutant "replace match guard `now < cached.expires_at` with true" in the branch
/// where a caller shares a failure that completed while it waited: it served the expired token.
#[tokio::test(start_paused = true)]
async fn a_caller_sharing_a_failed_refresh_never_gets_the_expired_token() {
    let credential = Arc::new(ExpiresThenFails::default());
    let adapter = AzureCredential::new(credential.clone());
    assert_eq!(token(&adapter).await.unwrap(), "token-1");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let first = tokio::spawn({
        let adapter = adapter.clone();
        async move { token(&adapter).await }
    });
    // The second caller arrives while the first one's refresh is under way, and shares it.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let second = token(&adapter).await;
    let first = first.await.unwrap();
    for outcome in [first, second] {
        let error = outcome.unwrap_err();
        assert!(error.message().contains("AADSTS50000"), "{error}");
    }
    assert_eq!(credential.calls.load(Ordering::SeqCst), 2);
}
