//! Path-segment ids are checked before anything is sent.
//!
//! progenitor percent-encodes ids, but leaves `.` and `..` alone, and a URL parser then
//! rewrites `/a/../b` to `/b`: an id of `..` would silently post to a different resource.
//! Backslashes are normalised to `/` by some parsers and proxies, and control characters
//! have no business in an Intune id. So such ids are refused here, with the reason.

use crate::error::Error;

/// Longest id we accept. Autopilot ids are GUIDs (36 bytes); this only keeps bad input bounded.
const MAX_ID_LEN: usize = 1024;

/// Checks `value` (the parameter `name`) and returns it unchanged when it is safe to send.
pub(crate) fn check<'a>(name: &'static str, value: &'a str) -> Result<&'a str, Error> {
    let refuse = |why: &str| Err(Error::invalid_input(format!("{name} {why}")));
    if value.is_empty() {
        return refuse("is empty");
    }
    if value.len() > MAX_ID_LEN {
        return refuse(&format!(
            "is {} bytes long (at most {MAX_ID_LEN})",
            value.len()
        ));
    }
    // Decode repeatedly: `%252e%252e` is `..` to a server that decodes twice.
    let mut current = std::borrow::Cow::Borrowed(value);
    loop {
        if matches!(current.as_ref(), "." | "..") {
            return refuse(&format!("{value:?} is or decodes to a dot segment"));
        }
        if current.contains('\\') {
            return refuse(&format!("{value:?} contains a backslash"));
        }
        if current.chars().any(char::is_control) {
            return refuse(&format!("{value:?} contains a control character"));
        }
        let decoded = percent_encoding::percent_decode_str(&current).decode_utf8_lossy();
        if decoded == current {
            return Ok(value);
        }
        current = std::borrow::Cow::Owned(decoded.into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_guids_and_odd_but_harmless_ids() {
        for ok in [
            "7f9b6c1e-0000-4000-8000-000000000001",
            "a b",
            "a/b",
            "100%",
            "%zz",
            "...",
            ".a",
        ] {
            assert_eq!(check("id", ok).unwrap(), ok);
        }
    }

    #[test]
    fn refuses_what_would_change_the_path_or_break_the_request() {
        let cases = [
            ("", "is empty"),
            (".", "dot segment"),
            ("..", "dot segment"),
            ("%2e", "dot segment"),
            ("%2E%2e", "dot segment"),
            (".%2e", "dot segment"),
            ("%252e%252e", "dot segment"),
            ("a\\b", "backslash"),
            ("a%5cb", "backslash"),
            ("a\nb", "control character"),
            ("a%00b", "control character"),
            ("a\u{7f}", "control character"),
        ];
        for (id, why) in cases {
            let err = check("device_id", id).unwrap_err().to_string();
            assert!(err.contains(why), "{id:?}: {err}");
            assert!(err.starts_with("invalid input: device_id "), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        let long = "a".repeat(1025);
        assert!(
            check("id", &long)
                .unwrap_err()
                .to_string()
                .contains("1025 bytes")
        );
    }
}
