//! `spec update --from URL` as an attacker would try it: hosts that only look like loopback,
//! redirects, proxies from the environment, secrets in the URL, a pinned hash. Every server here
//! is a real HTTP server on 127.0.0.1 that stops by itself.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// A loopback HTTP/1.1 server answering every request with `reply(request head)`; it records
/// the request heads it saw and stops when dropped (or after 60 s).
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(reply: impl Fn(&str) -> Vec<u8> + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, c2, st2) = (seen.clone(), connections.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !st2.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        c2.fetch_add(1, Ordering::SeqCst);
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        let head = read_head(&mut s);
                        s2.lock().unwrap().push(head.clone());
                        let _ = s.write_all(&reply(&head));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            port,
            seen,
            connections,
            stop,
            thread: Some(thread),
        }
    }
    fn url(&self, rest: &str) -> String {
        format!("http://127.0.0.1:{}{rest}", self.port)
    }
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn status(code: &str, extra: &str) -> Vec<u8> {
    format!("HTTP/1.1 {code}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn update(from: &str, spec: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(["spec", "update", "--from", from, "--spec-dir"])
        .arg(spec)
        .args(extra);
    for v in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn one_error_line(o: &Out, needle: &str) {
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.starts_with("error: ") && o.stderr.contains(needle),
        "{}",
        o.stderr
    );
}

#[test]
fn hosts_that_only_look_like_loopback_are_refused() {
    let server = Server::start(|_| ok(MINI));
    let t = action_scratch_spec("dl-hosts");
    let sd = t.path().join("spec");
    let port = server.port;
    for from in [
        // The URL parser reads host `evil` here (a backslash ends the authority).
        format!("http://evil\\@127.0.0.1:{port}/openapi.yaml"),
        format!("http://localhost.evil.example:{port}/openapi.yaml"),
        format!("http://127.0.0.1.evil.example:{port}/openapi.yaml"),
        format!("http://[::1].evil.example:{port}/"),
        format!("http://0.0.0.0:{port}/openapi.yaml"),
    ] {
        let o = update(&from, &sd, &[], &[]);
        assert_eq!(o.code, 1, "{from}: {}{}", o.stdout, o.stderr);
        assert_eq!(o.stderr.lines().count(), 1, "{from}: {}", o.stderr);
        assert!(
            o.stderr.contains("refusing plain http") || o.stderr.contains("malformed URL"),
            "{from}: {}",
            o.stderr
        );
    }
    assert_eq!(server.connections(), 0);
    assert!(!sd.join("openapi.json").exists());
    // The real loopback spellings work.
    for from in [
        server.url("/openapi.yaml"),
        format!("http://localhost:{port}/openapi.yaml"),
    ] {
        let o = update(&from, &sd, &[], &[]);
        assert!(
            o.code == 0 || o.code == 3,
            "{from}: {}{}",
            o.stdout,
            o.stderr
        );
    }
}

#[test]
fn redirects_to_http_are_refused() {
    let target = Server::start(|_| ok(MINI));
    let to = target.url("/openapi.yaml");
    let redirector = Server::start(move |_| status("302 Found", &format!("Location: {to}\r\n")));
    let t = action_scratch_spec("dl-redirect");
    let sd = t.path().join("spec");
    let o = update(&redirector.url("/x"), &sd, &[], &[]);
    one_error_line(&o, "refused (only to https)");
    assert_eq!(target.connections(), 0, "the redirect was followed");
    assert!(!sd.join("openapi.json").exists());
}

#[test]
fn loopback_http_never_goes_through_a_proxy() {
    let proxy = Server::start(|_| ok(MINI));
    let server = Server::start(|_| ok(MINI));
    let t = action_scratch_spec("dl-proxy");
    let sd = t.path().join("spec");
    let p = proxy.url("");
    let o = update(
        &server.url("/openapi.yaml"),
        &sd,
        &[],
        &[
            ("HTTP_PROXY", &p),
            ("http_proxy", &p),
            ("ALL_PROXY", &p),
            ("all_proxy", &p),
        ],
    );
    assert!(o.code == 0 || o.code == 3, "{}{}", o.stdout, o.stderr);
    assert_eq!(proxy.connections(), 0, "{:?}", proxy.seen.lock().unwrap());
    assert_eq!(server.connections(), 1);
}

#[test]
fn user_info_and_query_are_never_written() {
    let server = Server::start(|head| {
        if head.starts_with("GET /missing") {
            status("404 Not Found", "")
        } else {
            ok(MINI)
        }
    });
    let t = action_scratch_spec("dl-secrets");
    let sd = t.path().join("spec");
    let port = server.port;
    let from = format!("http://alice:hunter2@127.0.0.1:{port}/openapi.yaml?sig=s3cr3t#frag");
    let o = update(&from, &sd, &[], &[]);
    assert!(o.code == 0 || o.code == 3, "{}{}", o.stdout, o.stderr);
    let prov = std::fs::read_to_string(sd.join("provenance.json")).unwrap();
    assert!(
        prov.contains(&format!(
            "\"retrieved_as\": \"http://127.0.0.1:{port}/openapi.yaml\""
        )),
        "{prov}"
    );
    for secret in ["alice", "hunter2", "s3cr3t", "frag"] {
        assert!(!prov.contains(secret), "{secret} in {prov}");
        assert!(!o.stdout.contains(secret) && !o.stderr.contains(secret));
    }
    // Error lines too: an HTTP error, a refused host, a malformed pin.
    for (from, needle) in [
        (
            format!("http://alice:hunter2@127.0.0.1:{port}/missing?sig=s3cr3t"),
            "HTTP 404",
        ),
        (
            "http://alice:hunter2@example.invalid/x?sig=s3cr3t".to_owned(),
            "refusing plain http",
        ),
        (
            "https://alice:hunter2@[::1/x?sig=s3cr3t".to_owned(),
            "malformed URL",
        ),
    ] {
        let o = update(&from, &sd, &[], &[]);
        one_error_line(&o, needle);
        for secret in ["alice", "hunter2", "s3cr3t"] {
            assert!(!o.stderr.contains(secret), "{secret} in {}", o.stderr);
        }
    }
}

#[test]
fn sha256_pin() {
    let server = Server::start(|_| ok(MINI));
    let good = xtask::fetch::sha256_hex(MINI.as_bytes());
    let bad = "0".repeat(64);
    let t = action_scratch_spec("dl-pin");
    let sd = t.path().join("spec");
    let file = t.path().join("mini.yaml");
    std::fs::write(&file, MINI).unwrap();
    for from in [
        server.url("/openapi.yaml"),
        file.to_string_lossy().into_owned(),
    ] {
        let o = update(&from, &sd, &["--sha256", &bad], &[]);
        one_error_line(&o, "not the pinned");
        assert!(
            o.stderr.contains(&good) && o.stderr.contains(&bad),
            "{}",
            o.stderr
        );
        assert_eq!(
            std::fs::read_dir(&sd).unwrap().count(),
            1,
            "nothing written"
        );
    }
    let o = update(
        &server.url("/openapi.yaml"),
        &sd,
        &["--sha256", &good.to_uppercase()],
        &[],
    );
    assert!(o.code == 0 || o.code == 3, "{}{}", o.stdout, o.stderr);
    // Not a hash at all: a usage error.
    let o = update(&server.url("/openapi.yaml"), &sd, &["--sha256", "abc"], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
}

#[cfg(unix)]
#[test]
fn endless_local_inputs_are_cut_off_while_reading() {
    // /dev/zero reports size 0 and never ends.
    let e = xtask::fetch::read_file_limited("/dev/zero", 1 << 20).unwrap_err();
    assert!(e.contains("more than the 1048576 bytes"), "{e}");
    // A FIFO with a writer that never stops.
    let t = TempDir::new("fifo");
    let fifo = t.path().join("fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let f2 = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(f2).unwrap();
        let chunk = vec![b'a'; 65536];
        while w.write_all(&chunk).is_ok() {}
    });
    let e = xtask::fetch::read_file_limited(fifo.to_str().unwrap(), 1 << 20).unwrap_err();
    assert!(e.contains("more than"), "{e}");
    // Closing our end stops the writer (EPIPE).
    writer.join().unwrap();
}
