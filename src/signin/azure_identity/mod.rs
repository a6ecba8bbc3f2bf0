//! Token source from any Azure SDK credential (feature `azure-identity`).
//!
//! [`AzureCredential`] turns any [`azure_core::credentials::TokenCredential`] — a client
//! secret or certificate, a managed identity, a workload identity in CI, `az login` on a
//! laptop, or a chain of them from the [`azure_identity`](https://docs.rs/azure_identity)
//! crate — into this crate's [`TokenProvider`]. The [`GraphClient`](crate::GraphClient) asks it
//! for the `.default` scope of its [`Cloud`]; the adapter caches each token and refreshes it
//! [`DEFAULT_REFRESH_BEFORE`] before it expires, with at most one refresh in flight however many
//! calls need a token at the same moment.
//!
//! The credential must get its tokens from the authority host of the same cloud:
//! [`client_options`] (or [`cloud_configuration`]) gives the `azure_core` options that say so.
//!
//! ```no_run
//! use autopilot_resource_account::azure_identity::{AzureCredential, client_options};
//! use autopilot_resource_account::{Cloud, GraphClient};
//! use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
//!
//! # fn build() -> Result<GraphClient, Box<dyn std::error::Error>> {
//! let cloud = Cloud::UsGovL4;
//! let credential = ClientSecretCredential::new(
//!     &std::env::var("AZURE_TENANT_ID")?,
//!     std::env::var("AZURE_CLIENT_ID")?,
//!     std::env::var("AZURE_CLIENT_SECRET")?.into(),
//!     Some(ClientSecretCredentialOptions { client_options: client_options(cloud) }),
//! )?;
//! let client = GraphClient::builder()
//!     .cloud(cloud)
//!     .token_provider(AzureCredential::new(credential))
//!     .build()?;
//! # Ok(client) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use azure_core::cloud::CloudConfiguration;
use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::ClientOptions;
use azure_core::time::OffsetDateTime;
use tokio::time::Instant;

use crate::signin::auth::{AccessToken, BoxFuture, TokenError, TokenProvider};
use crate::signin::cloud::Cloud;

mod redact;
use redact::redact;

/// How long before a token's expiry [`AzureCredential`] fetches a new one, unless
/// [`AzureCredential::with_refresh_before`] says otherwise. The same margin `azure_identity`'s
/// credentials use for their own caches.
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// How long one token fetch may take, unless [`AzureCredential::with_timeout`] says otherwise: the
/// same as the client's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// After a failed refresh while the cached token is still valid, the old token is served for at
/// most this long (and at most half its remaining lifetime) before the credential is asked again.
const RETRY_AFTER_FAILED_REFRESH: Duration = Duration::from_secs(10);

/// Longest credential error text kept in a [`TokenError`], in characters.
const MAX_ERROR_CHARS: usize = 300;

/// The `azure_core` cloud whose Entra ID authority host issues tokens for `cloud`.
///
/// | [`Cloud`] | authority host | `CloudConfiguration` |
/// | --- | --- | --- |
/// | `Global` | `https://login.microsoftonline.com` | `AzurePublic` |
/// | `UsGovL4`, `UsGovL5Dod` | `https://login.microsoftonline.us` | `AzureGovernment` |
/// | `China` | `https://login.chinacloudapi.cn` | `AzureChina` |
///
/// The host is always [`Cloud::authority_host`].
///
/// ```
/// use autopilot_resource_account::Cloud;
/// use autopilot_resource_account::azure_identity::cloud_configuration;
/// use azure_core::cloud::CloudConfiguration;
///
/// assert_eq!(cloud_configuration(Cloud::UsGovL5Dod), CloudConfiguration::AzureGovernment);
/// ```
pub fn cloud_configuration(cloud: Cloud) -> CloudConfiguration {
    match cloud {
        Cloud::Global => CloudConfiguration::AzurePublic,
        Cloud::UsGovL4 | Cloud::UsGovL5Dod => CloudConfiguration::AzureGovernment,
        Cloud::China => CloudConfiguration::AzureChina,
    }
}

/// `azure_core` client options that point a credential at the authority host of `cloud`.
///
/// Pass them as the `client_options` of any `azure_identity` credential options
/// (`ClientSecretCredentialOptions`, `ManagedIdentityCredentialOptions`, …). Credentials that
/// take no client options (`AzureCliCredential`) use the cloud the tool is logged in to: run
/// `az cloud set --name AzureUSGovernment` (or `AzureChinaCloud`) first.
///
/// ```
/// use autopilot_resource_account::Cloud;
/// use autopilot_resource_account::azure_identity::client_options;
/// use azure_core::cloud::CloudConfiguration;
///
/// let options = client_options(Cloud::China);
/// assert_eq!(options.cloud.as_deref(), Some(&CloudConfiguration::AzureChina));
/// ```
pub fn client_options(cloud: Cloud) -> ClientOptions {
    ClientOptions {
        cloud: Some(Arc::new(cloud_configuration(cloud))),
        ..ClientOptions::default()
    }
}

/// A [`TokenProvider`] over any `azure_core` [`TokenCredential`], with a token cache.
///
/// - Tokens are cached per set of scopes and reused until [`with_refresh_before`] before they
///   expire; then the next call fetches a new one (a token that arrives with less time left than
///   that is reused for half of its remaining lifetime).
/// - At most one credential call is in flight: concurrent callers wait for it and share its
///   result, token or error.
/// - If a refresh fails while the cached token is still valid, the cached token is served, and
///   the credential is asked again a few seconds later.
/// - When Graph answers `401`, the token it refused is dropped from the cache (once: only if the
///   cache still holds that token), so the next call asks the credential again.
/// - Each fetch takes at most [`with_timeout`] (default [`DEFAULT_TIMEOUT`], 60 s), waiting for a
///   concurrent fetch included, whoever calls [`token`](TokenProvider::token): a credential that
///   never answers (a hung `az` process, an unreachable IMDS endpoint) ends in a [`TokenError`]
///   saying so, and a still-valid cached token is served meanwhile.
/// - Credential errors become a one-line [`TokenError`] (first line of the Azure error, at most
///   300 characters). Secrets are replaced by `<redacted>` by the structure around them, whatever
///   their length: values of secret-named fields (`"client_secret": "…"`, `password = …`,
///   `secret=…`), URL userinfo and query values, the credentials after `Bearer`/`Basic` (any
///   separator or encoding), JWTs and Entra client secrets, wherever they stand. A quoted value
///   is read as a string, escapes and all (`\"`, `\\`, `\u0022`, JSON inside a JSON string): it
///   ends at its closing quote, or with the line. The error is
///   [transient](TokenError::is_transient) when the fetch timed out or the identity endpoint was
///   unreachable or answered 5xx or 429, and has no [`source`](std::error::Error::source): the
///   Azure error's own text is not redacted.
///
/// Clones share one cache. The credential's own `Debug` output is never shown.
///
/// ```no_run
/// use autopilot_resource_account::azure_identity::AzureCredential;
/// use autopilot_resource_account::GraphClient;
/// use std::time::Duration;
///
/// # fn build() -> Result<GraphClient, Box<dyn std::error::Error>> {
/// // A managed identity on an Azure host, in the global cloud.
/// let credential = azure_identity::ManagedIdentityCredential::new(None)?;
/// let tokens = AzureCredential::new(credential).with_refresh_before(Duration::from_secs(10 * 60));
/// let client = GraphClient::builder().token_provider(tokens).build()?;
/// # Ok(client) }
/// ```
///
/// [`with_refresh_before`]: AzureCredential::with_refresh_before
/// [`with_timeout`]: AzureCredential::with_timeout
#[derive(Clone)]
pub struct AzureCredential {
    shared: Arc<Shared>,
    refresh_before: Duration,
    timeout: Duration,
}

struct Shared {
    credential: Arc<dyn TokenCredential>,
    /// Completed credential calls, so that a waiter can tell an outcome that arrived while it
    /// waited (share it) from an older one (try again).
    completed: AtomicU64,
    /// Keyed by the space-joined scopes. The lock is held across the credential call: that is
    /// what makes it single-flight.
    slots: tokio::sync::Mutex<HashMap<String, Slot>>,
}

#[derive(Default)]
struct Slot {
    token: Option<Cached>,
    failure: Option<Failure>,
}

/// Expiry and refresh on tokio's monotonic clock: the token's remaining life is read from its
/// `expires_on` once, when it arrives, so a wall-clock jump changes nothing (and tests can pause
/// the clock).
struct Cached {
    token: AccessToken,
    expires_at: Instant,
    refresh_at: Instant,
}

struct Failure {
    completed: u64,
    error: TokenError,
}

impl AzureCredential {
    /// Wraps `credential` (e.g. an `Arc<ClientSecretCredential>` from `azure_identity`).
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self {
            shared: Arc::new(Shared {
                credential,
                completed: AtomicU64::new(0),
                slots: tokio::sync::Mutex::default(),
            }),
            refresh_before: DEFAULT_REFRESH_BEFORE,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Gives up on a token fetch after `timeout` (default: [`DEFAULT_TIMEOUT`]) with a
    /// [`TokenError`]. It bounds direct calls of [`token`](TokenProvider::token) too, which the
    /// client's own timeout does not.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Fetches a new token once the cached one has less than `margin` left
    /// (default: [`DEFAULT_REFRESH_BEFORE`]). Keep it at or below five minutes for
    /// `azure_identity` credentials: they cache too, and hand out the same token until then.
    pub fn with_refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = margin;
        self
    }

    /// The wrapped credential.
    pub fn credential(&self) -> &Arc<dyn TokenCredential> {
        &self.shared.credential
    }

    async fn get(&self, scopes: &[&str]) -> Result<AccessToken, TokenError> {
        if scopes.is_empty() {
            return Err(TokenError::new("azure credential: no scope was requested"));
        }
        let deadline = Instant::now()
            .checked_add(self.timeout)
            .unwrap_or_else(far_future);
        let did_not_answer = || {
            TokenError::transient(format!(
                "azure credential did not answer within {:?} for {}",
                self.timeout,
                scopes.join(" ")
            ))
        };
        let seen = self.shared.completed.load(Ordering::Acquire);
        let mut slots = tokio::time::timeout_at(deadline, self.shared.slots.lock())
            .await
            .map_err(|_| did_not_answer())?;
        let slot = slots.entry(scopes.join(" ")).or_default();

        let now = Instant::now();
        if let Some(cached) = &slot.token
            && now < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        // A call that completed while we waited for the lock failed: share its outcome.
        if let Some(failure) = &slot.failure
            && failure.completed > seen
        {
            return match &slot.token {
                Some(cached) if now < cached.expires_at => Ok(cached.token.clone()),
                _ => Err(failure.error.clone()),
            };
        }

        let outcome =
            tokio::time::timeout_at(deadline, self.shared.credential.get_token(scopes, None)).await;
        let completed = self.shared.completed.fetch_add(1, Ordering::AcqRel) + 1;
        let now = Instant::now();
        match outcome {
            Ok(Ok(fresh)) => {
                let token = AccessToken::new(fresh.token.secret());
                // A token already expired on arrival has no life left (the conversion fails).
                let life = Duration::try_from(fresh.expires_on - OffsetDateTime::now_utc())
                    .unwrap_or_default();
                slot.token = Some(Cached {
                    token: token.clone(),
                    expires_at: now.checked_add(life).unwrap_or_else(far_future),
                    refresh_at: now
                        .checked_add(refresh_after(life, self.refresh_before))
                        .unwrap_or_else(far_future),
                });
                slot.failure = None;
                Ok(token)
            }
            Ok(Err(_)) | Err(_) => {
                let error = match outcome {
                    Ok(Err(error)) => sanitize(&error, scopes),
                    _ => did_not_answer(),
                };
                slot.failure = Some(Failure {
                    completed,
                    error: error.clone(),
                });
                match &mut slot.token {
                    Some(cached) if now < cached.expires_at => {
                        let half_left = (cached.expires_at - now) / 2;
                        cached.refresh_at = now + half_left.min(RETRY_AFTER_FAILED_REFRESH);
                        Ok(cached.token.clone())
                    }
                    _ => Err(error),
                }
            }
        }
    }
}

/// How long after its arrival a token with `life` left is refreshed: `margin` before it
/// expires, or at half its life when it arrived inside the margin.
fn refresh_after(life: Duration, margin: Duration) -> Duration {
    match life.checked_sub(margin) {
        Some(after) if !after.is_zero() => after,
        _ => life / 2,
    }
}

/// An instant no token outlives (about 30 years on), for expiries past what `Instant` can hold.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(30 * 365 * 24 * 3600)
}

impl TokenProvider for AzureCredential {
    fn token<'a>(
        &'a self,
        scopes: &'a [&'a str],
    ) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        Box::pin(self.get(scopes))
    }

    /// Drops the cached token if it is still `token`, so the next call asks the credential.
    /// (A credential with a cache of its own may hand out the same token until it refreshes.)
    fn invalidate<'a>(
        &'a self,
        scopes: &'a [&'a str],
        token: &'a AccessToken,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut slots = self.shared.slots.lock().await;
            if let Some(slot) = slots.get_mut(&scopes.join(" "))
                && slot
                    .token
                    .as_ref()
                    .is_some_and(|cached| cached.token == *token)
            {
                slot.token = None;
            }
        })
    }
}

impl fmt::Debug for AzureCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A user's credential type may print what it holds: show nothing of it.
        f.debug_struct("AzureCredential")
            .field("refresh_before", &self.refresh_before)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One line about the failure, with nothing that looks like a secret in it.
fn sanitize(error: &azure_core::Error, scopes: &[&str]) -> TokenError {
    let text = error.to_string();
    let first_line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    let collapsed = first_line.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut line = redact(&collapsed);
    if line.chars().count() > MAX_ERROR_CHARS {
        line = line.chars().take(MAX_ERROR_CHARS).collect::<String>() + "…";
    }
    if line.is_empty() {
        line = match error.kind() {
            ErrorKind::HttpResponse { status, .. } => format!("HTTP status {status}"),
            kind => format!("{kind} error"),
        };
    }
    // No source: the Azure error's text is what `redact` cleans, and a source would carry it raw.
    TokenError::new(format!(
        "azure credential could not get a token for {}: {line}",
        scopes.join(" ")
    ))
    .with_transient(is_transient(error))
}

/// Whether the identity endpoint failed for a passing reason: unreachable, or 5xx/429. A
/// credential chain reports its members' failures as `Credential`, which stays permanent.
fn is_transient(error: &azure_core::Error) -> bool {
    match error.kind() {
        ErrorKind::Connection | ErrorKind::Io => true,
        ErrorKind::HttpResponse { status, .. } => {
            let code = u16::from(*status);
            code == 429 || (500..600).contains(&code)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_the_margin_before_expiry_or_at_half_the_life() {
        let (hour, five_min) = (Duration::from_secs(3600), Duration::from_secs(300));
        assert_eq!(refresh_after(hour, five_min), hour - five_min);
        assert_eq!(
            refresh_after(Duration::from_secs(240), five_min),
            Duration::from_secs(120)
        );
        // Exactly the margin left: half the life, not "now".
        assert_eq!(refresh_after(five_min, five_min), five_min / 2);
        // A margin larger than any life never underflows.
        assert_eq!(refresh_after(hour, Duration::MAX), hour / 2);
    }
}

/// Which Azure failures are passing (issue 25), and that the text stays redacted.
#[cfg(test)]
mod transient_tests {
    use super::*;
    use azure_core::http::StatusCode;

    fn http(status: StatusCode) -> azure_core::Error {
        azure_core::Error::with_message(
            ErrorKind::HttpResponse {
                status,
                error_code: None,
                raw_response: None,
            },
            "client_secret=hunter2 was refused",
        )
    }

    #[test]
    fn unreachable_or_busy_endpoints_are_transient() {
        let scopes = ["https://graph.microsoft.com/.default"];
        for (error, transient) in [
            (
                azure_core::Error::with_message(ErrorKind::Io, "reset"),
                true,
            ),
            (ErrorKind::Connection.into_error(), true),
            (http(StatusCode::ServiceUnavailable), true),
            (http(StatusCode::TooManyRequests), true),
            (http(StatusCode::BadRequest), false),
            (http(StatusCode::Unauthorized), false),
            (
                azure_core::Error::with_message(ErrorKind::Credential, "no az"),
                false,
            ),
        ] {
            let token_error = sanitize(&error, &scopes);
            assert_eq!(token_error.is_transient(), transient, "{error:?}");
            assert!(std::error::Error::source(&token_error).is_none());
            assert!(!token_error.message().contains("hunter2"), "{token_error}");
        }
    }
}
