//! Delegated sign-in with the OAuth 2.0 device authorization grant (RFC 8628) at the Entra ID
//! authority of a [`Cloud`]: the admin opens a URL on any device and types a short code; this
//! process polls until the sign-in is done, then refreshes the access token with the refresh
//! token before it expires, so a run longer than a token's lifetime keeps going.
//!
//! ```no_run
//! use autopilot_resource_account::device_code::DeviceCodeCredential;
//! use autopilot_resource_account::{Cloud, GraphClient};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let credential = DeviceCodeCredential::builder("<app (client) id>", "contoso.onmicrosoft.com")
//!     .cloud(Cloud::Global)
//!     .sign_in(|prompt| eprintln!("open {} and enter {}", prompt.verification_uri, prompt.user_code))
//!     .await?;
//! let client = GraphClient::builder().cloud(Cloud::Global).token_provider(credential).build()?;
//! # let _ = client; Ok(()) }
//! ```
//!
//! The two form posts are written here over the crate's own reqwest: the `oauth2` crate's
//! reqwest integration brings a second reqwest (0.12), and its device-flow deadline runs on
//! chrono's wall clock, which a paused test clock cannot drive. Nothing is cached between runs.

mod flow;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::signin::auth::{AccessToken, BoxFuture, TokenError, TokenProvider};
use crate::signin::cloud::Cloud;
use crate::signin::endpoint::{USER_AGENT, checked_base_url};
use crate::text::one_line;
use flow::{Endpoints, Failure, Secret};

/// The delegated permission the assignment needs (besides `offline_access`, for the refresh token).
pub const PERMISSION: &str = "DeviceManagementServiceConfig.ReadWrite.All";
/// Each identity request waits at most this long by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// A token is refreshed when less than this, or less than a tenth of its lifetime, is left
/// (whichever is less: a one-minute token of a test is refreshed at 54 s, a real one at 5 min).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// What the admin must do to sign in: open `verification_uri` and enter `user_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceCodePrompt {
    /// The short code to type (not a secret: it only works with this process's device code).
    pub user_code: String,
    /// Where to type it, e.g. `https://microsoft.com/devicelogin`.
    pub verification_uri: String,
    /// How long the code stays valid.
    pub expires_in: Duration,
    /// The authority's own sentence saying the above, if it sent one.
    pub message: Option<String>,
}

/// How to sign in: built by [`DeviceCodeCredential::builder`], run by [`sign_in`](Self::sign_in).
#[derive(Debug, Clone)]
pub struct DeviceCodeBuilder {
    client_id: String,
    tenant: String,
    cloud: Cloud,
    authority: Option<String>,
    timeout: Duration,
}

impl DeviceCodeBuilder {
    /// The cloud: its authority host and its Graph resource (the scope's prefix).
    pub fn cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = cloud;
        self
    }

    /// Another authority than the cloud's (`https`, or plain `http` to a loopback host only),
    /// e.g. `StandIn::authority_url()` of the workspace's stand-in crate
    /// (`autopilot-resource-account-stand-in`).
    pub fn authority(mut self, url: &str) -> Self {
        self.authority = Some(url.to_owned());
        self
    }

    /// How long each identity request may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the authority URL, client id and tenant without sending anything (so a caller can
    /// tell a usage error from a failed sign-in).
    ///
    /// # Errors
    ///
    /// A [`TokenError`] naming what is wrong: an authority URL that does not parse or is not
    /// allowed, or a client id or tenant that is not a GUID or domain name.
    pub fn check(&self) -> Result<(), TokenError> {
        self.connect().map(|_| ())
    }

    /// Asks for a device code, hands the prompt to `on_prompt`, and polls until the admin has
    /// signed in, declined, or the code expired (never longer than the code's `expires_in`).
    ///
    /// # Errors
    ///
    /// A [`TokenError`]: what [`check`](Self::check) refuses; the authority unreachable or
    /// answering 5xx/429 ([transient](TokenError::is_transient)); the sign-in declined; or the
    /// code expired before the admin signed in.
    pub async fn sign_in(
        self,
        on_prompt: impl FnOnce(&DeviceCodePrompt),
    ) -> Result<DeviceCodeCredential, TokenError> {
        let inner = self.connect()?;
        let code = flow::request_device_code(
            &inner.http,
            &inner.endpoints,
            &inner.client_id,
            &inner.scope,
        )
        .await
        .map_err(|e| flow::token_error("cannot start the device-code sign-in", &e))?;
        let started = Instant::now();
        on_prompt(&DeviceCodePrompt {
            user_code: code.user_code.clone(),
            verification_uri: code.verification_uri.clone(),
            expires_in: code.expires_in,
            message: code.message.clone(),
        });
        let deadline = started + code.expires_in;
        let mut interval = code.interval;
        let tokens = loop {
            let wake = Instant::now() + interval;
            if wake > deadline {
                return Err(TokenError::new(format!(
                    "the device code expired after {} s before the sign-in was completed: run the command again",
                    code.expires_in.as_secs()
                )));
            }
            tokio::time::sleep_until(wake).await;
            match flow::redeem_device_code(
                &inner.http,
                &inner.endpoints,
                &inner.client_id,
                &code.device_code,
            )
            .await
            {
                Ok(tokens) => break tokens,
                Err(Failure::OAuth { code, .. }) if code == "authorization_pending" => {}
                // RFC 8628 §3.5: every later poll waits 5 s longer.
                Err(Failure::OAuth { code, .. }) if code == "slow_down" => {
                    interval += Duration::from_secs(5);
                }
                Err(e @ Failure::OAuth { .. }) => return Err(poll_error(&e)),
                Err(e) => return Err(flow::token_error("the device-code sign-in failed", &e)),
            }
        };
        let now = Instant::now();
        *inner.state.lock().await = State::Signed(Held::new(tokens, now));
        Ok(DeviceCodeCredential {
            inner: Arc::new(inner),
        })
    }

    fn connect(&self) -> Result<Inner, TokenError> {
        let authority = match &self.authority {
            // Worded as the client builder's `Error::InvalidInput` for a base URL.
            Some(url) => checked_base_url(url).map_err(|refused| {
                let shown = format!("invalid input: {}", one_line(&refused, 300));
                TokenError::new(shown.replacen("base URL", "authority URL", 1))
            })?,
            None => self.cloud.authority_host().to_owned(),
        };
        let client_id = checked("client id", &self.client_id, 64)?;
        let tenant = checked("tenant", &self.tenant, 253)?;
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            // A redirect could carry the device code or refresh token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT);
        if authority.starts_with("http:") {
            // Plain http goes only to loopback (checked above): never through a proxy.
            http = http.no_proxy();
        }
        let http = http
            .build()
            .map_err(|_| TokenError::new("cannot build the HTTP client for the sign-in"))?;
        let resource = self.cloud.resource();
        Ok(Inner {
            endpoints: Endpoints::new(&authority, &tenant),
            authority,
            tenant,
            client_id,
            resource,
            scope: format!("{resource}/{PERMISSION} offline_access"),
            http,
            state: tokio::sync::Mutex::new(State::None),
        })
    }
}

/// Client ids are GUIDs and tenants GUIDs or domain names: both go into a URL or a form, so
/// only letters, digits, `-` and `.` are allowed.
fn checked(what: &str, value: &str, max: usize) -> Result<String, TokenError> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= max
        && !value.starts_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(TokenError::new(format!(
            "the {what} must be a GUID or domain name (letters, digits, '-' and '.', at most {max})"
        )))
    }
}

fn poll_error(failure: &Failure) -> TokenError {
    let Failure::OAuth { code, .. } = failure else {
        return flow::token_error("the device-code sign-in failed", failure);
    };
    let why = match code.as_str() {
        "expired_token" => {
            "the device code expired before the sign-in was completed: run the command again"
        }
        "access_denied" | "authorization_declined" => {
            "the sign-in was declined at the verification page"
        }
        "bad_verification_code" => "the authority does not know this device code",
        _ => return flow::token_error("the device-code sign-in failed", failure),
    };
    TokenError::new(format!("{why} ({})", failure.quoted()))
}

/// A signed-in device-code session: the [`TokenProvider`] of a [`GraphClient`](crate::GraphClient).
///
/// `Debug` shows where it signed in, never a token or code.
#[derive(Clone)]
pub struct DeviceCodeCredential {
    inner: Arc<Inner>,
}

struct Inner {
    endpoints: Endpoints,
    authority: String,
    tenant: String,
    client_id: String,
    resource: &'static str,
    scope: String,
    http: reqwest::Client,
    state: tokio::sync::Mutex<State>,
}

enum State {
    None,
    Signed(Held),
    /// The refresh token was refused: every later call gets this message at once.
    Dead(TokenError),
}

struct Held {
    access: AccessToken,
    refresh: Option<Secret>,
    expires_at: Instant,
    refresh_at: Instant,
}

impl Held {
    fn new(tokens: flow::Tokens, now: Instant) -> Self {
        let margin = REFRESH_MARGIN.min(tokens.lifetime / 10);
        Self {
            access: tokens.access,
            refresh: tokens.refresh,
            expires_at: now + tokens.lifetime,
            refresh_at: now + tokens.lifetime - margin,
        }
    }
}

impl DeviceCodeCredential {
    /// Sign-in for the public-client app `client_id` (yours: see the README) in `tenant` (a
    /// GUID or a domain such as `contoso.onmicrosoft.com`).
    pub fn builder(client_id: impl Into<String>, tenant: impl Into<String>) -> DeviceCodeBuilder {
        DeviceCodeBuilder {
            client_id: client_id.into(),
            tenant: tenant.into(),
            cloud: Cloud::Global,
            authority: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The delegated scope asked for (`<resource>/DeviceManagementServiceConfig.ReadWrite.All offline_access`).
    pub fn scope(&self) -> &str {
        &self.inner.scope
    }

    async fn current(&self) -> Result<AccessToken, TokenError> {
        let inner = &self.inner;
        // The lock is held through a refresh: concurrent callers wait for it and share its token.
        let mut state = inner.state.lock().await;
        let now = Instant::now();
        let held = match &*state {
            State::None => return Err(TokenError::new("not signed in")),
            State::Dead(error) => return Err(error.clone()),
            State::Signed(held) if now < held.refresh_at => return Ok(held.access.clone()),
            State::Signed(held) => held,
        };
        let Some(refresh_token) = held.refresh.clone() else {
            if now < held.expires_at {
                return Ok(held.access.clone());
            }
            return Err(TokenError::new(
                "the access token expired and the authority gave no refresh token (was offline_access granted?): sign in again",
            ));
        };
        match flow::refresh(
            &inner.http,
            &inner.endpoints,
            &inner.client_id,
            &inner.scope,
            &refresh_token,
        )
        .await
        {
            Ok(mut tokens) => {
                // Entra may not rotate the refresh token: keep the one that still works.
                tokens.refresh = tokens.refresh.or(Some(refresh_token));
                let held = Held::new(tokens, Instant::now());
                let access = held.access.clone();
                *state = State::Signed(held);
                Ok(access)
            }
            Err(Failure::OAuth { code, description })
                if code == "invalid_grant" || code == "interaction_required" =>
            {
                let failure = Failure::OAuth { code, description };
                let error = TokenError::new(format!(
                    "the sign-in can no longer be refreshed ({}): sign in again with --auth device-code",
                    failure.quoted()
                ));
                *state = State::Dead(error.clone());
                Err(error)
            }
            // The authority is unreachable for now: the current token still works until it expires.
            Err(_) if now < held.expires_at => {
                tracing::warn!("token refresh failed; the current token is used until it expires");
                Ok(held.access.clone())
            }
            Err(e) => Err(flow::token_error("cannot refresh the access token", &e)),
        }
    }
}

impl TokenProvider for DeviceCodeCredential {
    fn token<'a>(
        &'a self,
        scopes: &'a [&'a str],
    ) -> BoxFuture<'a, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            let resource = self.inner.resource;
            if let Some(other) = scopes
                .iter()
                .find(|s| !s.starts_with(&format!("{resource}/")))
            {
                return Err(TokenError::new(format!(
                    "this sign-in is for {resource}, but a token for {other} was asked (pick the same cloud for the client)"
                )));
            }
            self.current().await
        })
    }

    fn invalidate<'a>(
        &'a self,
        _scopes: &'a [&'a str],
        token: &'a AccessToken,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // Graph refused it (revoked, or clocks disagree): refresh on the next call.
            if let State::Signed(held) = &mut *self.inner.state.lock().await
                && held.access == *token
            {
                let now = Instant::now();
                held.refresh_at = now;
                held.expires_at = held.expires_at.min(now);
            }
        })
    }
}

impl std::fmt::Debug for DeviceCodeCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCodeCredential")
            .field("authority", &self.inner.authority)
            .field("tenant", &self.inner.tenant)
            .field("client_id", &self.inner.client_id)
            .field("scope", &self.inner.scope)
            .finish_non_exhaustive()
    }
}
