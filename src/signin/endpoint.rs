//! What every connection of the crate shares, Graph's or a sign-in authority's: the rule for a
//! base URL other than a cloud's, and the `User-Agent` it introduces itself with.

/// Sent as `User-Agent` on every request.
pub const USER_AGENT: &str = concat!("autopilot-resource-account/", env!("CARGO_PKG_VERSION"));

/// `https` anywhere, `http` only to loopback; no credentials, query or fragment; no trailing `/`.
/// The refusal is the text of an [`Error::InvalidInput`](crate::Error::InvalidInput).
pub(crate) fn checked_base_url(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("base URL does not parse: {e}"))?;
    let bad = |why: &str| {
        // Never echo userinfo: it may be a password.
        let mut shown = parsed.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        format!("base URL {:?} {why}", shown.as_str())
    };
    let loopback = match parsed.host() {
        Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("has no host")),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "must use https (plain http is allowed only to a loopback host)",
            ));
        }
        other => return Err(bad(&format!("has scheme {other:?}; expected https"))),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not contain credentials"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        for ok in [
            "https://graph.microsoft.com/beta",
            "https://proxy.example/graph/beta/",
            "http://127.0.0.1:8080/beta",
            "http://127.9.9.9/beta",
            "http://localhost:1/beta",
            "http://[::1]:9/beta",
        ] {
            let got = checked_base_url(ok).unwrap();
            assert!(!got.ends_with('/'), "{got}");
        }
        for (bad, why) in [
            ("http://graph.microsoft.com/beta", "must use https"),
            ("http://10.0.0.1/beta", "must use https"),
            ("ftp://127.0.0.1/beta", "scheme"),
            ("https://user:pw@graph.microsoft.com/beta", "credentials"),
            ("https://graph.microsoft.com/beta?x=1", "query"),
            ("not a url", "does not parse"),
        ] {
            let err = checked_base_url(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(!err.contains("pw"), "{err}");
        }
    }
}
