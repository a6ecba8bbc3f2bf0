//! Load shaping for the stand-in: Intune-style rate limits and random faults, plus counters.
//!
//! **Rate limit.** Intune allows about 100 writes per 20 s per app per tenant. The stand-in
//! models that as a token bucket of rate `R`/s and burst `B` per tenant, where a tenant is one
//! bearer token (in Graph, a token names one app in one tenant). A request that finds the
//! bucket empty is answered `429` with an OData `TooManyRequests` body and `Retry-After` in whole
//! seconds: the time until the next token, rounded up. A refused request takes no token.
//!
//! **Faults.** A [`FaultMix`] answers a share of requests with `503`, `429` or a connection
//! reset, drawn from a seeded generator so runs repeat.
//!
//! Order of precedence for a valid request: the rate limit, then replies scripted for the
//! device, then replies scripted for any device, then the fault mix, then `204`.

use std::collections::HashMap;
use std::time::Instant;

use super::{Reply, StandIn};

/// A token bucket per tenant: `rate` requests per second, bursts of up to `burst`.
///
/// ```
/// use autopilot_resource_account::stand_in::RateLimit;
/// let intune = RateLimit::intune();
/// assert_eq!((intune.rate(), intune.get_burst()), (5.0, 100));
/// let bench = RateLimit::per_second(300.0).burst(300);
/// assert_eq!(bench.get_burst(), 300);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    rate: f64,
    burst: u32,
}

impl RateLimit {
    /// `rate` requests per second (at least one per hour), with a burst of one second's worth.
    pub fn per_second(rate: f64) -> Self {
        let rate = if rate.is_finite() {
            rate.max(1.0 / 3600.0)
        } else {
            1.0
        };
        Self {
            rate,
            burst: rate.ceil() as u32,
        }
    }

    /// Intune's documented limit for this action: 100 requests per 20 s (5/s, burst 100).
    pub fn intune() -> Self {
        Self::per_second(5.0).burst(100)
    }

    /// Most requests accepted back to back from a full bucket (at least 1).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Sustained requests per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The configured burst.
    pub fn get_burst(&self) -> u32 {
        self.burst
    }
}

/// Random faults: each valid request is answered `503`, `429` or reset with these chances
/// (checked in that order; the rest get `204`).
///
/// ```
/// use autopilot_resource_account::stand_in::FaultMix;
/// let soak = FaultMix::default().unavailable(0.10).throttled(0.05).resets(0.02).seed(7);
/// # let _ = soak;
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultMix {
    unavailable: f64,
    throttled: f64,
    resets: f64,
    retry_after: u32,
    seed: u64,
}

impl Default for FaultMix {
    /// No faults; 429s say `Retry-After: 1`; seed 1.
    fn default() -> Self {
        Self {
            unavailable: 0.0,
            throttled: 0.0,
            resets: 0.0,
            retry_after: 1,
            seed: 1,
        }
    }
}

impl FaultMix {
    /// Share of requests answered `503 Service Unavailable` (no `Retry-After`).
    pub fn unavailable(mut self, share: f64) -> Self {
        self.unavailable = share.clamp(0.0, 1.0);
        self
    }

    /// Share of requests answered `429 TooManyRequests`.
    pub fn throttled(mut self, share: f64) -> Self {
        self.throttled = share.clamp(0.0, 1.0);
        self
    }

    /// Share of requests whose connection is dropped without an answer.
    pub fn resets(mut self, share: f64) -> Self {
        self.resets = share.clamp(0.0, 1.0);
        self
    }

    /// The `Retry-After` seconds of the random 429s (default 1).
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = seconds;
        self
    }

    /// Seed of the generator (runs with the same seed and request order draw the same faults).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Counts of what the stand-in received and answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests received.
    pub requests: usize,
    /// Requests answered `429`.
    pub throttled: usize,
    /// Requests answered with another 4xx/5xx status.
    pub other_errors: usize,
    /// Connections dropped without an answer.
    pub resets: usize,
    /// Requests answered 2xx, per device id.
    pub succeeded: HashMap<String, usize>,
}

impl Counters {
    /// Requests answered 2xx.
    pub fn successes(&self) -> usize {
        self.succeeded.values().sum()
    }

    /// Devices whose assignment was accepted more than once.
    pub fn duplicated(&self) -> Vec<&str> {
        let mut devices: Vec<&str> = self
            .succeeded
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(d, _)| d.as_str())
            .collect();
        devices.sort_unstable();
        devices
    }
}

/// The stand-in's load state: buckets per tenant and the fault generator.
#[derive(Debug, Default)]
pub(super) struct Load {
    limit: Option<RateLimit>,
    buckets: HashMap<String, Bucket>,
    faults: Option<(FaultMix, u64)>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Load {
    /// The 429 the rate limit answers with, if `tenant`'s bucket is empty (else takes a token).
    pub(super) fn rate_limit(&mut self, tenant: &str) -> Option<Reply> {
        let limit = self.limit?;
        let now = Instant::now();
        let burst = f64::from(limit.burst);
        let bucket = self.buckets.entry(tenant.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.tokens = (bucket.tokens + (now - bucket.at).as_secs_f64() * limit.rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return None;
        }
        let seconds = ((1.0 - bucket.tokens) / limit.rate).ceil().max(1.0);
        Some(throttled(seconds as u64))
    }

    /// A fault drawn from the mix, if one is set and the draw says so.
    pub(super) fn fault(&mut self) -> Option<Reply> {
        let (mix, state) = self.faults.as_mut()?;
        let draw = next_unit(state);
        let mut threshold = mix.unavailable;
        if draw < threshold {
            return Some(Reply::status(503).odata(
                "ServiceUnavailable",
                "The service is temporarily unavailable.",
            ));
        }
        threshold += mix.throttled;
        if draw < threshold {
            return Some(throttled(u64::from(mix.retry_after)));
        }
        threshold += mix.resets;
        (draw < threshold).then(Reply::reset)
    }
}

/// Intune's throttling answer.
fn throttled(retry_after_seconds: u64) -> Reply {
    Reply::status(429)
        .header("Retry-After", retry_after_seconds.to_string())
        .odata(
            "TooManyRequests",
            "Too many requests. Please retry after the time in the Retry-After header.",
        )
}

/// splitmix64 → a uniform value in `[0, 1)`.
fn next_unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl StandIn {
    /// Limits every tenant (bearer token) to `limit` from now on; buckets start full.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use autopilot_resource_account::stand_in::{RateLimit, StandIn};
    /// use autopilot_resource_account::{GraphClient, ResourceAccountAssignment, RetryPolicy};
    ///
    /// let graph = StandIn::start().await?;
    /// graph.rate_limit(RateLimit::per_second(1.0).burst(1));
    /// let client = GraphClient::builder()
    ///     .base_url(&graph.base_url())
    ///     .bearer_token("t")
    ///     .retry_policy(RetryPolicy::none())
    ///     .build()?;
    /// let assignment = ResourceAccountAssignment::default();
    /// client.assign_resource_account_to_device("d1", &assignment).await?;
    /// let err = client.assign_resource_account_to_device("d2", &assignment).await.unwrap_err();
    /// assert_eq!((err.status(), err.code()), (Some(429), Some("TooManyRequests")));
    /// # Ok(()) }
    /// ```
    pub fn rate_limit(&self, limit: RateLimit) {
        let mut state = self.state();
        state.load.limit = Some(limit);
        state.load.buckets.clear();
    }

    /// Answers a share of requests with faults from now on (see [`FaultMix`]).
    pub fn faults(&self, mix: FaultMix) {
        self.state().load.faults = Some((mix, mix.seed));
    }

    /// Counts of requests and answers so far.
    pub fn counters(&self) -> Counters {
        let state = self.state();
        let mut counters = Counters {
            requests: state.requests.len(),
            ..Counters::default()
        };
        for request in &state.requests {
            match request.answered {
                None => counters.resets += 1,
                Some(429) => counters.throttled += 1,
                Some(status) if (200..300).contains(&status) => {
                    if let Some(device) = &request.device_id {
                        *counters.succeeded.entry(device.clone()).or_default() += 1;
                    }
                }
                Some(_) => counters.other_errors += 1,
            }
        }
        counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn retry_after(reply: Reply) -> Option<String> {
        let response = reply.into_response(None).await.ok()?;
        let value = response.headers().get("retry-after")?;
        Some(value.to_str().ok()?.to_owned())
    }

    #[tokio::test]
    async fn bucket_refuses_when_empty_and_says_when_to_come_back() {
        let mut load = Load {
            limit: Some(RateLimit::per_second(2.0).burst(3)),
            ..Load::default()
        };
        for _ in 0..3 {
            assert!(load.rate_limit("a").is_none());
        }
        let refusal = load.rate_limit("a").expect("empty bucket");
        assert_eq!(refusal.status_code(), 429);
        assert_eq!(retry_after(refusal).await.as_deref(), Some("1"));
        // Another tenant has its own bucket.
        assert!(load.rate_limit("b").is_none());
    }

    #[tokio::test]
    async fn slow_rates_ask_for_more_than_a_second() {
        let mut load = Load {
            limit: Some(RateLimit::per_second(0.25).burst(1)),
            ..Load::default()
        };
        assert!(load.rate_limit("a").is_none());
        let refusal = load.rate_limit("a").unwrap();
        assert_eq!(retry_after(refusal).await.as_deref(), Some("4"));
    }

    #[test]
    fn fault_shares_are_close_to_the_mix() {
        let mut load = Load::default();
        let mix = FaultMix::default()
            .unavailable(0.10)
            .throttled(0.05)
            .resets(0.02);
        load.faults = Some((mix, 42));
        let (mut unavailable, mut throttled, mut resets) = (0, 0, 0);
        for _ in 0..20_000 {
            match load.fault() {
                Some(r) if r.is_reset() => resets += 1,
                Some(r) if r.status_code() == 503 => unavailable += 1,
                Some(r) if r.status_code() == 429 => throttled += 1,
                Some(r) => panic!("unexpected {r:?}"),
                None => {}
            }
        }
        assert!((1800..2200).contains(&unavailable), "{unavailable}");
        assert!((850..1150).contains(&throttled), "{throttled}");
        assert!((300..500).contains(&resets), "{resets}");
    }
}
