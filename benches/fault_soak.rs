//! Fault soak: N items against the stand-in answering 10 % 503, 5 % 429 and 2 % connection
//! resets at random (seeded). Every item must end in exactly one outcome, and the stand-in
//! must record each successful device exactly once.
//!
//! `cargo bench --bench fault_soak` (release). The random 429s say `Retry-After: 0` (a
//! `Retry-After: 1` on 5 % of 5,000 calls would pause the whole client for minutes: the rate
//! limit itself is `fleet`'s subject); 503s back off from a 10 ms base. Exits
//! non-zero if a guarantee is broken.

mod common;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use autopilot_resource_account::{BulkOptions, GraphClient, RetryPolicy};
use autopilot_resource_account_stand_in::{FaultMix, StandIn};
use futures_util::StreamExt;

const N: usize = 5_000;

#[tokio::main]
async fn main() -> ExitCode {
    let graph = StandIn::start().await.unwrap();
    graph.faults(
        FaultMix::default()
            .unavailable(0.10)
            .throttled(0.05)
            .resets(0.02)
            .retry_after(0)
            .seed(2024),
    );
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("soak")
        .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(10)))
        .build()
        .unwrap();
    let start = Instant::now();
    let outcomes: Vec<_> = client
        .assign_many(common::items(N), BulkOptions::default())
        .collect()
        .await;
    let wall = start.elapsed();
    let t = common::tally(&graph, N, &outcomes);
    let counters = graph.counters();
    println!("fault soak: N = {N}, 10 % 503, 5 % 429, 2 % resets, concurrency 8");
    println!(
        "  wall {:.2} s; requests {} (503 {}, 429 {}, resets {})",
        wall.as_secs_f64(),
        counters.requests,
        counters.other_errors,
        counters.throttled,
        counters.resets
    );
    println!(
        "  outcomes {} for {N} items: ok {}, failed after retries {}; missing {}, repeated {}",
        t.outcomes, t.ok, t.failed, t.keys_missing, t.keys_repeated
    );
    println!(
        "  stand-in: {} devices accepted; duplicated {}, ok-but-not-accepted {}, failed-but-accepted {}",
        counters.succeeded.len(),
        t.duplicated,
        t.lost,
        t.accepted_but_failed
    );
    let good = t.outcomes == N
        && t.keys_missing == 0
        && t.keys_repeated == 0
        && t.duplicated == 0
        && t.lost == 0
        && t.accepted_but_failed == 0
        && counters.succeeded.len() == t.ok;
    println!("  exactly one outcome per item, each success recorded once: {good}");
    if good {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
