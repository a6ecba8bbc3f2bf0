//! What the tool reads from a bearer token without trusting it: the tenant it was issued for,
//! which labels the journal. `connect` (a given token) and `signin` (a signed-in one) both ask.

use base64::Engine as _;

/// The tenant id (`tid` claim) of a JWT access token, if the token is one. Only read, never
/// trusted for anything but labelling the journal: Graph checks the token, not us.
pub fn tenant_of(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let tid = claims.get("tid")?.as_str()?;
    let plausible = !tid.is_empty()
        && tid.len() <= 64
        && tid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    plausible.then(|| tid.to_owned())
}

#[cfg(test)]
mod tests {
    use super::tenant_of;
    use base64::Engine as _;

    fn jwt(claims: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(claims))
    }

    #[test]
    fn the_tenant_comes_from_the_tid_claim() {
        assert_eq!(
            tenant_of(&jwt(
                r#"{"tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","aud":"x"}"#
            ))
            .as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        for opaque in [
            "",
            "opaque",
            "a.b.c",
            &jwt(r#"{"aud":"x"}"#),
            &jwt(r#"{"tid":"a/../b"}"#),
            &jwt(r#"{"tid":7}"#),
        ] {
            assert_eq!(tenant_of(opaque), None, "{opaque}");
        }
    }
}
