//! How the client treats its token source: a hung one fails calls within the client timeout
//! (and nothing is sent), and a `401` asks it, once, to drop the refused token.

mod support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use autopilot_resource_account::{
    AccessToken, BoxFuture, Error, GraphClient, RetryPolicy, TokenError, TokenProvider,
};
use autopilot_resource_account_stand_in::StandIn;
use support::{assert_a_401_renews_the_token_once, assignment, device, ends_by_itself};

/// Never answers: an `az` process that hangs, an IMDS endpoint that swallows packets.
struct Hung;

impl TokenProvider for Hung {
    fn token<'a>(&'a self, _: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn a_hung_token_source_fails_the_call_within_the_client_timeout() {
    let graph = StandIn::start().await.unwrap();
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(Hung)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = ends_by_itself(client.assign_resource_account_to_device(&device(), &assignment()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TokenSource(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("the token source did not answer within 200ms"),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(graph.requests().is_empty());
}

/// Caches one token; hands out `token-N`, N counting fetches; records what it was asked to drop.
#[derive(Default)]
struct Caching {
    fetches: AtomicUsize,
    cached: Mutex<Option<AccessToken>>,
    invalidated: Mutex<Vec<String>>,
}

impl TokenProvider for Caching {
    fn token<'a>(&'a self, _: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        Box::pin(async {
            let mut cached = self.cached.lock().unwrap();
            let token = cached.get_or_insert_with(|| {
                let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
                AccessToken::new(format!("token-{n}"))
            });
            Ok(token.clone())
        })
    }

    fn invalidate<'a>(&'a self, _: &'a [&'a str], token: &'a AccessToken) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.invalidated
                .lock()
                .unwrap()
                .push(token.secret().to_owned());
            let mut cached = self.cached.lock().unwrap();
            if cached.as_ref() == Some(token) {
                *cached = None;
            }
        })
    }
}

#[tokio::test]
async fn a_401_drops_the_refused_token_once_and_the_next_call_gets_a_new_one() {
    let graph = StandIn::start().await.unwrap();
    let tokens = std::sync::Arc::new(Caching::default());
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .token_provider(ArcProvider(tokens.clone()))
        .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(10)))
        .build()
        .unwrap();
    assert_a_401_renews_the_token_once(&graph, &client).await;
    assert_eq!(*tokens.invalidated.lock().unwrap(), ["token-1"]);
    assert_eq!(tokens.fetches.load(Ordering::SeqCst), 2);
}

/// Lets the test keep a handle on the provider it gives the client.
struct ArcProvider(std::sync::Arc<Caching>);

impl TokenProvider for ArcProvider {
    fn token<'a>(&'a self, s: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        self.0.token(s)
    }
    fn invalidate<'a>(&'a self, s: &'a [&'a str], t: &'a AccessToken) -> BoxFuture<'a, ()> {
        self.0.invalidate(s, t)
    }
}
