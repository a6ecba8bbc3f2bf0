//! The redaction's cases: a table of every form a secret was found in, and generated inputs.

use super::*;

/// One form: the line, the secret in it (`None`: nothing to redact), and the whole expected
/// output, so that both the secret's removal and the kept context are checked.
type Case = (&'static str, Option<&'static str>, &'static str);

/// A JWT of the real shape (header `{"alg":"RS256"}`).
const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Kept: what helps a person fix the problem, however long.
    ("AADSTS7000215: Invalid client secret provided.", None, "AADSTS7000215: Invalid client secret provided."),
    ("Trace ID: 3f2504e0-4f89-11d3-9a0c-0305e82c3301", None, "Trace ID: 3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
    ("see https://aka.ms/azsdk/rust/identity/troubleshoot#client-secret", None, "see https://aka.ms/azsdk/rust/identity/troubleshoot#client-secret"),
    ("ClientSecretCredentialAuthenticationFailedException", None, "ClientSecretCredentialAuthenticationFailedException"),
    ("failed to get token: connection refused", None, "failed to get token: connection refused"),
    ("é://x", None, "é://x"),
    ("a//b and MyKeyJar.txt", None, "a//b and MyKeyJar.txt"),
    // `//` inside a path starts no URL: its query is kept (a mutant of the rule redacted it).
    ("see docs/a//b?page=2", None, "see docs/a//b?page=2"),
    ("Basic, Bearers and bearer", None, "Basic, Bearers and bearer"),
    // JSON fields.
    (r#"{"client_secret": "x", "client_id": "app"}"#, Some("\"x\""), r#"{"client_secret": "<redacted>", "client_id": "app"}"#),
    (r#"{'password':'p w'}"#, Some("p w"), r#"{'password':'<redacted>'}"#),
    (r#""access_token": 12345"#, Some("12345"), r#""access_token": <redacted>"#),
    // A key with a unicode escape in it (`_` written `\u005f`), once and inside a JSON string.
    (r#"{"client\u005fsecret":"opaque-SECRET","client_id":"app"}"#, Some("SECRET"), r#"{"client\u005fsecret":"<redacted>","client_id":"app"}"#),
    (r#"{"body":"{\"client\\u005fsecret\":\"opaque-SECRET\"}"}"#, Some("SECRET"), r#"{"body":"{\"client\\u005fsecret\":\"<redacted>\"}"}"#),
    (r#"{"\u0070assword":"SECRET"}"#, Some("SECRET"), r#"{"\u0070assword":"<redacted>"}"#),
    // key=value, key = value, key:value, YAML-ish.
    ("password = x", Some(" x"), "password = <redacted>"),
    ("client_secret=hunter2&b=1", Some("hunter2"), "client_secret=<redacted>&b=1"),
    ("'password:hunter2',", Some("hunter2"), "'password:<redacted>',"),
    ("password: x", Some(" x"), "password: <redacted>"),
    ("AZURE_CLIENT_SECRET=s", Some("=s"), "AZURE_CLIENT_SECRET=<redacted>"),
    // Quoted values end at their string's real closing quote, escapes and all.
    (r#"{"client_secret":"abc\"tail-secret","client_id":"app"}"#, Some("tail-secret"), r#"{"client_secret":"<redacted>","client_id":"app"}"#),
    (r#"{"client_secret":"abc\"tail secret\"","client_id":"app"}"#, Some("tail secret"), r#"{"client_secret":"<redacted>","client_id":"app"}"#),
    (r#"{"client_secret":"abc\\","client_id":"app"}"#, Some("abc"), r#"{"client_secret":"<redacted>","client_id":"app"}"#),
    (r#"{"password":"a\\\"tail","x":1}"#, Some("tail"), r#"{"password":"<redacted>","x":1}"#),
    (r#"{"client_secret":"ab\u0022tail","client_id":"app"}"#, Some("tail"), r#"{"client_secret":"<redacted>","client_id":"app"}"#),
    (r#"{'password': 'it\'s tail'}"#, Some("tail"), r#"{'password': '<redacted>'}"#),
    (r#"password="a\"tail" next"#, Some("tail"), r#"password="<redacted>" next"#),
    (r#"body: "{\"client_secret\":\"abc\\\"tail\",\"client_id\":\"app\"}""#, Some("tail"), r#"body: "{\"client_secret\":\"<redacted>\",\"client_id\":\"app\"}""#),
    (r#"{"client_secret":"abc\"tail"#, Some("tail"), r#"{"client_secret":"<redacted>"#),
    (r#"{"client_secret":"abc\"#, Some("abc"), r#"{"client_secret":"<redacted>"#),
    (r#"{"client_secret":""#, None, r#"{"client_secret":""#),
    (r#"{"client_secret":"\"#, Some("\"\\"), r#"{"client_secret":"<redacted>"#),
    (r#"{"client_secret":"x://h?q=a\"tail","client_id":"app"}"#, Some("tail"), r#"{"client_secret":"<redacted>","client_id":"app"}"#),
    // URLs: userinfo (with a scheme or scheme-relative), query and fragment values.
    ("GET https://user:pw@login.example/t failed", Some("user:pw"), "GET https://<redacted>@login.example/t failed"),
    ("proxy //user:pw@host:8080/x refused", Some("user:pw"), "proxy //<redacted>@host:8080/x refused"),
    (r#"{"proxy":"//user:pw@host"}"#, Some("user:pw"), r#"{"proxy":"//<redacted>@host"}"#),
    ("https://login.example/t?client_id=a&code=b#state=c", Some("=b"), "https://login.example/t?client_id=<redacted>&code=<redacted>#state=<redacted>"),
    // A non-ASCII character right before the scheme (this panicked).
    ("see “https://user:pw@login.example/t?code=b”", Some("user:pw"), "see “https://<redacted>@login.example/t?code=<redacted>"),
    // Credentials after an auth scheme, whatever separates them.
    ("Authorization: Bearer abc", Some("abc"), "Authorization: Bearer <redacted>"),
    ("Basic dXNlcjpwdw==", Some("dXNlcjpwdw"), "Basic <redacted>"),
    ("Authorization=Bearer opaque-SECRET&x=1", Some("SECRET"), "Authorization=Bearer <redacted>&x=1"),
    ("Bearer: opaque-SECRET rejected", Some("SECRET"), "Bearer: <redacted> rejected"),
    ("Authorization:%20Bearer%20opaque-SECRET rejected", Some("SECRET"), "Authorization:%20Bearer%20<redacted> rejected"),
    ("header+Bearer+opaque-SECRET", Some("SECRET"), "header+Bearer+<redacted>"),
    ("(Bearer opaque-SECRET)", Some("SECRET"), "(Bearer <redacted>)"),
    (r#"{"Authorization":"Bearer opaque-SECRET"}"#, Some("SECRET"), r#"{"Authorization":"Bearer <redacted>"}"#),
    (r#"{"Authorization":"Bearer abc\"tail-SECRET","x":1}"#, Some("SECRET"), r#"{"Authorization":"Bearer <redacted>","x":1}"#),
    (r#"{"body":"{\"Authorization\":\"Bearer opaque-SECRET\"}"}"#, Some("SECRET"), r#"{"body":"{\"Authorization\":\"Bearer <redacted>\"}"}"#),
    (r#"{"Bearer": "opaque-SECRET", "x": 1}"#, Some("SECRET"), r#"{"Bearer": "<redacted>", "x": 1}"#),
    ("authorization: bearer opaque-SECRET", Some("SECRET"), "authorization: bearer <redacted>"),
    // A scheme's value that a URL pass redacted in part is redacted to the quote.
    ("Bearer u:p@h\"https://x?a=b", Some("u:p@h"), "Bearer <redacted>\"https://x?a=<redacted>"),
    // JWTs wherever they stand, Entra client secrets.
    ("(eyJ0eXAiOiJKV1QiLCJhbGc.eyJ)", Some("eyJ0eXAi"), "(<redacted>)"),
    ("cache entry id:eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl not found", Some(JWT), "cache entry id:<redacted> not found"),
    ("header=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", Some(JWT), "header=<redacted>"),
    ("token:eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl;", Some(JWT), "token:<redacted>;"),
    ("secret abc8Q~abcdefghijklmnopqrstuvwxyz.0123 rejected", Some("abc8Q~"), "secret <redacted> rejected"),
    ("id:abc8Q~abcdefghijklmnopqrstuvwxyz.0123,", Some("abc8Q~"), "id:<redacted>,"),
];

#[test]
fn every_form_of_a_secret_is_redacted_and_its_context_kept() {
    for &(line, secret, want) in CASES {
        let out = redact(line);
        if let Some(secret) = secret {
            assert!(line.contains(secret), "the case names its secret: {line}");
            assert!(!out.contains(secret), "{secret:?} leaked: {line} → {out}");
        }
        // The whole output: what is not a secret is kept as it was.
        assert_eq!(out, want, "{line}");
    }
}
/// A small deterministic generator (xorshift), so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn text(&mut self, alphabet: &[&str], max_len: u64) -> String {
        let len = self.next() % (max_len + 1);
        (0..len).map(|_| self.pick(alphabet)).collect()
    }
}

/// Characters that have a meaning to JSON, quoting, URLs, `key=value`, or UTF-8 boundaries.
const TRICKY: [&str; 22] = [
    "a", "Z", "0", "\\", "\"", "'", "\\\"", "\\\\", " ", ":", "=", "&", "?", "@", "://", "\n",
    "\u{1}", "é", "“", "}", "~", "u0022",
];

/// Python's `repr` of a string, single-quoted.
fn python_repr(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[test]
fn no_part_of_a_secret_survives_any_quoting_of_it() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..5_000 {
        // The marker sits at several places, so a leak of any tail shows it.
        let secret = format!(
            "{}SEKRIT{}SEKRIT{}",
            rng.text(&TRICKY, 6),
            rng.text(&TRICKY, 6),
            rng.text(&TRICKY, 6)
        );
        let key = rng.pick(&[
            "client_secret",
            "password",
            "access_token",
            "AZURE_CLIENT_SECRET",
        ]);
        let json = serde_json::json!({ key: secret, "client_id": "app" }).to_string();
        let lines = [
            json.clone(),
            // JSON inside a JSON string, once and twice.
            serde_json::json!({ "body": json }).to_string(),
            serde_json::json!({ "outer": serde_json::json!({ "body": json }).to_string() })
                .to_string(),
            format!(
                "{{{}: {}, 'client_id': 'app'}}",
                python_repr(key),
                python_repr(&secret)
            ),
            format!("{key}={} and more", serde_json::Value::from(secret.clone())),
        ];
        for line in lines {
            let out = redact(&line);
            assert!(
                !out.contains("SEKRIT"),
                "case {case}: {line:?} was redacted to {out:?}"
            );
        }
    }
}

#[test]
fn redaction_never_panics_on_any_input() {
    let alphabet = [
        "client_secret",
        "password",
        "code",
        "Bearer ",
        "https://",
        "u:p@h",
        "?a=b",
        "#s=t",
        "eyJ",
        ".",
        "\\",
        "\"",
        "'",
        "\\\"",
        " ",
        ":",
        "=",
        "&",
        "é",
        "“",
        "\u{10FFFF}",
        ",",
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..20_000 {
        let line = rng.text(&alphabet, 24);
        let out = redact(&line);
        // Redaction only takes text away and marks where: without its markers, the output
        // is what the input was, minus some of it, in the same order.
        let mut input = line.chars();
        assert!(
            out.replace(REDACTED, "")
                .chars()
                .all(|c| input.any(|kept| kept == c)),
            "{line:?} was redacted to {out:?}"
        );
    }
}
