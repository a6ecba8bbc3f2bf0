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
/// - When Graph answers `401`, the token it refused is dropped from the cache (once: only if the
///   cache still holds that token), so the next call asks the credential again.
/// - Credential errors become a one-line [`TokenError`] (first line of the Azure error, at most
///   300 characters). Secrets are replaced by `<redacted>` by the structure around them, whatever
///   their length: values of secret-named fields (`"client_secret": "…"`, `password = …`,
///   `secret=…`), URL userinfo and query values, the word after `Bearer`, JWTs and Entra client
///   secrets. A quoted value is read as a string, escapes and all (`\"`, `\\`, `\u0022`, JSON
///   inside a JSON string): it ends at its closing quote, or with the line.
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
    TokenError::new(format!(
        "azure credential could not get a token for {}: {line}",
        scopes.join(" ")
    ))
}

const REDACTED: &str = "<redacted>";

/// Replaces secrets found by the structure around them, whatever their length: URL userinfo and
/// query values, the values of secret-named fields (`"client_secret": "x"`, `password = x`,
/// `secret=x`, `password:x`), the word after `Bearer`/`Basic`, and values of known secret formats
/// (JWTs, Entra client secrets with their `~`). Ordinary words, codes and GUIDs are kept.
fn redact(line: &str) -> String {
    let line = redact_urls(line);
    let line = redact_fields(&line);
    let mut after_scheme = false;
    line.split(' ')
        .map(|word| {
            let core = word.trim_matches(|c: char| "\"'`()[]{},;".contains(c));
            // `<token>`, but not a word that ends in a `<redacted>` of an earlier pass.
            let core = match core.strip_prefix('<').and_then(|c| c.strip_suffix('>')) {
                Some(inner) if core != REDACTED => inner,
                _ => core,
            };
            let secret = (after_scheme && !core.is_empty() && core != REDACTED)
                || is_jwt(core)
                || is_entra_secret(core);
            after_scheme = ["bearer", "basic"].contains(&core.to_ascii_lowercase().as_str());
            match secret {
                true => word.replacen(core, REDACTED, 1),
                false => word.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// In every `scheme://…` URL: the userinfo, and every query (and fragment) value.
///
/// A URL ends at a quote or a backslash, so what this replaces holds neither, and the quoting
/// that [`redact_fields`] reads afterwards is the original's (a query value ending in the `\` of
/// an escaped quote would otherwise unbalance it).
fn redact_urls(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("://") {
        // By bytes: after a non-ASCII character (`“https://`), +1 on a char index would
        // land inside it; its last byte is the one found here.
        let scheme_start = rest[..at]
            .bytes()
            .rposition(|b| !(b.is_ascii_alphanumeric() || b"+.-".contains(&b)))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || "\"'<>\\".contains(c))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..scheme_start]);
        let url = &rest[scheme_start..end];
        let (head, after) = url.split_at(url.find("://").map_or(0, |i| i + 3));
        let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, path) = after.split_at(authority_end);
        out.push_str(head);
        match authority.rfind('@') {
            Some(i) => out.push_str(&format!("{REDACTED}{}", &authority[i..])),
            None => out.push_str(authority),
        }
        let (before_fragment, fragment) = path.split_at(path.find('#').unwrap_or(path.len()));
        match before_fragment.split_once('?') {
            Some((path, query)) => {
                out.push_str(path);
                out.push('?');
                out.push_str(&redact_query(query));
            }
            None => out.push_str(before_fragment),
        }
        // A fragment is usually an anchor (`#client-secret`); with `=` it carries values.
        match fragment.strip_prefix('#') {
            Some(values) if values.contains('=') => {
                out.push('#');
                out.push_str(&redact_query(values));
            }
            _ => out.push_str(fragment),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) => format!("{key}={REDACTED}"),
            None if pair.is_empty() => String::new(),
            None => REDACTED.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Field names whose values are secrets: a key containing one of these (any case).
const SECRET_KEY_PARTS: [&str; 10] = [
    "secret",
    "password",
    "passwd",
    "token",
    "assertion",
    "credential",
    "signature",
    "apikey",
    "api_key",
    "api-key",
];

/// Short names that are secret fields only as a whole key.
const SECRET_KEYS: [&str; 5] = ["pwd", "sig", "key", "code", "sas"];

/// Keys that are secret whatever separates the value (`password: x` in YAML or prose). A key
/// that merely contains a secret word (`token: timed out`) needs `=`, quotes, or no space.
const EXACT_SECRET_KEYS: [&str; 7] = [
    "password",
    "client_secret",
    "secret",
    "access_token",
    "refresh_token",
    "client_assertion",
    "api_key",
];

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|part| key.contains(part)) || SECRET_KEYS.contains(&key.as_str())
}

/// The values of secret-named fields, in JSON, `key=value`, `key = value` and `key:value` forms.
fn redact_fields(line: &str) -> String {
    let bytes = line.as_bytes();
    let is_key_byte = |b: u8| b.is_ascii_alphanumeric() || b"_-.".contains(&b);
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        if !is_key_byte(bytes[pos]) || (pos > 0 && is_key_byte(bytes[pos - 1])) {
            pos += 1;
            continue;
        }
        let start = pos;
        while pos < bytes.len() && is_key_byte(bytes[pos]) {
            pos += 1;
        }
        let key = &line[start..pos];
        if !is_secret_key(key) {
            continue;
        }
        // A quoted key: `"key"`, `'key'`, or `\"key\"` in JSON inside a JSON string.
        let closing = quote_at(bytes, pos)
            .filter(|(q, _, _)| start.checked_sub(1).map(|i| bytes[i]) == Some(*q));
        let quoted = closing.is_some();
        let mut at = closing.map_or(pos, |(_, _, after)| after);
        let skip_spaces = |mut i: usize| {
            while bytes.get(i) == Some(&b' ') {
                i += 1;
            }
            i
        };
        let before_separator = skip_spaces(at);
        let value_start = match bytes.get(before_separator) {
            Some(b'=') => skip_spaces(before_separator + 1),
            Some(b':')
                if quoted || EXACT_SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()) =>
            {
                skip_spaces(before_separator + 1)
            }
            // `password:hunter2`: no space on either side.
            Some(b':')
                if before_separator == at && bytes.get(at + 1).is_some_and(|b| *b != b' ') =>
            {
                at + 1
            }
            _ => continue,
        };
        at = value_start;
        let (value_start, value_end) = match quote_at(bytes, at) {
            Some((q, backslashes, after)) => (after, string_end(bytes, after, q, backslashes)),
            None => {
                let end = line[at..]
                    .find(|c: char| c.is_whitespace() || ",;&)]}\"'<>".contains(c))
                    .map_or(line.len(), |i| at + i);
                (at, end)
            }
        };
        if value_end > value_start {
            out.push_str(&line[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        pos = value_end.max(pos);
    }
    out.push_str(&line[copied..]);
    out
}

/// A quote at `at`: `"` or `'` after any backslashes (`\"` in JSON inside a JSON string,
/// `\\\"` one level deeper). The quote, its backslashes and the index after it.
fn quote_at(bytes: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let backslashes = bytes.get(at..)?.iter().take_while(|&&b| b == b'\\').count();
    match bytes.get(at + backslashes) {
        Some(&q @ (b'"' | b'\'')) => Some((q, backslashes, at + backslashes + 1)),
        _ => None,
    }
}

/// Where the string that starts at `start` ends: the index of its closing quote `q` (with that
/// quote's own backslashes: as many as its opening quote had), or the end of the line if it is
/// unterminated. Escapes are honoured: `\"` and `\\` are characters of the value, and so is
/// `\u0022`, which contains no quote at all.
fn string_end(bytes: &[u8], start: usize, q: u8, opening_backslashes: usize) -> usize {
    let levels = escape_levels(opening_backslashes);
    let mut backslashes = 0;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if b == q && closes(backslashes, levels) {
            return i - backslashes.min(opening_backslashes);
        }
        backslashes = if b == b'\\' { backslashes + 1 } else { 0 };
    }
    bytes.len()
}

/// Each level of quoting writes a backslash as two and a quote as `\"`: a quote inside `levels`
/// strings carries 2^levels − 1 backslashes (`"`, `\"`, `\\\"`, …). The levels of a run of
/// `backslashes` before a quote.
fn escape_levels(mut backslashes: usize) -> usize {
    let mut levels = 0;
    while !backslashes.is_multiple_of(2) {
        backslashes /= 2;
        levels += 1;
    }
    levels
}

/// Whether a quote after `backslashes` backslashes ends a string quoted inside `levels` others.
/// Undoing each level must leave an odd run (that level's escape of the quote); an even run means
/// the string of that level ends here, and the value with it. Only a quote whose run stays odd
/// down to the value's own escaping (`\"` in the value) is a character of the value.
fn closes(backslashes: usize, levels: usize) -> bool {
    let mut run = backslashes;
    for _ in 0..=levels {
        if run.is_multiple_of(2) {
            return true;
        }
        run /= 2;
    }
    false
}

/// `header.payload.signature` in base64url, header starting `eyJ` (`{"`).
fn is_jwt(word: &str) -> bool {
    word.starts_with("eyJ") && word.contains('.')
}

/// Entra ID client secrets: 30 or more characters of their alphabet, with a `~` in them
/// (`abc8Q~…`). Ordinary words, GUIDs and URLs have no `~` or contain other characters.
fn is_entra_secret(word: &str) -> bool {
    word.len() >= 30
        && word.contains('~')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_is_by_structure_not_by_length() {
        let cases = [
            // Kept: what helps a person fix the problem, however long.
            ("AADSTS7000215: Invalid client secret provided.", None),
            ("Trace ID: 3f2504e0-4f89-11d3-9a0c-0305e82c3301", None),
            (
                "see https://aka.ms/azsdk/rust/identity/troubleshoot#client-secret",
                None,
            ),
            ("ClientSecretCredentialAuthenticationFailedException", None),
            ("failed to get token: connection refused", None),
            // JSON fields.
            (
                r#"{"client_secret": "x", "client_id": "app"}"#,
                Some(r#"{"client_secret": "<redacted>", "client_id": "app"}"#),
            ),
            (
                r#"{'password':'p w'}"#,
                Some(r#"{'password':'<redacted>'}"#),
            ),
            (
                r#""access_token": 12345"#,
                Some(r#""access_token": <redacted>"#),
            ),
            // key=value, key = value, key:value, YAML-ish.
            ("password = x", Some("password = <redacted>")),
            (
                "client_secret=hunter2&b=1",
                Some("client_secret=<redacted>&b=1"),
            ),
            ("'password:hunter2',", Some("'password:<redacted>',")),
            ("password: x", Some("password: <redacted>")),
            (
                "AZURE_CLIENT_SECRET=s",
                Some("AZURE_CLIENT_SECRET=<redacted>"),
            ),
            // URLs: userinfo, query and fragment values.
            (
                "GET https://user:pw@login.example/t failed",
                Some("GET https://<redacted>@login.example/t failed"),
            ),
            (
                "https://login.example/t?client_id=a&code=b#state=c",
                Some(
                    "https://login.example/t?client_id=<redacted>&code=<redacted>#state=<redacted>",
                ),
            ),
            // A non-ASCII character right before the scheme (this panicked).
            (
                "see “https://user:pw@login.example/t?code=b”",
                Some("see “https://<redacted>@login.example/t?code=<redacted>"),
            ),
            ("é://x", None),
            // Bearer tokens, JWTs, Entra client secrets.
            (
                "Authorization: Bearer abc",
                Some("Authorization: Bearer <redacted>"),
            ),
            ("Basic dXNlcjpwdw==", Some("Basic <redacted>")),
            // A word whose URL was redacted first is replaced whole (this left a stray `>`).
            ("Bearer u:p@h\"https://x?a=b", Some("Bearer <redacted>")),
            ("(eyJ0eXAiOiJKV1QiLCJhbGc.eyJ)", Some("(<redacted>)")),
            (
                "secret abc8Q~abcdefghijklmnopqrstuvwxyz.0123 rejected",
                Some("secret <redacted> rejected"),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(redact(line), want.unwrap_or(line), "{line}");
        }
    }

    #[test]
    fn quoted_values_end_where_their_string_ends_not_at_an_escaped_quote() {
        let cases = [
            // An escaped quote inside the value (this showed `tail-secret`).
            (
                r#"{"client_secret":"abc\"tail-secret","client_id":"app"}"#,
                r#"{"client_secret":"<redacted>","client_id":"app"}"#,
            ),
            // An escaped backslash right before the closing quote: the string ends there.
            (
                r#"{"client_secret":"abc\\","client_id":"app"}"#,
                r#"{"client_secret":"<redacted>","client_id":"app"}"#,
            ),
            // An escaped backslash, then an escaped quote.
            (
                r#"{"password":"a\\\"tail","x":1}"#,
                r#"{"password":"<redacted>","x":1}"#,
            ),
            // A quote written as a unicode escape does not end the string.
            (
                r#"{"client_secret":"ab\u0022tail","client_id":"app"}"#,
                r#"{"client_secret":"<redacted>","client_id":"app"}"#,
            ),
            // Single-quoted (Python-style) values escape the same way.
            (
                r#"{'password': 'it\'s tail'}"#,
                r#"{'password': '<redacted>'}"#,
            ),
            // A quoted value after `=`.
            (
                r#"password="a\"tail" next"#,
                r#"password="<redacted>" next"#,
            ),
            // JSON inside a JSON string: keys and values quoted with `\"`.
            (
                r#"body: "{\"client_secret\":\"abc\\\"tail\",\"client_id\":\"app\"}""#,
                r#"body: "{\"client_secret\":\"<redacted>\",\"client_id\":\"app\"}""#,
            ),
            // Unterminated: everything to the end of the line.
            (
                r#"{"client_secret":"abc\"tail"#,
                r#"{"client_secret":"<redacted>"#,
            ),
            (
                r#"{"client_secret":"abc\"#,
                r#"{"client_secret":"<redacted>"#,
            ),
            (r#"{"client_secret":""#, r#"{"client_secret":""#),
            (r#"{"client_secret":"\"#, r#"{"client_secret":"<redacted>"#),
            // A URL inside the value: its redaction must not unbalance the quotes.
            (
                r#"{"client_secret":"x://h?q=a\"tail","client_id":"app"}"#,
                r#"{"client_secret":"<redacted>","client_id":"app"}"#,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(redact(line), want, "{line}");
        }
    }

    /// A small deterministic generator (xorshift), so a failing case can be replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }

        fn text(&mut self, alphabet: &[&str], max_len: u64) -> String {
            let len = self.next() % (max_len + 1);
            (0..len).map(|_| self.pick(alphabet)).collect()
        }
    }

    /// Characters that have a meaning to JSON, quoting, URLs, `key=value`, or UTF-8 boundaries.
    const TRICKY: [&str; 22] = [
        "a", "Z", "0", "\\", "\"", "'", "\\\"", "\\\\", " ", ":", "=", "&", "?", "@", "://", "\n",
        "\u{1}", "é", "“", "}", "~", "u0022",
    ];

    /// Python's `repr` of a string, single-quoted.
    fn python_repr(s: &str) -> String {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }

    #[test]
    fn no_part_of_a_secret_survives_any_quoting_of_it() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..5_000 {
            // The marker sits at several places, so a leak of any tail shows it.
            let secret = format!(
                "{}SEKRIT{}SEKRIT{}",
                rng.text(&TRICKY, 6),
                rng.text(&TRICKY, 6),
                rng.text(&TRICKY, 6)
            );
            let key = rng.pick(&[
                "client_secret",
                "password",
                "access_token",
                "AZURE_CLIENT_SECRET",
            ]);
            let json = serde_json::json!({ key: secret, "client_id": "app" }).to_string();
            let lines = [
                json.clone(),
                // JSON inside a JSON string, once and twice.
                serde_json::json!({ "body": json }).to_string(),
                serde_json::json!({ "outer": serde_json::json!({ "body": json }).to_string() })
                    .to_string(),
                format!(
                    "{{{}: {}, 'client_id': 'app'}}",
                    python_repr(key),
                    python_repr(&secret)
                ),
                format!("{key}={} and more", serde_json::Value::from(secret.clone())),
            ];
            for line in lines {
                let out = redact(&line);
                assert!(
                    !out.contains("SEKRIT"),
                    "case {case}: {line:?} was redacted to {out:?}"
                );
            }
        }
    }

    #[test]
    fn redaction_never_panics_on_any_input() {
        let alphabet = [
            "client_secret",
            "password",
            "code",
            "Bearer ",
            "https://",
            "u:p@h",
            "?a=b",
            "#s=t",
            "eyJ",
            ".",
            "\\",
            "\"",
            "'",
            "\\\"",
            " ",
            ":",
            "=",
            "&",
            "é",
            "“",
            "\u{10FFFF}",
            ",",
        ];
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let line = rng.text(&alphabet, 24);
            let out = redact(&line);
            // Redaction only takes text away and marks where: without its markers, the output
            // is what the input was, minus some of it, in the same order.
            let mut input = line.chars();
            assert!(
                out.replace(REDACTED, "")
                    .chars()
                    .all(|c| input.any(|kept| kept == c)),
                "{line:?} was redacted to {out:?}"
            );
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
