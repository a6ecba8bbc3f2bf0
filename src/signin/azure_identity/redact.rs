//! Redaction of credential error text before it reaches a [`TokenError`](crate::TokenError).
//!
//! Secrets are found by what they look like and by the structure around them, wherever they
//! stand and whatever punctuation they are glued to, never by their length: URL userinfo (with
//! or without a scheme) and query values, the values of secret-named fields, the credentials
//! after `Bearer`/`Basic`, JWTs and Entra client secrets. What helps a person fix the problem
//! (error codes, trace ids, the words around a secret) is kept.

mod fields;
#[cfg(test)]
mod tests;

use fields::{quote_at, redact_fields, string_end};

/// What a secret is replaced by.
pub(super) const REDACTED: &str = "<redacted>";

/// `line` with every secret replaced by [`REDACTED`].
///
/// URLs go first: a URL ends at a quote or a backslash, so what that pass replaces holds
/// neither, and the quoting the later passes read is the original's.
pub(super) fn redact(line: &str) -> String {
    let line = redact_urls(line);
    let line = redact_fields(&line);
    let line = redact_auth_schemes(&line);
    redact_shapes(&line)
}

/// In every `scheme://…` and scheme-relative `//…` URL: the userinfo, and every query (and
/// fragment) value.
fn redact_urls(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = line[search..].find("//") {
        let at = search + found;
        // `scheme://`, or `//` where a URL can start (not `a//b`, not `///`).
        let starts_url = match at.checked_sub(1).map(|i| bytes[i]) {
            None | Some(b':') => true,
            Some(b) => !(b.is_ascii_alphanumeric() || b"/._-~%\\".contains(&b)),
        };
        if !starts_url {
            search = at + 1;
            continue;
        }
        let after = at + 2;
        let end = line[after..]
            .find(|c: char| c.is_whitespace() || "\"'<>\\".contains(c))
            .map_or(line.len(), |i| after + i);
        out.push_str(&line[copied..after]);
        redact_url_rest(&line[after..end], &mut out);
        copied = end;
        search = end.max(after);
    }
    out.push_str(&line[copied..]);
    out
}

/// A URL after its `//`: authority, path, query, fragment.
fn redact_url_rest(url: &str, out: &mut String) {
    let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let (authority, path) = url.split_at(authority_end);
    match authority.rfind('@') {
        Some(i) => {
            out.push_str(REDACTED);
            out.push_str(&authority[i..]);
        }
        None => out.push_str(authority),
    }
    let (before_fragment, fragment) = path.split_at(path.find('#').unwrap_or(path.len()));
    match before_fragment.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            out.push_str(&redact_query(query));
        }
        None => out.push_str(before_fragment),
    }
    // A fragment is usually an anchor (`#client-secret`); with `=` it carries values.
    match fragment.strip_prefix('#') {
        Some(values) if values.contains('=') => {
            out.push('#');
            out.push_str(&redact_query(values));
        }
        _ => out.push_str(fragment),
    }
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) => format!("{key}={REDACTED}"),
            None if pair.is_empty() => String::new(),
            None => REDACTED.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// HTTP authentication schemes whose next value is a credential.
const AUTH_SCHEMES: [&str; 2] = ["bearer", "basic"];

/// Separators between a scheme and its credentials, percent-encoded (`Bearer%20x`): space, `:`,
/// `=`, `"`, `'`, `+`, tab.
const ENCODED_SEPARATORS: [&str; 7] = ["20", "3a", "3d", "22", "27", "2b", "09"];

/// The credentials after `Bearer` or `Basic` (any case), whatever separates them: spaces, `:`,
/// `=`, `+`, quotes, percent-encoded separators (`Bearer%20x`). A scheme inside a quoted string
/// (`"Authorization":"Bearer x"`), or one whose value is quoted (`"Bearer": "x"`), has its value
/// read as a string to its real closing quote, escaped quotes and all.
fn redact_auth_schemes(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(scheme) = AUTH_SCHEMES.iter().find(|s| {
            bytes[pos..].len() >= s.len()
                && bytes[pos..pos + s.len()].eq_ignore_ascii_case(s.as_bytes())
        }) else {
            pos += 1;
            continue;
        };
        let word_end = pos + scheme.len();
        if !word_starts_at(bytes, pos) {
            pos = word_end;
            continue;
        }
        // The string the scheme stands in, if any; each quote in the separator opens or closes one.
        let mut inside = quote_before(bytes, pos);
        let mut at = word_end;
        loop {
            match bytes.get(at) {
                Some(b' ' | b'\t' | b':' | b'=' | b'+') => at += 1,
                Some(b'%') if percent_separator(bytes, at) => at += 3,
                Some(b'\\' | b'"' | b'\'') => match quote_at(bytes, at) {
                    Some((q, backslashes, after)) => {
                        inside = match inside {
                            Some(_) => None,
                            None => Some((q, backslashes)),
                        };
                        at = after;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        if at == word_end {
            // `Bearers`, `Basic,`: not a scheme followed by a value.
            pos = word_end;
            continue;
        }
        let value_end = match inside {
            Some((q, backslashes)) => string_end(bytes, at, q, backslashes),
            None => line[at..]
                .find(|c: char| c.is_whitespace() || "\"'\\,;&)]}".contains(c))
                .map_or(line.len(), |i| at + i),
        };
        if value_end > at {
            out.push_str(&line[copied..at]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        pos = value_end.max(at);
    }
    out.push_str(&line[copied..]);
    out
}

/// Whether a word starts at `pos`: after no letter or digit, or after a percent escape (`%20`).
fn word_starts_at(bytes: &[u8], pos: usize) -> bool {
    match pos.checked_sub(1).map(|i| bytes[i]) {
        None => true,
        Some(b) if !b.is_ascii_alphanumeric() => true,
        Some(_) => pos >= 3 && bytes[pos - 3] == b'%' && bytes[pos - 2].is_ascii_hexdigit(),
    }
}

/// The quote right before `pos` (with its backslashes), which opens the string `pos` stands in.
fn quote_before(bytes: &[u8], pos: usize) -> Option<(u8, usize)> {
    let q = *bytes.get(pos.checked_sub(1)?)?;
    if q != b'"' && q != b'\'' {
        return None;
    }
    let backslashes = bytes[..pos - 1]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    Some((q, backslashes))
}

fn percent_separator(bytes: &[u8], at: usize) -> bool {
    bytes.get(at + 1..at + 3).is_some_and(|hex| {
        ENCODED_SEPARATORS
            .iter()
            .any(|s| hex.eq_ignore_ascii_case(s.as_bytes()))
    })
}

/// Values of known secret formats wherever they stand (`id:eyJ…`, `header=eyJ…`, `(abc8Q~…)`):
/// in every run of base64url-and-`~` characters, a JWT from its `eyJ` on, or the whole run if
/// it is an Entra client secret.
fn redact_shapes(line: &str) -> String {
    let bytes = line.as_bytes();
    let is_run_byte = |b: u8| b.is_ascii_alphanumeric() || b"._~-".contains(&b);
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        if !is_run_byte(bytes[pos]) {
            pos += 1;
            continue;
        }
        let start = pos;
        while pos < bytes.len() && is_run_byte(bytes[pos]) {
            pos += 1;
        }
        let run = &line[start..pos];
        let secret = if is_entra_secret(run) {
            Some((start, pos))
        } else {
            jwt_in(run).map(|(from, to)| (start + from, start + to))
        };
        if let Some((from, to)) = secret {
            out.push_str(&line[copied..from]);
            out.push_str(REDACTED);
            copied = to;
        }
    }
    out.push_str(&line[copied..]);
    out
}

/// Where a JWT lies in `run`: `header.payload[.signature]` in base64url, the header starting
/// `eyJ` (`{"`), whatever precedes it. Three segments, or two with a header of a real JWT's
/// length (`{"alg` at least): a file name like `MyKeyJar.txt` is not one.
fn jwt_in(run: &str) -> Option<(usize, usize)> {
    run.match_indices("eyJ").find_map(|(from, _)| {
        let candidate = &run[from..];
        let len = candidate.find('~').unwrap_or(candidate.len());
        let segments: Vec<&str> = candidate[..len].split('.').collect();
        let shaped = match segments.as_slice() {
            [header, payload, _, ..] => !payload.is_empty() || header.len() >= 8,
            [header, _] => header.len() >= 8,
            _ => false,
        };
        shaped.then_some((from, from + len))
    })
}

/// Entra ID client secrets: 30 or more characters of their alphabet, with a `~` in them
/// (`abc8Q~…`). Ordinary words, GUIDs and URLs have no `~` or contain other characters.
fn is_entra_secret(run: &str) -> bool {
    run.len() >= 30 && run.contains('~')
}
