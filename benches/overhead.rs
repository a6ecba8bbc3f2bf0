//! Per-call overhead: N sequential calls on loopback through `GraphClient` and through a
//! hand-written `reqwest` POST of the same request, against the same minimal hyper server, in
//! one run. Prints both per-call times and their ratio (target ≤ 1.05).
//!
//! `cargo bench --bench overhead` (release profile). Bounded: 2 × N calls after a warm-up.
//! `-- --only graph|reqwest --calls C` runs one side alone, for instruction counts (BENCHMARKS.md).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use autopilot_resource_account::{DeviceId, GraphClient, ResourceAccountAssignment, USER_AGENT};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const N: usize = 10_000;
const ROUNDS: usize = 10;
const WARM_UP: usize = 500;
const DEVICE: &str = "7f9b6c1e-0000-4000-8000-000000000001";

/// Reads the body and answers `204`: the least a server can do, so the client's cost shows.
async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let service = service_fn(
                |request: hyper::Request<hyper::body::Incoming>| async move {
                    let _ = request.into_body().collect().await;
                    Ok::<_, Infallible>(
                        hyper::Response::builder()
                            .status(204)
                            .body(Full::new(Bytes::new()))
                            .unwrap(),
                    )
                },
            );
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener));
    let base = format!("http://{addr}/beta");

    let assignment = ResourceAccountAssignment::new()
        .with_user_principal_name("room-101@contoso.com")
        .with_addressable_user_name("Room 101")
        .with_resource_account_name("room-101");
    let client = GraphClient::builder()
        .base_url(&base)
        .bearer_token("bench-token")
        .build()
        .unwrap();

    // The hand-written equivalent: same client settings, same headers, same body.
    let raw = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!(
        "{base}/deviceManagement/windowsAutopilotDeviceIdentities/{DEVICE}/assignResourceAccountToDevice"
    );
    // Serialised per call, as a hand-written client would (`json` also sets Content-Type).
    let raw_call = || async {
        let response = raw
            .post(&url)
            .header("authorization", "Bearer bench-token")
            .header("accept", "application/json")
            .header("client-request-id", uuid::Uuid::new_v4().to_string())
            .json(&assignment)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    };
    let device: DeviceId = DEVICE.parse().unwrap();
    let wrapper_call = || async {
        client
            .assign_resource_account_to_device(&device, &assignment)
            .await
            .unwrap();
    };

    for _ in 0..WARM_UP {
        raw_call().await;
        wrapper_call().await;
    }
    // `--only graph|reqwest [--calls C]`: C calls of one side after the warm-up, nothing printed.
    // For instruction counts, which a loaded machine does not blur: callgrind at two values of C,
    // per call = the difference / the difference of C (BENCHMARKS.md).
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        let at = args.iter().position(|a| a == name)?;
        args.get(at + 1).cloned()
    };
    if let Some(only) = arg("--only") {
        let calls: usize = arg("--calls").and_then(|c| c.parse().ok()).unwrap_or(N);
        for _ in 0..calls {
            match only.as_str() {
                "graph" => wrapper_call().await,
                _ => raw_call().await,
            }
        }
        return;
    }
    // Interleaved rounds, so drift of the machine hits both alike.
    let (mut raw_time, mut wrapper_time) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..N / ROUNDS {
            wrapper_call().await;
        }
        wrapper_time += start.elapsed();
        let start = Instant::now();
        for _ in 0..N / ROUNDS {
            raw_call().await;
        }
        raw_time += start.elapsed();
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / N as f64;
    println!("per-call overhead, {N} sequential calls each, loopback, same hyper server:");
    println!(
        "  hand-written reqwest POST: {:8.2} µs/call ({:.3} s)",
        per(raw_time),
        raw_time.as_secs_f64()
    );
    println!(
        "  GraphClient:               {:8.2} µs/call ({:.3} s)",
        per(wrapper_time),
        wrapper_time.as_secs_f64()
    );
    println!(
        "  ratio wrapper / reqwest:   {:8.3}   (target ≤ 1.05)",
        wrapper_time.as_secs_f64() / raw_time.as_secs_f64()
    );
}
