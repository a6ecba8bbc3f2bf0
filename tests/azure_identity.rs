//! The `azure-identity` adapter, with no network: a `TokenCredential` test double, a fake token
//! endpoint behind the real `ClientSecretCredential`, and a loopback stand-in for Graph.
//!
//! Tests about token lifetimes run on tokio's paused clock (the adapter keeps expiries on it), so
//! a loaded machine cannot make a token expire, or a credential call end, early or late.
#![cfg(feature = "azure-identity")]

mod support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use autopilot_resource_account::azure_identity::{
    AzureCredential, DEFAULT_REFRESH_BEFORE, client_options, cloud_configuration,
};
use autopilot_resource_account::{Cloud, Error, GraphClient, TokenProvider};
use azure_core::credentials::{AccessToken as AzureToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{
    AsyncRawResponse, HttpClient, Request, StatusCode, Transport, headers::Headers,
};
use azure_core::time::Duration as TimeDelta;
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use support::credential::{azure_token, credential_error, fetch};
use support::{assert_a_401_renews_the_token_once, assignment, device, ends_by_itself};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Something a credential knows and must never let out.
const CLIENT_SECRET: &str = "Q8~s3cr3t.ValueThatMustNeverLeak_0123456789";

/// What the double does on its next call.
#[derive(Debug, Clone)]
enum Step {
    /// A token `token-N` (N = the call number) that expires this long after the call.
    Token(TimeDelta),
    /// An error with this text.
    Fail(String),
}

/// A `TokenCredential` that counts its calls, records their scopes and follows a script
/// (the last step repeats).
#[derive(Debug)]
struct Double {
    calls: AtomicUsize,
    scopes: Mutex<Vec<Vec<String>>>,
    script: Mutex<VecDeque<Step>>,
    delay: Duration,
    /// Shows up in `Debug`: the adapter's `Debug` must not.
    #[allow(dead_code)]
    secret: &'static str,
}

impl Double {
    fn new(steps: impl IntoIterator<Item = Step>) -> Arc<Self> {
        Self::slow(Duration::ZERO, steps)
    }

    fn slow(delay: Duration, steps: impl IntoIterator<Item = Step>) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            scopes: Mutex::default(),
            script: Mutex::new(steps.into_iter().collect()),
            delay,
            secret: CLIENT_SECRET,
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn scopes(&self) -> Vec<Vec<String>> {
        self.scopes.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl TokenCredential for Double {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzureToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.scopes
            .lock()
            .unwrap()
            .push(scopes.iter().map(|s| s.to_string()).collect());
        let step = {
            let mut script = self.script.lock().unwrap();
            if script.len() > 1 {
                script.pop_front()
            } else {
                script.front().cloned()
            }
        };
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        match step.expect("the double has a script") {
            Step::Token(life) => Ok(azure_token(format!("token-{n}"), life)),
            Step::Fail(text) => Err(credential_error(text)),
        }
    }
}

fn hours(n: i64) -> Step {
    Step::Token(TimeDelta::hours(n))
}

fn millis(n: i64) -> Step {
    Step::Token(TimeDelta::milliseconds(n))
}

/// A one-request Graph stand-in on 127.0.0.1: answers `204 No Content` and hands back the request head.
async fn loopback_graph() -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/beta", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the client connects")
            .unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before the request head ended");
            request.extend_from_slice(&buf[..n]);
            if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .map_or(0, |v| v.parse::<usize>().unwrap());
        while request.len() < head_end + length {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before the request body ended");
            request.extend_from_slice(&buf[..n]);
        }
        socket
            .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        socket.shutdown().await.ok();
        head
    });
    (base_url, server)
}

fn authorization(head: &str) -> Option<&str> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("authorization")
            .then(|| value.trim())
    })
}

#[tokio::test]
async fn graph_client_sends_the_credentials_token_for_each_clouds_default_scope() {
    for cloud in Cloud::ALL {
        let double = Double::new([hours(1)]);
        let (base_url, server) = loopback_graph().await;
        let client = GraphClient::builder()
            .cloud(cloud)
            .base_url(&base_url)
            .token_provider(AzureCredential::new(double.clone()))
            .build()
            .unwrap();
        client
            .assign_resource_account_to_device(&device(), &assignment())
            .await
            .unwrap();
        let head = server.await.unwrap();
        assert!(head.starts_with("POST /beta/deviceManagement/"), "{head}");
        assert_eq!(authorization(&head), Some("Bearer token-1"), "{cloud:?}");
        assert_eq!(
            double.scopes(),
            vec![vec![cloud.scope().to_owned()]],
            "{cloud:?}"
        );
        assert!(cloud.scope().ends_with("/.default"));
    }
}

#[tokio::test]
async fn a_cached_token_is_reused_across_calls_and_clones() {
    let double = Double::new([hours(1)]);
    let adapter = AzureCredential::new(double.clone());
    let clone = adapter.clone();
    for _ in 0..5 {
        assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-1");
        assert_eq!(fetch(&clone, Cloud::Global).await.unwrap(), "token-1");
    }
    assert_eq!(double.calls(), 1);
    // Another scope is another cache entry.
    assert_eq!(fetch(&adapter, Cloud::China).await.unwrap(), "token-2");
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-1");
    assert_eq!(double.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_token_is_refreshed_the_configured_margin_before_it_expires() {
    // Ten-minute tokens, refreshed when less than ten minutes minus 600 ms are left.
    let double = Double::new([Step::Token(TimeDelta::minutes(10))]);
    let adapter = AzureCredential::new(double.clone())
        .with_refresh_before(Duration::from_secs(600) - Duration::from_millis(600));
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-1");
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-1");
    tokio::time::sleep(Duration::from_millis(900)).await;
    // token-1 is still valid for more than nine minutes, yet a new one is fetched.
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-2");
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-2");
    assert_eq!(double.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_token_that_arrives_inside_the_margin_is_refreshed_at_half_its_life() {
    // Two-second tokens under the default five-minute margin: reused for about a second.
    let double = Double::new([millis(2_000)]);
    let adapter = AzureCredential::new(double.clone());
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-1");
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-1");
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    // Still before token-1 expires.
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-2");
    assert_eq!(double.calls(), 2);
}

#[test]
fn the_default_margin_is_five_minutes() {
    assert_eq!(DEFAULT_REFRESH_BEFORE, Duration::from_secs(300));
}

#[tokio::test(start_paused = true)]
async fn fifty_concurrent_calls_on_an_expired_cache_make_one_credential_call() {
    // The first token lives 300 ms; the refresh takes 200 ms, so all 50 calls overlap it.
    let double = Double::slow(Duration::from_millis(200), [millis(300), hours(1)]);
    let adapter = AzureCredential::new(double.clone());
    assert_eq!(fetch(&adapter, Cloud::UsGovL5Dod).await.unwrap(), "token-1");
    tokio::time::sleep(Duration::from_millis(400)).await;

    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (adapter, barrier) = (adapter.clone(), barrier.clone());
        calls.spawn(async move {
            barrier.wait().await;
            fetch(&adapter, Cloud::UsGovL5Dod).await
        });
    }
    let tokens = calls.join_all().await;
    assert_eq!(tokens.len(), 50);
    assert!(
        tokens.iter().all(|t| t.as_deref() == Ok("token-2")),
        "{tokens:?}"
    );
    assert_eq!(
        double.calls(),
        2,
        "one call to fill the cache, exactly one to refresh it"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_failure() {
    let double = Double::slow(
        Duration::from_millis(200),
        [Step::Fail("AADSTS700016: app not found".into())],
    );
    let adapter = AzureCredential::new(double.clone());
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (adapter, barrier) = (adapter.clone(), barrier.clone());
        calls.spawn(async move {
            barrier.wait().await;
            fetch(&adapter, Cloud::Global).await
        });
    }
    let outcomes = calls.join_all().await;
    assert!(outcomes.iter().all(|o| {
        o.as_ref()
            .is_err_and(|e| e.message().contains("AADSTS700016"))
    }));
    assert_eq!(double.calls(), 1);
    // A later call tries again.
    assert!(fetch(&adapter, Cloud::Global).await.is_err());
    assert_eq!(double.calls(), 2);
}

/// What an identity library could conceivably put in an error: the secret itself, a
/// `key=value` echo of the request, a token, and a second line.
fn leaky_error() -> String {
    format!(
        "ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret provided \
         ({CLIENT_SECRET}) client_secret=hunter2 assertion: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln \
         Trace ID: 3f2504e0-4f89-11d3-9a0c-0305e82c3301\nrequest body: client_secret={CLIENT_SECRET}"
    )
}

fn assert_no_secret(text: &str) {
    for secret in [CLIENT_SECRET, "hunter2", "eyJhbGci", "request body"] {
        assert!(!text.contains(secret), "{secret:?} leaked into {text:?}");
    }
}

#[tokio::test]
async fn a_failing_credential_gives_a_one_line_token_error_without_secrets() {
    let double = Double::new([Step::Fail(leaky_error())]);
    let adapter = AzureCredential::new(double.clone());
    let error = fetch(&adapter, Cloud::Global).await.unwrap_err();
    let text = error.to_string();
    assert_no_secret(&text);
    assert!(!text.contains('\n'), "{text:?}");
    assert!(
        text.starts_with(
            "azure credential could not get a token for https://graph.microsoft.com/.default: "
        ),
        "{text}"
    );
    // What helps a person fix it survives.
    assert!(
        text.contains("AADSTS7000215: Invalid client secret provided"),
        "{text}"
    );
    assert!(
        text.contains("3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
        "{text}"
    );
    assert_no_secret(&format!("{error:?}"));
    assert_no_secret(&format!("{adapter:?}"));
    assert!(
        format!("{double:?}").contains(CLIENT_SECRET),
        "the double's own Debug does show it"
    );

    // Through the client: a token-source error, nothing sent, still no secret.
    let client = GraphClient::builder()
        .base_url("http://127.0.0.1:9/beta")
        .token_provider(adapter)
        .build()
        .unwrap();
    let error = client
        .assign_resource_account_to_device(&device(), &assignment())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TokenSource(_)), "{error:?}");
    assert_no_secret(&error.to_string());
    assert_no_secret(&format!("{error:?}"));
}

#[tokio::test]
async fn very_long_errors_are_cut_and_empty_ones_still_say_something() {
    let double = Double::new([Step::Fail(format!("{} end", "word ".repeat(500)))]);
    let text = fetch(&AzureCredential::new(double), Cloud::Global)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.chars().count() < 420, "{}", text.len());
    assert!(text.ends_with('…'));

    let double = Double::new([Step::Fail(String::new())]);
    let text = fetch(&AzureCredential::new(double), Cloud::Global)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.ends_with(": Credential error"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_serves_the_still_valid_token_and_retries_later() {
    // token-1 lives 4 s (refreshed after ~2 s); the refresh fails; then the credential recovers.
    let double = Double::new([
        millis(4_000),
        Step::Fail("temporarily unavailable".into()),
        hours(1),
    ]);
    let adapter = AzureCredential::new(double.clone());
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-1");
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert_eq!(
        fetch(&adapter, Cloud::Global).await.unwrap(),
        "token-1",
        "failed refresh, valid token"
    );
    assert_eq!(double.calls(), 2);
    // Not asked again at once…
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-1");
    assert_eq!(double.calls(), 2);
    // …but after half of token-1's remaining life (~0.9 s), before it expires.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-3");
    assert_eq!(double.calls(), 3);
}

#[tokio::test]
async fn no_scope_is_an_error_and_the_credential_is_not_called() {
    let double = Double::new([hours(1)]);
    let adapter = AzureCredential::new(double.clone());
    assert!(adapter.token(&[]).await.is_err());
    assert_eq!(double.calls(), 0);
}

/// A fake Entra ID token endpoint, as the HTTP transport of a real `ClientSecretCredential`.
#[derive(Debug, Default)]
struct FakeTokenEndpoint {
    requests: Mutex<Vec<(String, String)>>,
}

#[async_trait::async_trait]
impl HttpClient for FakeTokenEndpoint {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let body = match request.body() {
            azure_core::http::Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            #[allow(unreachable_patterns)]
            _ => String::new(),
        };
        self.requests
            .lock()
            .unwrap()
            .push((request.url().to_string(), body));
        Ok(AsyncRawResponse::from_bytes(
            StatusCode::Ok,
            Headers::default(),
            r#"{"access_token":"entra-token","expires_in":3600,"token_type":"Bearer"}"#,
        ))
    }
}

#[tokio::test]
async fn client_options_send_a_real_credential_to_the_clouds_authority_host() {
    for cloud in Cloud::ALL {
        let endpoint = Arc::new(FakeTokenEndpoint::default());
        let mut options = client_options(cloud);
        options.transport = Some(Transport::new(endpoint.clone()));
        let credential = ClientSecretCredential::new(
            "00000000-0000-4000-8000-000000000000",
            "11111111-1111-4111-8111-111111111111".into(),
            CLIENT_SECRET.to_owned().into(),
            Some(ClientSecretCredentialOptions {
                client_options: options,
            }),
        )
        .unwrap();
        let (base_url, server) = loopback_graph().await;
        let client = GraphClient::builder()
            .cloud(cloud)
            .base_url(&base_url)
            .token_provider(AzureCredential::new(credential))
            .build()
            .unwrap();
        client
            .assign_resource_account_to_device(&device(), &assignment())
            .await
            .unwrap();
        assert_eq!(
            authorization(&server.await.unwrap()),
            Some("Bearer entra-token")
        );

        let requests = endpoint.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 1, "{cloud:?}");
        let (url, body) = &requests[0];
        assert_eq!(
            url,
            &format!(
                "{}/00000000-0000-4000-8000-000000000000/oauth2/v2.0/token",
                cloud.authority_host()
            ),
            "{cloud:?} ({:?})",
            cloud_configuration(cloud)
        );
        let scope: String = url::form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        assert_eq!(scope, cloud.scope());
    }
}

#[tokio::test]
async fn a_401_drops_the_cached_token_once() {
    use autopilot_resource_account_stand_in::StandIn;
    let graph = StandIn::start().await.unwrap();
    let double = Double::new([hours(1)]);
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(AzureCredential::new(double.clone()))
        .build()
        .unwrap();
    assert_a_401_renews_the_token_once(&graph, &client).await;
    assert_eq!(double.calls(), 2);
}

#[tokio::test]
async fn invalidating_a_token_the_cache_no_longer_holds_keeps_the_new_one() {
    use autopilot_resource_account::AccessToken;
    let double = Double::new([hours(1)]);
    let adapter = AzureCredential::new(double.clone());
    let scopes = [Cloud::Global.scope()];
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-1");
    adapter
        .invalidate(&scopes, &AccessToken::new("token-1"))
        .await;
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-2");
    // A late 401 for the old token must not throw the fresh one away.
    adapter
        .invalidate(&scopes, &AccessToken::new("token-1"))
        .await;
    assert_eq!(fetch(&adapter, Cloud::Global).await.unwrap(), "token-2");
    assert_eq!(double.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_hung_credential_fails_calls_within_the_client_timeout() {
    let double = Double::slow(Duration::from_secs(3600), [hours(1)]);
    let client = GraphClient::builder()
        .base_url("http://127.0.0.1:9/beta")
        .token_provider(AzureCredential::new(double.clone()))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    for _ in 0..2 {
        let outcome =
            ends_by_itself(client.assign_resource_account_to_device(&device(), &assignment()))
                .await;
        assert!(matches!(outcome, Err(Error::TokenSource(_))), "{outcome:?}");
    }
    // The second call was not stuck behind the first one's credential call.
    assert_eq!(double.calls(), 2);
}

#[test]
fn credential_errors_are_redacted_by_structure() {
    // Short secrets in every shape a library or a server echo could put them.
    let cases = [
        r#"request failed: {"client_secret": "x1", "grant_type": "client_credentials"}"#,
        "config: password = x1",
        "GET https://app:x1@login.microsoftonline.com/tenant/oauth2/v2.0/token",
        "POST https://login.example/t?client_assertion=x1&scope=s",
        "header Authorization: Bearer x1 was refused",
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for case in cases {
        let text = runtime.block_on(async {
            let adapter = AzureCredential::new(Double::new([Step::Fail(case.to_owned())]));
            fetch(&adapter, Cloud::Global)
                .await
                .unwrap_err()
                .to_string()
        });
        assert!(!text.contains("x1"), "{case:?} → {text:?}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}
