//! The stand-in's identity endpoint: the device authorization grant (RFC 8628) and the refresh
//! grant at `{authority_url}/{tenant}/oauth2/v2.0/{devicecode,token}`, approved without a human
//! after the scripted answers, and the Graph side's check of the tokens it issued.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Reply;

/// The path of the stand-in's authority under its address.
pub(super) const PATH: &str = "/identity";

/// How the stand-in's identity endpoint answers the next device-code sign-ins.
///
/// ```
/// use autopilot_resource_account_stand_in::SignIn;
/// use std::time::Duration;
///
/// // Two "authorization_pending", one "slow_down", then a token that lives 60 s.
/// let script = SignIn::approve().pending(2).slow_down(1).token_lifetime(Duration::from_secs(60));
/// # let _ = script;
/// ```
#[derive(Debug, Clone)]
pub struct SignIn {
    pending: u32,
    slow_down: u32,
    outcome: Outcome,
    interval: u64,
    expires_in: u64,
    token_lifetime: u64,
    refuse_refresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Approve,
    Deny,
    Expire,
}

impl Default for SignIn {
    fn default() -> Self {
        Self::approve()
    }
}

impl SignIn {
    /// The admin signs in (after the scripted pending and slow-down answers).
    pub fn approve() -> Self {
        Self {
            pending: 0,
            slow_down: 0,
            outcome: Outcome::Approve,
            interval: 5,
            expires_in: 900,
            token_lifetime: 3600,
            refuse_refresh: false,
        }
    }

    /// The admin declines: `access_denied`.
    pub fn deny() -> Self {
        Self {
            outcome: Outcome::Deny,
            ..Self::approve()
        }
    }

    /// Nobody signs in: `expired_token`.
    pub fn expire() -> Self {
        Self {
            outcome: Outcome::Expire,
            ..Self::approve()
        }
    }

    /// Answers `authorization_pending` to the first `n` polls.
    pub fn pending(mut self, n: u32) -> Self {
        self.pending = n;
        self
    }

    /// Then `slow_down` to the next `n`.
    pub fn slow_down(mut self, n: u32) -> Self {
        self.slow_down = n;
        self
    }

    /// The polling interval it announces, in whole seconds (default 5).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.as_secs();
        self
    }

    /// How long a device code stays valid, in whole seconds (default 900).
    pub fn code_lifetime(mut self, lifetime: Duration) -> Self {
        self.expires_in = lifetime.as_secs();
        self
    }

    /// How long each access token lives, in whole seconds (default 3600).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime.as_secs();
        self
    }

    /// Refresh tokens are refused with `invalid_grant` (revoked, or expired).
    pub fn refuse_refresh(mut self) -> Self {
        self.refuse_refresh = true;
        self
    }
}

/// What the identity endpoint has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityCounters {
    /// Device codes handed out.
    pub device_codes: u32,
    /// Polls of the token endpoint with a device code.
    pub polls: u32,
    /// Access tokens issued by a completed sign-in.
    pub sign_ins: u32,
    /// Access tokens issued by a refresh.
    pub refreshes: u32,
    /// Refresh attempts refused.
    pub refused_refreshes: u32,
    /// Graph calls refused with 401 for an expired or unknown token.
    pub refused_graph_calls: u32,
}

#[derive(Default)]
pub(super) struct Identity {
    script: SignIn,
    require_issued: bool,
    codes: HashMap<String, (u32, Instant)>,
    access: HashMap<String, Instant>,
    refresh: HashMap<String, ()>,
    counters: IdentityCounters,
    polls: Vec<Instant>,
    next: u64,
}

impl Identity {
    pub(super) fn script(&mut self, script: SignIn) {
        self.script = script;
    }

    pub(super) fn require_issued_tokens(&mut self, yes: bool) {
        self.require_issued = yes;
    }

    pub(super) fn counters(&self) -> IdentityCounters {
        self.counters
    }

    pub(super) fn polls(&self) -> Vec<Instant> {
        self.polls.clone()
    }

    /// The Graph side: `Some(401)` when tokens must be ours and `token` is unknown or expired.
    pub(super) fn check_bearer(&mut self, token: &str) -> Option<Reply> {
        if !self.require_issued {
            return None;
        }
        let message = match self.access.get(token) {
            Some(expires_at) if Instant::now() < *expires_at => return None,
            Some(_) => "Lifetime validation failed, the token is expired.",
            None => "The token was not issued by this stand-in.",
        };
        self.counters.refused_graph_calls += 1;
        Some(Reply::status(401).odata("InvalidAuthenticationToken", message))
    }

    /// Answers a request under [`PATH`]: `(status, JSON body)`.
    pub(super) fn answer(
        &mut self,
        method: &str,
        path: &str,
        body: &Bytes,
        host: &str,
    ) -> (u16, Value) {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        let endpoint = path.rsplit('/').next().unwrap_or_default();
        let under_tenant = path
            .strip_prefix(PATH)
            .and_then(|p| p.strip_prefix('/'))
            .and_then(|p| p.split_once('/'))
            .is_some_and(|(tenant, rest)| !tenant.is_empty() && rest.starts_with("oauth2/v2.0/"));
        if method != "POST" || !under_tenant {
            return (
                404,
                error("invalid_request", "AADSTS90002: no such endpoint"),
            );
        }
        if form.get("client_id").is_none_or(|c| c.is_empty()) {
            return (
                400,
                error("invalid_request", "AADSTS900144: client_id is missing"),
            );
        }
        match endpoint {
            "devicecode" => self.device_code(&form, host),
            "token" => match form.get("grant_type").map(String::as_str) {
                Some("urn:ietf:params:oauth:grant-type:device_code") => self.poll(&form),
                Some("refresh_token") => self.refresh(&form),
                _ => (
                    400,
                    error(
                        "unsupported_grant_type",
                        "AADSTS70003: unsupported grant type",
                    ),
                ),
            },
            _ => (
                404,
                error("invalid_request", "AADSTS90002: no such endpoint"),
            ),
        }
    }

    fn device_code(&mut self, form: &HashMap<String, String>, host: &str) -> (u16, Value) {
        let scope = form.get("scope").map(String::as_str).unwrap_or_default();
        if !scope.split(' ').any(|s| s == "offline_access") {
            return (
                400,
                error("invalid_scope", "AADSTS70011: offline_access is missing"),
            );
        }
        self.next += 1;
        self.counters.device_codes += 1;
        let device_code = format!("stand-in-device-code-{}", self.next);
        self.codes.insert(device_code.clone(), (0, Instant::now()));
        let user_code = format!("STANDIN{}", self.next);
        let uri = format!("http://{host}{PATH}/devicelogin");
        let message = format!(
            "To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate. (The stand-in approves by itself.)"
        );
        let answer = json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": uri,
            "expires_in": self.script.expires_in,
            "interval": self.script.interval,
            "message": message,
        });
        (200, answer)
    }

    fn poll(&mut self, form: &HashMap<String, String>) -> (u16, Value) {
        self.counters.polls += 1;
        self.polls.push(Instant::now());
        let code = form
            .get("device_code")
            .map(String::as_str)
            .unwrap_or_default();
        let Some((answered, issued)) = self.codes.get_mut(code) else {
            return (
                400,
                error("bad_verification_code", "AADSTS70019: unknown device code"),
            );
        };
        if issued.elapsed() >= Duration::from_secs(self.script.expires_in) {
            return (
                400,
                error("expired_token", "AADSTS70020: the device code expired"),
            );
        }
        *answered += 1;
        let n = *answered;
        let script = &self.script;
        if n <= script.pending {
            return (400, error("authorization_pending", "AADSTS70016: pending"));
        }
        if n <= script.pending + script.slow_down {
            return (400, error("slow_down", "polling too fast"));
        }
        match script.outcome {
            Outcome::Deny => (
                400,
                error("access_denied", "AADSTS70000: the user declined"),
            ),
            Outcome::Expire => (
                400,
                error("expired_token", "AADSTS70020: the device code expired"),
            ),
            Outcome::Approve => {
                self.codes.remove(code);
                self.counters.sign_ins += 1;
                (200, self.issue())
            }
        }
    }

    fn refresh(&mut self, form: &HashMap<String, String>) -> (u16, Value) {
        let token = form
            .get("refresh_token")
            .map(String::as_str)
            .unwrap_or_default();
        if self.script.refuse_refresh || self.refresh.remove(token).is_none() {
            self.counters.refused_refreshes += 1;
            return (
                400,
                error(
                    "invalid_grant",
                    "AADSTS700082: The refresh token has expired due to inactivity.",
                ),
            );
        }
        self.counters.refreshes += 1;
        (200, self.issue())
    }

    /// A new access token and a new (rotated) refresh token.
    fn issue(&mut self) -> Value {
        self.next += 1;
        let access = format!("stand-in-access-{}", self.next);
        let refresh = format!("stand-in-refresh-{}", self.next);
        let lifetime = self.script.token_lifetime;
        self.access.insert(
            access.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        );
        self.refresh.insert(refresh.clone(), ());
        json!({
            "token_type": "Bearer",
            "scope": "DeviceManagementServiceConfig.ReadWrite.All",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
            "refresh_token": refresh,
        })
    }
}

fn error(code: &str, description: &str) -> Value {
    json!({"error": code, "error_description": description, "error_codes": []})
}
