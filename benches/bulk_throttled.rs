//! Bulk under throttling: N assignments against the stand-in limited to R requests/s with
//! burst B. Prints wall time against the ideal N/R, the share of requests answered 429, and
//! lost or duplicated assignments, for `assign_many` and for a naive fixed-concurrency loop
//! with per-request retries (the baseline); first with a burst of one second's worth, then with
//! a small burst (the naive loop then takes minutes: about 3).
//!
//! `cargo bench --bench bulk_throttled` (release). Bounded: each run stops by itself; the
//! naive loop gives up on an item after 10 retries.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use autopilot_resource_account::stand_in::{RateLimit, StandIn};
use autopilot_resource_account::{BulkOptions, GraphClient, USER_AGENT};
use futures_util::StreamExt;

const N: usize = 5_000;
const RATE: f64 = 300.0;
const CONCURRENCY: usize = 8;

#[tokio::main]
async fn main() {
    let ideal = N as f64 / RATE;
    println!(
        "bulk under throttling: N = {N}, stand-in bucket R = {RATE}/s, concurrency {CONCURRENCY}; ideal N/R = {ideal:.2} s"
    );
    for burst in [300u32, 30] {
        wrapper(burst).await;
        naive(burst).await;
    }
}

fn report(name: &str, burst: u32, wall: Duration, t: &common::Tally) {
    let ideal = N as f64 / RATE;
    println!(
        "  {name:<26} B = {burst:>3}: wall {:6.2} s = {:.3} × N/R; 429s {:>4} of {:>5} requests = {:.2} %; \
         outcomes {} (ok {}, failed {}); lost {}, duplicated {}, missing {}, repeated {}",
        wall.as_secs_f64(),
        wall.as_secs_f64() / ideal,
        t.throttled,
        t.requests,
        100.0 * t.throttled as f64 / t.requests.max(1) as f64,
        t.outcomes,
        t.ok,
        t.failed,
        t.lost,
        t.duplicated,
        t.keys_missing,
        t.keys_repeated,
    );
}

async fn wrapper(burst: u32) {
    let graph = StandIn::start().await.unwrap();
    graph.rate_limit(RateLimit::per_second(RATE).burst(burst));
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("bench")
        .build()
        .unwrap();
    let start = Instant::now();
    let outcomes: Vec<_> = client
        .assign_many(
            common::items(N),
            BulkOptions::default().concurrency(CONCURRENCY),
        )
        .collect()
        .await;
    let wall = start.elapsed();
    report(
        "assign_many",
        burst,
        wall,
        &common::tally(&graph, N, &outcomes),
    );
}

/// Fixed concurrency, each worker retrying its own request after `Retry-After` (at most 10
/// retries): what a script without a shared gate or pacer does.
async fn naive(burst: u32) {
    let graph = StandIn::start().await.unwrap();
    graph.rate_limit(RateLimit::per_second(RATE).burst(burst));
    let http = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .build()
        .unwrap();
    let items = Arc::new(common::items(N));
    let next = Arc::new(AtomicUsize::new(0));
    let base = graph.base_url();
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (http, items, next, base) = (http.clone(), items.clone(), next.clone(), base.clone());
        workers.spawn(async move {
            let mut results = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else {
                    return results;
                };
                let url = format!(
                    "{base}/deviceManagement/windowsAutopilotDeviceIdentities/{}/assignResourceAccountToDevice",
                    item.target.device_id()
                );
                let mut ok = false;
                for _attempt in 0..=10 {
                    let answer = http
                        .post(&url)
                        .bearer_auth("naive")
                        .json(&item.assignment)
                        .send()
                        .await;
                    match answer {
                        Ok(r) if r.status().is_success() => {
                            ok = true;
                            break;
                        }
                        Ok(r) if r.status() == 429 || r.status() == 503 => {
                            let seconds = r
                                .headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.parse::<u64>().ok())
                                .unwrap_or(1);
                            tokio::time::sleep(Duration::from_secs(seconds)).await;
                        }
                        _ => break,
                    }
                }
                results.push((i, ok));
            }
        });
    }
    let results: Vec<(usize, bool)> = workers.join_all().await.into_iter().flatten().collect();
    let wall = start.elapsed();
    let counters = graph.counters();
    let mut seen = vec![0u32; N];
    let mut t = common::Tally {
        outcomes: results.len(),
        requests: counters.requests,
        throttled: counters.throttled,
        duplicated: counters.duplicated().len(),
        ..Default::default()
    };
    for (i, ok) in results {
        seen[i] += 1;
        let accepted = counters.succeeded.contains_key(items[i].target.device_id());
        if ok {
            t.ok += 1;
            t.lost += usize::from(!accepted);
        } else {
            t.failed += 1;
        }
    }
    t.keys_missing = seen.iter().filter(|&&c| c == 0).count();
    t.keys_repeated = seen.iter().filter(|&&c| c > 1).count();
    report("naive loop + retries", burst, wall, &t);
}
