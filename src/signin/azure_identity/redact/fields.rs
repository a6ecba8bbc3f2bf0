//! Values of secret-named fields (`"client_secret": "…"`, `password = …`), and the reading of
//! quoted strings (escapes, JSON inside JSON) that the other passes share.

use super::REDACTED;

/// Field names whose values are secrets: a key containing one of these (any case).
const SECRET_KEY_PARTS: [&str; 10] = [
    "secret",
    "password",
    "passwd",
    "token",
    "assertion",
    "credential",
    "signature",
    "apikey",
    "api_key",
    "api-key",
];

/// Short names that are secret fields only as a whole key.
const SECRET_KEYS: [&str; 5] = ["pwd", "sig", "key", "code", "sas"];

/// Keys that are secret whatever separates the value (`password: x` in YAML or prose). A key
/// that merely contains a secret word (`token: timed out`) needs `=`, quotes, or no space.
const EXACT_SECRET_KEYS: [&str; 7] = [
    "password",
    "client_secret",
    "secret",
    "access_token",
    "refresh_token",
    "client_assertion",
    "api_key",
];

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|part| key.contains(part)) || SECRET_KEYS.contains(&key.as_str())
}

/// The values of secret-named fields, in JSON, `key=value`, `key = value` and `key:value` forms.
pub(super) fn redact_fields(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        let Some((key, key_end)) = key_at(bytes, pos) else {
            pos += 1;
            continue;
        };
        let start = pos;
        pos = key_end;
        let key = key.as_str();
        if !is_secret_key(key) {
            continue;
        }
        // A quoted key: `"key"`, `'key'`, or `\"key\"` in JSON inside a JSON string.
        let closing = quote_at(bytes, pos)
            .filter(|(q, _, _)| start.checked_sub(1).map(|i| bytes[i]) == Some(*q));
        let quoted = closing.is_some();
        let mut at = closing.map_or(pos, |(_, _, after)| after);
        let skip_spaces = |mut i: usize| {
            while bytes.get(i) == Some(&b' ') {
                i += 1;
            }
            i
        };
        let before_separator = skip_spaces(at);
        let value_start = match bytes.get(before_separator) {
            Some(b'=') => skip_spaces(before_separator + 1),
            Some(b':')
                if quoted || EXACT_SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()) =>
            {
                skip_spaces(before_separator + 1)
            }
            // `password:hunter2`: no space on either side.
            Some(b':')
                if before_separator == at && bytes.get(at + 1).is_some_and(|b| *b != b' ') =>
            {
                at + 1
            }
            _ => continue,
        };
        at = value_start;
        let (value_start, value_end) = match quote_at(bytes, at) {
            Some((q, backslashes, after)) => (after, string_end(bytes, after, q, backslashes)),
            None => {
                let end = line[at..]
                    .find(|c: char| c.is_whitespace() || ",;&)]}\"'<>".contains(c))
                    .map_or(line.len(), |i| at + i);
                (at, end)
            }
        };
        if value_end > value_start {
            out.push_str(&line[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        pos = value_end.max(pos);
    }
    out.push_str(&line[copied..]);
    out
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_-.".contains(&b)
}

/// The key that starts at `start` (not inside a word), with its `\uXXXX` escapes decoded
/// (`client\u005fsecret` in JSON, `client\\u005fsecret` in JSON inside a JSON string), and
/// the index after it.
fn key_at(bytes: &[u8], start: usize) -> Option<(String, usize)> {
    if start > 0 && is_key_byte(bytes[start - 1]) {
        return None;
    }
    let mut key = String::new();
    let mut pos = start;
    loop {
        match bytes.get(pos) {
            Some(&b) if is_key_byte(b) => {
                key.push(char::from(b));
                pos += 1;
            }
            Some(b'\\') => match unicode_escape(bytes, pos) {
                Some((c, after)) if u8::try_from(c).is_ok_and(is_key_byte) => {
                    key.push(c);
                    pos = after;
                }
                _ => break,
            },
            _ => break,
        }
    }
    (pos > start).then_some((key, pos))
}

/// `\uXXXX` (after any number of backslashes) at `at`: the character and the index after it.
fn unicode_escape(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let backslashes = bytes[at..].iter().take_while(|&&b| b == b'\\').count();
    let u = at + backslashes;
    let hex = bytes.get(u + 1..u + 5)?;
    if bytes[u] != b'u' || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let code = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
    Some((char::from_u32(code)?, u + 5))
}

/// A quote at `at`: `"` or `'` after any backslashes (`\"` in JSON inside a JSON string,
/// `\\\"` one level deeper). The quote, its backslashes and the index after it.
pub(super) fn quote_at(bytes: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let backslashes = bytes.get(at..)?.iter().take_while(|&&b| b == b'\\').count();
    match bytes.get(at + backslashes) {
        Some(&q @ (b'"' | b'\'')) => Some((q, backslashes, at + backslashes + 1)),
        _ => None,
    }
}

/// Where the string that starts at `start` ends: the index of its closing quote `q` (with that
/// quote's own backslashes: as many as its opening quote had), or the end of the line if it is
/// unterminated. Escapes are honoured: `\"` and `\\` are characters of the value, and so is
/// `\u0022`, which contains no quote at all.
pub(super) fn string_end(bytes: &[u8], start: usize, q: u8, opening_backslashes: usize) -> usize {
    let levels = escape_levels(opening_backslashes);
    let mut backslashes = 0;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if b == q && closes(backslashes, levels) {
            return i - backslashes.min(opening_backslashes);
        }
        backslashes = if b == b'\\' { backslashes + 1 } else { 0 };
    }
    bytes.len()
}

/// Each level of quoting writes a backslash as two and a quote as `\"`: a quote inside `levels`
/// strings carries 2^levels − 1 backslashes (`"`, `\"`, `\\\"`, …). The levels of a run of
/// `backslashes` before a quote.
fn escape_levels(mut backslashes: usize) -> usize {
    let mut levels = 0;
    while !backslashes.is_multiple_of(2) {
        backslashes /= 2;
        levels += 1;
    }
    levels
}

/// Whether a quote after `backslashes` backslashes ends a string quoted inside `levels` others.
/// Undoing each level must leave an odd run (that level's escape of the quote); an even run means
/// the string of that level ends here, and the value with it. Only a quote whose run stays odd
/// down to the value's own escaping (`\"` in the value) is a character of the value.
fn closes(backslashes: usize, levels: usize) -> bool {
    let mut run = backslashes;
    for _ in 0..=levels {
        if run.is_multiple_of(2) {
            return true;
        }
        run /= 2;
    }
    false
}
