//! Graph refusing the caller: a `401` stops the whole run at once (every other row would get the
//! same answer), with one message saying what the token claims; a `403` names the permission.

use std::sync::{Arc, OnceLock};

use autopilot_resource_account::Error;
use base64::Engine as _;

/// The permission a write needs.
pub const WRITE_PERMISSION: &str = "DeviceManagementServiceConfig.ReadWrite.All";
/// The permissions a read accepts.
pub const READ_PERMISSION: &str =
    "DeviceManagementServiceConfig.Read.All or DeviceManagementServiceConfig.ReadWrite.All";

/// Shared by every task of a run: set by the first `401`, checked before each request.
#[derive(Clone, Default)]
pub struct Stop(Arc<OnceLock<String>>);

impl Stop {
    /// Whether `e` is a refused token; if so, the run stops (the first one's status is kept).
    pub fn check(&self, e: &Error) -> bool {
        if e.status() != Some(401) {
            return false;
        }
        let _ = self.0.set(format!(
            "Graph refused the token (401 Unauthorized{}); the run stopped there",
            e.request_id()
                .map(|id| format!(", request-id {id}"))
                .unwrap_or_default()
        ));
        true
    }

    pub fn stopped(&self) -> bool {
        self.0.get().is_some()
    }

    /// The one message of a stopped run: why, and what the token says about itself.
    pub fn message(&self, token: Option<&str>) -> Option<String> {
        let why = self.0.get()?;
        Some(match token {
            Some(token) => format!("{why}. {}", describe(token)),
            None => format!("{why}. The signed-in credential's token was refused"),
        })
    }
}

/// `Graph answered 403 …` plus the permission the call needs.
pub fn explain(e: &Error, write: bool) -> String {
    if e.status() == Some(403) {
        let needs = if write {
            WRITE_PERMISSION
        } else {
            READ_PERMISSION
        };
        format!("{e} (this call needs the Graph permission {needs}, admin-consented)")
    } else {
        e.to_string()
    }
}

/// What a JWT says about itself: audience, scopes or roles, expiry. Never the token itself.
pub fn describe(token: &str) -> String {
    let token = token.trim();
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token)
        .trim();
    let Some(claims) = claims(token) else {
        return "The token is not a JWT, so its audience, scopes and expiry cannot be read \
                (get a new one for Microsoft Graph)"
            .into();
    };
    let text = |name: &str| match &claims[name] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    };
    let mut parts = vec![format!(
        "audience (aud) {}",
        text("aud").unwrap_or_else(|| "none".into())
    )];
    match (text("scp"), text("roles")) {
        (None, None) => parts.push("no scopes (scp) and no roles".into()),
        (scp, roles) => {
            if let Some(scp) = scp {
                parts.push(format!("scopes (scp) {scp}"));
            }
            if let Some(roles) = roles {
                parts.push(format!("roles {roles}"));
            }
        }
    }
    if let Some(exp) = claims["exp"].as_i64() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let when = utc(exp);
        parts.push(if exp <= now {
            format!("expired at {when} ({} min ago)", (now - exp) / 60)
        } else {
            format!("expires at {when}")
        });
    }
    format!(
        "The token says: {}. Graph needs audience https://graph.microsoft.com (or the \
         national cloud's) and {WRITE_PERMISSION}",
        crate::characters::escape(&parts.join(", "))
    )
}

/// The payload of a JWT, if `token` is one.
fn claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then_some(value)
}

/// Seconds since 1970 as `YYYY-MM-DD hh:mm:ss UTC` (Howard Hinnant's days-to-civil).
fn utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.sig", b.encode("{}"), b.encode(payload))
    }

    #[test]
    fn describes_a_jwt_without_printing_it() {
        let token =
            jwt(r#"{"aud":"https://management.azure.com","scp":"User.Read","exp":0,"tid":"t"}"#);
        let text = describe(&format!("Bearer {token}"));
        assert!(
            text.contains("audience (aud) https://management.azure.com"),
            "{text}"
        );
        assert!(text.contains("scopes (scp) User.Read"), "{text}");
        assert!(
            text.contains("expired at 1970-01-01 00:00:00 UTC"),
            "{text}"
        );
        assert!(!text.contains(&token), "{text}");
        let roles = describe(&jwt(r#"{"aud":"a","roles":["X.Read.All","Y"]}"#));
        assert!(roles.contains("roles X.Read.All Y"), "{roles}");
        assert!(describe("opaque").contains("not a JWT"));
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_764_979_200 + 3_661), "2025-12-06 01:01:01 UTC");
    }
}
