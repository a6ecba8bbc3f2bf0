//! Reading the upstream text: a local file, or a download hashed as it streams.

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

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

/// Read a local file (the hash is computed by the caller, in parallel with slicing).
pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if meta.len() > MAX_INPUT {
        return Err(format!(
            "{path} is {} bytes; more than the {MAX_INPUT} accepted",
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

/// Download `url` (https; plain http only from a loopback address), with a progress bar on a
/// terminal; returns the bytes and their sha256, computed as they arrive.
pub fn download(url: &str) -> Result<(Vec<u8>, String), String> {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        let host = r.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let loopback =
            host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
        if !loopback {
            return Err(format!("refusing plain http for {url}: use https"));
        }
        r
    } else {
        return Err(format!("unsupported URL {url}: use https"));
    };
    if rest.is_empty() {
        return Err(format!("malformed URL {url}"));
    }
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(900))
        .build()
        .map_err(|e| format!("cannot start an HTTP client: {}", chain(&e)))?;
    let mut resp = client
        .get(url)
        .send()
        .map_err(|e| format!("download of {url} failed: {}", chain(&e)))?;
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
