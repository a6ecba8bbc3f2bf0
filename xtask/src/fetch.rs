//! Reading the upstream text: a local file (bounded while reading), or a download hashed as it
//! streams (https; plain http only to this machine, never through a proxy; redirects only to
//! https). URLs are redacted (no user info, query or fragment) wherever they are written.

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use url::{Host, Url};

/// Largest input accepted (the beta description is about 90 MB).
pub const MAX_INPUT: u64 = 1 << 30;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn is_url(from: &str) -> bool {
    // Any scheme is a URL (and refused unless https or loopback http), never a file name.
    from.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    })
}

/// `url` without what must never be written down: user name, password, query and fragment.
pub fn redact(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// How `from` may appear in provenance.json and error lines: a URL redacted, a path as given.
pub fn shown(from: &str) -> String {
    if is_url(from) {
        Url::parse(from).map_or_else(|_| "(malformed URL)".to_owned(), |u| redact(&u))
    } else {
        from.to_owned()
    }
}

/// The host really is this machine: 127.0.0.0/8, ::1 or exactly `localhost` (as the URL
/// parser reads the host, so `http://evil\@127.0.0.1/` is `evil` and
/// `http://localhost.evil.example/` is not `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(a)) => a.is_loopback(),
        Some(Host::Ipv6(a)) => a.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// Parse and vet a download URL: https anywhere, plain http only to a loopback host.
pub fn parse_url(from: &str) -> Result<Url, String> {
    let url = Url::parse(from).map_err(|e| format!("malformed URL {}: {e}", shown(from)))?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "refusing plain http for {}: use https (http only to 127.0.0.0/8, ::1 or localhost)",
            redact(&url)
        )),
        "https" => Err(format!("malformed URL {}: no host", redact(&url))),
        other => Err(format!(
            "unsupported URL scheme {other:?} in {}: use https",
            redact(&url)
        )),
    }
}

/// A pinned sha256: 64 hex digits (case ignored).
pub fn parse_sha256(s: &str) -> Result<String, String> {
    let t = s.trim().to_ascii_lowercase();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(t)
    } else {
        Err(format!("--sha256 {s:?}: expected 64 hex digits"))
    }
}

/// Read a local file, at most `limit` bytes: the limit holds while reading, so `/dev/zero`, a
/// FIFO or a file growing under us cannot take unbounded memory (the size on disk is not
/// trusted).
pub fn read_file_limited(path: &str, limit: u64) -> Result<Vec<u8>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // The size on disk is only a capacity hint (one allocation for a regular file).
    let hint = f.metadata().map_or(0, |m| m.len()).min(limit);
    let mut data = Vec::with_capacity(usize::try_from(hint).unwrap_or(0).saturating_add(1));
    f.take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    if data.len() as u64 > limit {
        return Err(format!("{path} is more than the {limit} bytes accepted"));
    }
    Ok(data)
}

/// Read a local file (the hash is computed by the caller, in parallel with slicing).
pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
    read_file_limited(path, MAX_INPUT)
}

fn http_client(url: &Url) -> Result<reqwest::blocking::Client, String> {
    // Redirects only to https: a redirect can never downgrade the transport or turn a download
    // into a request to some plain-http host.
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else if attempt.url().scheme() != "https" {
            let to = redact(attempt.url());
            attempt.error(format!("redirect to {to} refused (only to https)"))
        } else {
            attempt.follow()
        }
    });
    let mut b = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(900))
        .redirect(redirects);
    if url.scheme() == "http" {
        // Plain http goes to this machine only, never to a proxy from the environment.
        b = b.no_proxy();
    }
    b.build()
        .map_err(|e| format!("cannot start an HTTP client: {}", chain(&e.without_url())))
}

/// Download `url` (https; plain http only to a loopback host), with a progress bar on a
/// terminal; returns the bytes and their sha256, computed as they arrive. Errors name the URL
/// without user info or query.
pub fn download(from: &str) -> Result<(Vec<u8>, String), String> {
    let parsed = parse_url(from)?;
    let url = redact(&parsed);
    let client = http_client(&parsed)?;
    let mut resp = client
        .get(parsed)
        .send()
        .map_err(|e| format!("download of {url} failed: {}", chain(&e.without_url())))?;
    if !resp.status().is_success() {
        return Err(format!("download of {url} failed: HTTP {}", resp.status()));
    }
    let total = resp.content_length();
    if total.is_some_and(|t| t > MAX_INPUT) {
        return Err(format!(
            "download of {url}: {} bytes is more than the {MAX_INPUT} accepted",
            total.unwrap_or(0)
        ));
    }
    let show = std::io::stderr().is_terminal();
    let mut hasher = Sha256::new();
    let mut data = Vec::with_capacity(total.unwrap_or(0) as usize);
    let mut buf = vec![0u8; 256 * 1024];
    let mut last = Instant::now();
    loop {
        let n = match resp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                if show {
                    eprintln!();
                }
                return Err(format!(
                    "download of {url} truncated: interrupted after {} of {} bytes ({})",
                    data.len(),
                    total.map_or("?".into(), |t| t.to_string()),
                    chain(&e)
                ));
            }
        };
        hasher.update(&buf[..n]);
        data.extend_from_slice(&buf[..n]);
        if data.len() as u64 > MAX_INPUT {
            return Err(format!(
                "download of {url}: more than the {MAX_INPUT} bytes accepted"
            ));
        }
        if show && last.elapsed() > Duration::from_millis(200) {
            last = Instant::now();
            progress(data.len() as u64, total);
        }
    }
    if show {
        progress(data.len() as u64, total);
        eprintln!();
    }
    if let Some(t) = total
        && data.len() as u64 != t
    {
        return Err(format!(
            "download of {url} truncated: received {} of {t} bytes",
            data.len()
        ));
    }
    Ok((data, hex(&hasher.finalize())))
}

fn progress(done: u64, total: Option<u64>) {
    let mb = |b: u64| b as f64 / 1e6;
    let mut err = std::io::stderr();
    let _ = match total {
        Some(t) if t > 0 => {
            let width = 30;
            let filled = (done * width / t).min(width) as usize;
            write!(
                err,
                "\r  downloading [{}{}] {:5.1} / {:.1} MB",
                "#".repeat(filled),
                " ".repeat(width as usize - filled),
                mb(done),
                mb(t)
            )
        }
        _ => write!(err, "\r  downloading {:.1} MB", mb(done)),
    };
    let _ = err.flush();
}

/// An error and its causes on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s.replace('\n', " ")
}
