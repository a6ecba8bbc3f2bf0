//! The two form posts of the device authorization grant (RFC 8628) and the refresh grant, over
//! the crate's own reqwest, with Entra's answers decoded into secrets that never print.

use std::time::Duration;

use serde_json::Value;

use crate::signin::auth::{AccessToken, TokenError};

/// Only this much of an identity answer is read: a token answer is a few KiB.
const MAX_BODY: usize = 64 * 1024;
/// Lifetimes from the wire are held to this range (a zero lifetime would refresh on every call).
const MIN_LIFETIME: Duration = Duration::from_secs(1);
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A refresh token or device code: `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What `/devicecode` answered.
#[derive(Debug)]
pub(crate) struct DeviceCode {
    pub(crate) device_code: Secret,
    pub(crate) user_code: String,
    pub(crate) verification_uri: String,
    pub(crate) expires_in: Duration,
    pub(crate) interval: Duration,
    pub(crate) message: Option<String>,
}

/// What `/token` answered with a token.
#[derive(Debug)]
pub(crate) struct Tokens {
    pub(crate) access: AccessToken,
    pub(crate) refresh: Option<Secret>,
    pub(crate) lifetime: Duration,
}

/// Why a post failed: an OAuth error code from the authority, or anything else (one line).
#[derive(Debug)]
pub(crate) enum Failure {
    OAuth {
        code: String,
        description: String,
    },
    Other(String),
    /// A failure for a passing reason: a transport error, or 5xx/429 without an OAuth error.
    Passing(String),
}

impl Failure {
    /// `code (description)`, the way the messages quote the authority.
    pub(crate) fn quoted(&self) -> String {
        match self {
            Failure::OAuth { code, description } if description.is_empty() => code.clone(),
            Failure::OAuth { code, description } => format!("{code}: {description}"),
            Failure::Other(text) | Failure::Passing(text) => text.clone(),
        }
    }

    /// Whether the same post may succeed later: a transport failure, 5xx or 429, or the OAuth
    /// `temporarily_unavailable` (RFC 6749 §5.2).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Failure::Passing(_) => true,
            Failure::OAuth { code, .. } => code == "temporarily_unavailable",
            Failure::Other(_) => false,
        }
    }
}

/// Where the posts go: `{authority}/{tenant}/oauth2/v2.0/…`.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub(crate) device_code: String,
    pub(crate) token: String,
}

impl Endpoints {
    pub(crate) fn new(authority: &str, tenant: &str) -> Self {
        let base = format!("{authority}/{tenant}/oauth2/v2.0");
        Self {
            device_code: format!("{base}/devicecode"),
            token: format!("{base}/token"),
        }
    }
}

pub(crate) async fn request_device_code(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    client_id: &str,
    scope: &str,
) -> Result<DeviceCode, Failure> {
    let body = post(
        http,
        &endpoints.device_code,
        &[("client_id", client_id), ("scope", scope)],
    )
    .await?;
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let missing = |name: &str| Failure::Other(format!("the device-code answer has no {name}"));
    Ok(DeviceCode {
        device_code: Secret(text("device_code").ok_or_else(|| missing("device_code"))?),
        user_code: text("user_code").ok_or_else(|| missing("user_code"))?,
        // v2.0 says verification_uri; the v1 endpoint said verification_url.
        verification_uri: text("verification_uri")
            .or_else(|| text("verification_url"))
            .ok_or_else(|| missing("verification_uri"))?,
        expires_in: seconds(&body, "expires_in")
            .ok_or_else(|| missing("expires_in"))?
            .clamp(MIN_LIFETIME, Duration::from_secs(3600)),
        // RFC 8628 §3.2: 5 s when absent.
        interval: seconds(&body, "interval")
            .unwrap_or(Duration::from_secs(5))
            .clamp(Duration::from_secs(1), Duration::from_secs(60)),
        message: text("message"),
    })
}

pub(crate) async fn redeem_device_code(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    client_id: &str,
    device_code: &Secret,
) -> Result<Tokens, Failure> {
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", client_id),
        ("device_code", device_code.0.as_str()),
    ];
    tokens(post(http, &endpoints.token, &form).await?)
}

pub(crate) async fn refresh(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    client_id: &str,
    scope: &str,
    refresh_token: &Secret,
) -> Result<Tokens, Failure> {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("scope", scope),
        ("refresh_token", refresh_token.0.as_str()),
    ];
    tokens(post(http, &endpoints.token, &form).await?)
}

fn tokens(body: Value) -> Result<Tokens, Failure> {
    let access = body
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::Other("the token answer has no access_token".into()))?;
    let lifetime = seconds(&body, "expires_in")
        .ok_or_else(|| Failure::Other("the token answer has no expires_in".into()))?
        .clamp(MIN_LIFETIME, MAX_LIFETIME);
    let refresh = body
        .get("refresh_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(|t| Secret(t.to_owned()));
    Ok(Tokens {
        access: AccessToken::new(access),
        refresh,
        lifetime,
    })
}

/// A whole number of seconds, as a JSON number or a string of digits (both are seen).
fn seconds(body: &Value, name: &str) -> Option<Duration> {
    let value = body.get(name)?;
    let secs = value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))?;
    Some(Duration::from_secs(secs))
}

/// Posts a form; a 2xx JSON object is the answer, an OAuth error object is `Failure::OAuth`.
async fn post(http: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Result<Value, Failure> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut response = http
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| Failure::Passing(transport(&e)))?;
    let status = response.status();
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_BODY => {
                bytes.extend_from_slice(&chunk)
            }
            Ok(Some(_)) => {
                return Err(Failure::Other(format!(
                    "the authority answered {status} with more than {MAX_BODY} bytes"
                )));
            }
            Ok(None) => break,
            Err(e) => return Err(Failure::Passing(transport(&e))),
        }
    }
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    if let Some(code) = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(Value::as_str)
    {
        let description = json
            .as_ref()
            .and_then(|j| j.get("error_description"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(Failure::OAuth {
            code: one_line(code, 64),
            description: one_line(description, 200),
        });
    }
    match json {
        Some(value @ Value::Object(_)) if status.is_success() => Ok(value),
        _ if status.is_success() => Err(Failure::Other(format!(
            "the authority answered {status} without a JSON object"
        ))),
        _ if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS => {
            Err(Failure::Passing(format!(
                "the authority answered {status} without an OAuth error"
            )))
        }
        _ => Err(Failure::Other(format!(
            "the authority answered {status} without an OAuth error"
        ))),
    }
}

/// A transport failure in one line; reqwest's text names the URL, which holds no secret (the
/// secrets travel in the form body).
fn transport(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let url = error
        .url()
        .map(|u| u.as_str().to_owned())
        .unwrap_or_default();
    format!("the request to the authority {url} {what}")
}

/// The first line of a server's text, control characters dropped, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    let mut out: String = line.chars().filter(|c| !c.is_control()).take(max).collect();
    if line.chars().count() > max {
        out.push('…');
    }
    out
}

/// Turns a post failure into the caller's one-line error.
pub(crate) fn token_error(context: &str, failure: &Failure) -> TokenError {
    TokenError::new(format!("{context}: {}", failure.quoted()))
        .with_transient(failure.is_transient())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_one_short_line() {
        assert_eq!(
            one_line("AADSTS70016: pending\r\nTrace ID: x", 200),
            "AADSTS70016: pending"
        );
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("a\u{1b}[31mb", 10), "a[31mb");
    }

    #[test]
    fn seconds_are_numbers_or_digit_strings() {
        let body = serde_json::json!({"a": 5, "b": "7", "c": "x", "d": -1});
        assert_eq!(seconds(&body, "a"), Some(Duration::from_secs(5)));
        assert_eq!(seconds(&body, "b"), Some(Duration::from_secs(7)));
        assert_eq!(seconds(&body, "c"), None);
        assert_eq!(seconds(&body, "d"), None);
    }
}

/// Which failures of the authority are passing (issue 25): a retry may succeed after them.
#[cfg(test)]
mod transient_tests {
    use super::*;

    #[test]
    fn transport_errors_5xx_429_and_temporarily_unavailable_are_transient() {
        let passing = Failure::Passing("the request to the authority https://a/t failed".into());
        let error = token_error("cannot refresh the access token", &passing);
        assert!(error.is_transient());
        assert_eq!(
            error.message(),
            "cannot refresh the access token: the request to the authority https://a/t failed"
        );
        let busy = Failure::OAuth {
            code: "temporarily_unavailable".into(),
            description: String::new(),
        };
        assert!(token_error("x", &busy).is_transient());
        let denied = Failure::OAuth {
            code: "invalid_grant".into(),
            description: "AADSTS70000".into(),
        };
        assert!(!token_error("x", &denied).is_transient());
        assert!(!token_error("x", &Failure::Other("no access_token".into())).is_transient());
    }
}
