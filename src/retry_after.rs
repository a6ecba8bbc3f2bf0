//! `Retry-After`: delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`).

use std::time::{Duration, SystemTime};

/// The wait a `Retry-After` value asks for, measured from now; `None` when it is unreadable.
pub(crate) fn parse(value: &reqwest::header::HeaderValue) -> Option<Duration> {
    parse_at(value.to_str().ok()?.trim(), SystemTime::now())
}

fn parse_at(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    // A date in the past means "now".
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
