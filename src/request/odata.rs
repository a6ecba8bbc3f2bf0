//! OData text on the wire: string literals in `$filter`, and how query strings are encoded.
//!
//! progenitor hands query parameters to `reqwest`'s form encoder, which writes a space as `+`
//! and `$` as `%24`. Graph reads `+` in a query as a literal plus in some places and a space in
//! others, so the `pre` hook re-encodes generated queries here: RFC 3986 percent-encoding
//! (space `%20`), with OData's own punctuation (`$ ( ) , :`) left as Graph's docs write it. A
//! quote is sent as `%27`: the URL standard encodes `'` in http(s) queries anyway.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Error, InputErrorKind};

/// Encoded in a query name or value: everything but RFC 3986 unreserved characters and the
/// OData punctuation that is safe inside a query component (never `& = + ; # % '`).
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'$')
    .remove(b'(')
    .remove(b')')
    .remove(b',')
    .remove(b':')
    .remove(b'@')
    .remove(b'*')
    .remove(b'/');

/// Longest serial number accepted (real ones are 8–30 characters).
const MAX_SERIAL_LEN: usize = 256;

/// Rewrites the form-encoded query of `url` (as `reqwest` writes it) with [`QUERY_COMPONENT`].
/// Form decoding is exact here: the form encoder writes a literal `+` as `%2B`.
pub(crate) fn reencode_query(url: &mut reqwest::Url) {
    if url.query().is_none_or(str::is_empty) {
        return;
    }
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let query = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY_COMPONENT),
                utf8_percent_encode(v, QUERY_COMPONENT)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    url.set_query(Some(&query));
}

/// An OData string literal: `value` in single quotes, each `'` doubled, so no value can end
/// the literal early and change the filter's meaning.
pub(crate) fn string_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A serial number as the lookup uses it: trimmed, non-empty, bounded, no control characters.
pub(crate) fn check_serial(serial: &str) -> Result<&str, Error> {
    let trimmed = serial.trim();
    let refuse = |why: &str| {
        Err(Error::invalid_input(
            InputErrorKind::Serial,
            Some("serial"),
            format!("serial {why}"),
        ))
    };
    if trimmed.is_empty() {
        return refuse("is empty");
    }
    if trimmed.len() > MAX_SERIAL_LEN {
        return refuse(&format!(
            "is {} bytes long (at most {MAX_SERIAL_LEN})",
            trimmed.len()
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return refuse(&format!("{trimmed:?} contains a control character"));
    }
    Ok(trimmed)
}

/// `contains(serialNumber,'…')`: the filter Intune's own PowerShell module sends for `-serial`.
pub(crate) fn serial_filter(serial: &str) -> String {
    format!("contains(serialNumber,{})", string_literal(serial))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_quotes_so_input_stays_inside() {
        assert_eq!(string_literal("AB'C"), "'AB''C'");
        assert_eq!(
            serial_filter("') or true or ('"),
            "contains(serialNumber,''') or true or (''')"
        );
    }

    #[test]
    fn queries_are_percent_encoded_not_form_encoded() {
        let mut url = reqwest::Url::parse("http://h/b").unwrap();
        url.query_pairs_mut()
            .append_pair("$filter", "contains(serialNumber,'A B+C&D=E%''')")
            .append_pair("$select", "id,serialNumber");
        reencode_query(&mut url);
        assert_eq!(
            url.query().unwrap(),
            "$filter=contains(serialNumber,%27A%20B%2BC%26D%3DE%25%27%27%27)&$select=id,serialNumber"
        );
        let mut bare = reqwest::Url::parse("http://h/b").unwrap();
        reencode_query(&mut bare);
        assert_eq!(bare.query(), None);
    }

    #[test]
    fn serials_are_checked() {
        assert_eq!(check_serial("  ab c ").unwrap(), "ab c");
        for (bad, why) in [
            ("", "empty"),
            ("  ", "empty"),
            ("a\u{0}b", "control"),
            ("a\nb", "control"),
        ] {
            let e = check_serial(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert!(check_serial(&"x".repeat(MAX_SERIAL_LEN + 1)).is_err());
    }

    /// Kills the mutant `>` → `>=` in `check_serial` (cargo mutants): a serial of exactly
    /// the maximum length is accepted, one byte more is not.
    #[test]
    fn a_serial_of_exactly_the_maximum_length_is_accepted() {
        let longest = "x".repeat(MAX_SERIAL_LEN);
        assert_eq!(check_serial(&longest).unwrap(), longest);
        let e = check_serial(&format!("{longest}x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("at most {MAX_SERIAL_LEN}")), "{e}");
    }
}
