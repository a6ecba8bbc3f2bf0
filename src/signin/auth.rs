//! Where bearer tokens come from: a static token, or any async [`TokenProvider`].
//!
//! Tokens are held in [`AccessToken`], whose `Debug` is redacted, so a token can travel
//! through builders, errors and logs without ever being printed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, `Send` future, as returned by [`TokenProvider::token`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A bearer token. `Debug` never shows the secret; [`AccessToken::secret`] is the only way out.
///
/// ```
/// use autopilot_resource_account::AccessToken;
/// let token = AccessToken::new("eyJ0eXAi...");
/// assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
/// assert_eq!(token.secret(), "eyJ0eXAi...");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// Wraps a raw bearer token (without the `Bearer ` prefix).
    pub fn new(token: impl Into<String>) -> Self {
        Self(Arc::from(token.into()))
    }

    /// The raw token, for the `Authorization` header and nothing else.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

impl From<String> for AccessToken {
    fn from(token: String) -> Self {
        Self::new(token)
    }
}

impl From<&str> for AccessToken {
    fn from(token: &str) -> Self {
        Self::new(token)
    }
}

/// Why a token source could not produce a token. Its text, and its source's, must never
/// contain a secret.
///
/// A failure is permanent unless marked [transient](Self::transient) (a timeout, an identity
/// endpoint unreachable or answering 5xx/429): then [`Error::is_retryable`](crate::Error::is_retryable)
/// says the call may succeed later.
///
/// ```
/// use autopilot_resource_account::TokenError;
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
/// let e = TokenError::new("the identity endpoint did not answer").with_source(io).with_transient(true);
/// assert!(e.is_transient());
/// assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "reset by peer");
/// assert!(!TokenError::new("no credential configured").is_transient());
/// ```
#[derive(Debug, Clone)]
pub struct TokenError {
    message: String,
    transient: bool,
    // An `Arc` keeps the error `Clone` (a dead sign-in hands the same error to every caller).
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl TokenError {
    /// A permanent token-source failure described in one line (no secrets, please).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
            source: None,
        }
    }

    /// A failure for a passing reason (a timeout, an identity endpoint that is unreachable or
    /// busy): the same fetch may succeed later.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(message).with_transient(true)
    }

    /// Marks the failure transient (`true`) or permanent (`false`).
    pub fn with_transient(mut self, transient: bool) -> Self {
        self.transient = transient;
        self
    }

    /// The underlying error, returned by [`source`](std::error::Error::source). Its text must
    /// hold no secret either.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The one-line description.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the failure is passing, so that the same fetch may succeed later.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

/// Equal when the message, the transient flag and the source's text are (a source has no
/// `PartialEq` of its own).
impl PartialEq for TokenError {
    fn eq(&self, other: &Self) -> bool {
        let source = |e: &Self| e.source.as_ref().map(|s| s.to_string());
        self.message == other.message
            && self.transient == other.transient
            && source(self) == source(other)
    }
}

impl Eq for TokenError {}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Any asynchronous source of bearer tokens: a credential chain, a cache, a vault.
///
/// The client calls [`token`](TokenProvider::token) once per call (not per retry), with the
/// `.default` scope of the configured [`Cloud`](crate::Cloud), and waits for it at most the
/// client's [timeout](crate::GraphClientBuilder::timeout). Implementations that talk to an
/// identity provider should cache and refresh tokens themselves; when Graph answers `401` the
/// client calls [`invalidate`](TokenProvider::invalidate) with the refused token, once, so that a
/// cache can drop it and the next call gets a new one.
///
/// ```
/// use autopilot_resource_account::{AccessToken, BoxFuture, TokenError, TokenProvider};
///
/// struct FromEnv;
///
/// impl TokenProvider for FromEnv {
///     fn token<'a>(&'a self, _scopes: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
///         Box::pin(async {
///             std::env::var("GRAPH_TOKEN")
///                 .map(AccessToken::new)
///                 .map_err(|_| TokenError::new("GRAPH_TOKEN is not set"))
///         })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// Returns a token valid for `scopes` (for Graph: one `https://<host>/.default` scope).
    ///
    /// # Errors
    ///
    /// A [`TokenError`] when no token can be had; mark it
    /// [transient](TokenError::transient) when a later fetch may succeed (a timeout, an
    /// identity endpoint unreachable or answering 5xx/429), so that
    /// [`Error::is_retryable`](crate::Error::is_retryable) says so.
    fn token<'a>(&'a self, scopes: &'a [&'a str])
    -> BoxFuture<'a, Result<AccessToken, TokenError>>;

    /// Graph refused `token` (for `scopes`) with `401`: a cache should drop it if it still holds
    /// it, so that the next [`token`](TokenProvider::token) fetches a new one. The default does
    /// nothing (right for a fixed token).
    fn invalidate<'a>(
        &'a self,
        scopes: &'a [&'a str],
        token: &'a AccessToken,
    ) -> BoxFuture<'a, ()> {
        let _ = (scopes, token);
        Box::pin(async {})
    }
}

/// A fixed token, as given to [`GraphClientBuilder::bearer_token`](crate::GraphClientBuilder::bearer_token).
#[derive(Debug, Clone)]
pub(crate) struct StaticToken(pub(crate) AccessToken);

impl TokenProvider for StaticToken {
    fn token<'a>(
        &'a self,
        _scopes: &'a [&'a str],
    ) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kills the mutants of `<impl Debug for AccessToken>::fmt`: one that prints the token (a
    /// derived `Debug`, `f.write_str(&self.0)`) and `Ok(Default::default())`, which prints
    /// nothing and hides that a token is there. The doctest says the same, but a run without
    /// doctests (cargo-mutants' `--lib`) did not see it.
    #[test]
    fn debug_names_the_token_and_never_shows_it() {
        let token = AccessToken::new("eyJ0eXAi.secret-part");
        for shown in [
            format!("{token:?}"),
            format!("{token:#?}"),
            format!("{:?}", Some(&token)),
        ] {
            assert!(!shown.contains("secret-part"), "{shown}");
            assert!(shown.contains("AccessToken(<redacted>)"), "{shown}");
        }
        assert_eq!(
            format!("{:?}", StaticToken(token)),
            "StaticToken(AccessToken(<redacted>))"
        );
    }
}
