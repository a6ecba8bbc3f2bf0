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

/// Why a token source could not produce a token. Its text must never contain a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    message: String,
}

impl TokenError {
    /// A token-source failure described in one line (no secrets, please).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The one-line description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TokenError {}

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
