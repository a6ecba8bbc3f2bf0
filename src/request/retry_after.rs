//! `Retry-After`: delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`).
//!
//! The value comes from the server, so it is clamped here, where it is read: nothing computed
//! from it later (sums of waits, instants) can overflow, whatever the server sent.

use std::time::{Duration, SystemTime};

/// The wait a `Retry-After` asked for, clamped to the retry policy's cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryAfter {
    /// At most the cap.
    pub(crate) wait: Duration,
    /// The server asked for more than the cap: the call must not retry (retrying earlier than
    /// asked would only earn another refusal).
    pub(crate) beyond_cap: bool,
}

/// The wait a `Retry-After` value asks for, measured from now and clamped to `cap`; `None` when
/// it is unreadable.
pub(crate) fn parse(value: &reqwest::header::HeaderValue, cap: Duration) -> Option<RetryAfter> {
    let asked = parse_at(value.to_str().ok()?.trim(), SystemTime::now())?;
    Some(RetryAfter {
        wait: asked.min(cap),
        beyond_cap: asked > cap,
    })
}

fn parse_at(value: &str, now: SystemTime) -> Option<Duration> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than a u64 holds is still "longer than any cap", not "unreadable".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    // A date in the past means "now".
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_both_forms() {
        let now = httpdate::parse_http_date("Sun, 29 Nov 2026 12:00:00 GMT").unwrap();
        assert_eq!(parse_at("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_at("Sun, 29 Nov 2026 12:00:02 GMT", now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_at("Sun, 29 Nov 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_at("soon", now), None);
        assert_eq!(parse_at("-1", now), None);
        assert_eq!(parse_at("+1", now), None);
        assert_eq!(parse_at("", now), None);
    }

    #[test]
    fn huge_values_are_clamped_to_the_cap() {
        let cap = Duration::from_secs(180);
        let read = |v: &'static str| parse(&HeaderValue::from_static(v), cap).unwrap();
        assert_eq!(
            read("7"),
            RetryAfter {
                wait: Duration::from_secs(7),
                beyond_cap: false
            }
        );
        assert_eq!(
            read("180"),
            RetryAfter {
                wait: cap,
                beyond_cap: false
            }
        );
        for huge in [
            "181",
            "18446744073709551615",
            "99999999999999999999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(
                read(huge),
                RetryAfter {
                    wait: cap,
                    beyond_cap: true
                },
                "{huge}"
            );
        }
    }
}
