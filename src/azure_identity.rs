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

use crate::auth::{AccessToken, BoxFuture, TokenError, TokenProvider};
use crate::cloud::Cloud;

/// How long before a token's expiry [`AzureCredential`] fetches a new one, unless
/// [`AzureCredential::refresh_before`] says otherwise. The same margin `azure_identity`'s
/// credentials use for their own caches.
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// After a failed refresh while the cached token is still valid, the old token is served for at
/// most this long (and at most half its remaining lifetime) before the credential is asked again.
const RETRY_AFTER_FAILED_REFRESH: azure_core::time::Duration =
    azure_core::time::Duration::seconds(10);

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
/// - Tokens are cached per set of scopes and reused until [`refresh_before`] before they
///   expire; then the next call fetches a new one (a token that arrives with less time left than
///   that is reused for half of its remaining lifetime).
/// - At most one credential call is in flight: concurrent callers wait for it and share its
///   result, token or error.
/// - If a refresh fails while the cached token is still valid, the cached token is served, and
///   the credential is asked again a few seconds later.
/// - Credential errors become a one-line [`TokenError`] (first line of the Azure error, at most
///   300 characters, long opaque words and `secret=…`-like values replaced by `<redacted>`).
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
/// let tokens = AzureCredential::new(credential).refresh_before(Duration::from_secs(10 * 60));
/// let client = GraphClient::builder().token_provider(tokens).build()?;
/// # Ok(client) }
/// ```
///
/// [`refresh_before`]: AzureCredential::refresh_before
#[derive(Clone)]
pub struct AzureCredential {
    shared: Arc<Shared>,
    refresh_before: Duration,
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

struct Cached {
    token: AccessToken,
    expires_on: OffsetDateTime,
    refresh_at: OffsetDateTime,
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
        }
    }

    /// Fetches a new token once the cached one has less than `margin` left
    /// (default: [`DEFAULT_REFRESH_BEFORE`]). Keep it at or below five minutes for
    /// `azure_identity` credentials: they cache too, and hand out the same token until then.
    pub fn refresh_before(mut self, margin: Duration) -> Self {
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
        let seen = self.shared.completed.load(Ordering::Acquire);
        let mut slots = self.shared.slots.lock().await;
        let slot = slots.entry(scopes.join(" ")).or_default();

        let now = OffsetDateTime::now_utc();
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
                Some(cached) if now < cached.expires_on => Ok(cached.token.clone()),
                _ => Err(failure.error.clone()),
            };
        }

        let outcome = self.shared.credential.get_token(scopes, None).await;
        let completed = self.shared.completed.fetch_add(1, Ordering::AcqRel) + 1;
        let now = OffsetDateTime::now_utc();
        match outcome {
            Ok(fresh) => {
                let token = AccessToken::new(fresh.token.secret());
                slot.token = Some(Cached {
                    token: token.clone(),
                    expires_on: fresh.expires_on,
                    refresh_at: refresh_at(now, fresh.expires_on, self.refresh_before),
                });
                slot.failure = None;
                Ok(token)
            }
            Err(error) => {
                let error = sanitize(&error, scopes);
                slot.failure = Some(Failure {
                    completed,
                    error: error.clone(),
                });
                match &mut slot.token {
                    Some(cached) if now < cached.expires_on => {
                        let half_left: azure_core::time::Duration = (cached.expires_on - now) / 2;
                        cached.refresh_at = now + half_left.min(RETRY_AFTER_FAILED_REFRESH);
                        Ok(cached.token.clone())
                    }
                    _ => Err(error),
                }
            }
        }
    }
}

/// `expires_on - margin`, or half the remaining lifetime when the token arrived inside the margin.
fn refresh_at(now: OffsetDateTime, expires_on: OffsetDateTime, margin: Duration) -> OffsetDateTime {
    let left: azure_core::time::Duration = expires_on - now;
    if left > margin {
        // `left > margin` means `margin` fits in a `time::Duration`.
        expires_on - margin
    } else {
        now + left / 2
    }
}

impl TokenProvider for AzureCredential {
    fn token<'a>(
        &'a self,
        scopes: &'a [&'a str],
    ) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        Box::pin(self.get(scopes))
    }
}

impl fmt::Debug for AzureCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A user's credential type may print what it holds: show nothing of it.
        f.debug_struct("AzureCredential")
            .field("refresh_before", &self.refresh_before)
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
    let mut line = first_line
        .split_whitespace()
        .map(redact_word)
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() > MAX_ERROR_CHARS {
        line = line.chars().take(MAX_ERROR_CHARS).collect::<String>() + "…";
    }
    if line.is_empty() {
        line = match error.kind() {
            ErrorKind::HttpResponse { status, .. } => format!("HTTP status {status}"),
            kind => format!("{kind} error"),
        };
    }
    TokenError::new(format!(
        "azure credential could not get a token for {}: {line}",
        scopes.join(" ")
    ))
}

/// Keeps ordinary words, GUIDs and query-less URLs; replaces long opaque strings (tokens,
/// client secrets, assertions) and the values of `secret=…`-like pairs.
fn redact_word(word: &str) -> String {
    const REDACTED: &str = "<redacted>";
    const SENSITIVE_KEYS: [&str; 7] = [
        "secret",
        "password",
        "token",
        "assertion",
        "key",
        "sig",
        "credential",
    ];
    let core = word.trim_matches(|c: char| "\"'`()[]{}<>,;.".contains(c));
    if let Some((key, _)) = core.split_once(['=', ':'])
        && SENSITIVE_KEYS
            .iter()
            .any(|s| key.to_ascii_lowercase().contains(s))
        && !key.is_empty()
        && !core.starts_with("http")
    {
        let sep = &core[key.len()..key.len() + 1];
        return format!("{key}{sep}{REDACTED}");
    }
    if core.starts_with("https://") || core.starts_with("http://") {
        // A query or fragment with values in it may carry a code, a token or a signature.
        let base = core.find(['?', '#']).unwrap_or(core.len());
        let (base, rest) = core.split_at(base);
        if rest.contains('=') {
            return format!("{base}{}{REDACTED}", &rest[..1]);
        }
        return word.to_owned();
    }
    if core.chars().count() >= 32 && !is_guid(core) {
        return REDACTED.to_owned();
    }
    word.to_owned()
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_what_helps_and_drops_what_may_be_secret() {
        let cases = [
            ("AADSTS7000215:", "AADSTS7000215:"),
            (
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            ),
            (
                "https://aka.ms/azsdk/rust/identity/troubleshoot#client-secret",
                "https://aka.ms/azsdk/rust/identity/troubleshoot#client-secret",
            ),
            (
                "https://login.example/t?client_secret=abc",
                "https://login.example/t?<redacted>",
            ),
            ("client_secret=hunter2", "client_secret=<redacted>"),
            ("'password:hunter2',", "password:<redacted>"),
            ("Q8~abcdefghijklmnopqrstuvwxyz.0123456789", "<redacted>"),
            ("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ", "<redacted>"),
            ("Invalid", "Invalid"),
        ];
        for (word, want) in cases {
            assert_eq!(redact_word(word), want, "{word}");
        }
    }

    #[test]
    fn refresh_at_is_the_margin_before_expiry_or_half_the_remaining_life() {
        let now = OffsetDateTime::now_utc();
        let hour = azure_core::time::Duration::hours(1);
        let five_min = Duration::from_secs(300);
        assert_eq!(
            refresh_at(now, now + hour, five_min),
            now + hour - azure_core::time::Duration::minutes(5)
        );
        let four_min = azure_core::time::Duration::minutes(4);
        assert_eq!(
            refresh_at(now, now + four_min, five_min),
            now + azure_core::time::Duration::minutes(2)
        );
        // A margin too large for `time::Duration` never overflows.
        assert_eq!(refresh_at(now, now + hour, Duration::MAX), now + hour / 2);
    }
}
