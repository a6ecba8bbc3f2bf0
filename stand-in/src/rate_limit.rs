//! Load shaping for the stand-in: rate limits and random faults, plus counters.
//!
//! **Rate limit.** [`RateLimit`] is the simplest [`Throttling`]: one token bucket of rate `R`/s
//! and burst `B` per app (one bearer token), answering `429` with an OData `TooManyRequests` body
//! and `Retry-After` in whole seconds (the time until the next token, rounded up). A refused
//! request takes no token. Other models (windows, a concurrency cap, per-tenant limits, other
//! pause hints, outages) are in [`throttle_models`](super::throttle_models).
//!
//! **Faults.** A [`FaultMix`] answers a share of requests with `503`, `429` or a connection
//! reset, drawn from a seeded generator so runs repeat.
//!
//! Order of precedence for a valid request: the rate limit, then replies scripted for the
//! device, then replies scripted for any device, then the fault mix, then `204`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

// tokio's clock (the wall clock unless a test pauses it): a paused-time test then sees the
// limits in its own time.
use tokio::time::Instant;

use bytes::Bytes;
use http_body_util::Full;

use super::throttle_models::{Admitted, Model, PauseHint, Scope, ThrottleState, Throttling};
use super::{Reply, ResetConnection, Shared, StandIn};

/// A token bucket per tenant: `rate` requests per second, bursts of up to `burst`.
///
/// Intune's documented limit (100 writes per 20 s, fixed windows) is
/// [`Throttling::intune()`], not a bucket.
///
/// ```
/// use autopilot_resource_account_stand_in::RateLimit;
/// let bench = RateLimit::per_second(300.0).burst(300);
/// assert_eq!((bench.rate(), bench.get_burst()), (300.0, 300));
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

    /// The same limit as a [`Throttling`]: a token bucket per app, `Retry-After` in seconds.
    pub fn to_throttling(&self) -> Throttling {
        Throttling::new(PauseHint::Seconds).limit(
            Scope::App,
            Model::TokenBucket {
                rate: self.rate,
                burst: self.burst,
            },
        )
    }
}

/// Random faults: each valid request is answered `503`, `429` or reset with these chances
/// (checked in that order; the rest get `204`).
///
/// ```
/// use autopilot_resource_account_stand_in::FaultMix;
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
    /// Requests whose client went away before the answer was sent (a cancelled call).
    pub abandoned: usize,
    /// The most requests the stand-in was working on at once.
    pub max_in_flight: usize,
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

/// The stand-in's load state: the throttling, the fault generator, requests in flight.
#[derive(Debug, Default)]
pub(super) struct Load {
    throttling: Option<ThrottleState>,
    faults: Option<(FaultMix, u64)>,
    in_flight: usize,
    max_in_flight: usize,
    abandoned: usize,
}

impl Load {
    /// The configured network latency (none without throttling).
    pub(super) fn latency(&self) -> Duration {
        self.throttling
            .as_ref()
            .map_or(Duration::ZERO, ThrottleState::latency)
    }

    /// Admits a request with this bearer token, or the refusal to answer with.
    pub(super) fn admit(&mut self, token: &str) -> Result<Admitted, Box<Reply>> {
        match &mut self.throttling {
            Some(throttling) => throttling.admit(token, Instant::now()),
            None => Ok(Admitted::default()),
        }
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

/// Answers `reply` after the service time, counting the request in flight meanwhile; a request
/// whose connection goes away first (the call was cancelled) is counted as abandoned.
pub(super) async fn serve(
    shared: Arc<Shared>,
    admitted: Admitted,
    reply: Reply,
    client_request_id: Option<&str>,
) -> Result<hyper::Response<Full<Bytes>>, ResetConnection> {
    let mut guard = InFlight::enter(shared, admitted.slots);
    if !admitted.service.is_zero() {
        tokio::time::sleep(admitted.service).await;
    }
    let response = reply.into_response(client_request_id).await;
    guard.answered = true;
    response
}

/// One request in service; dropping it without an answer means the client went away.
struct InFlight {
    shared: Arc<Shared>,
    slots: Vec<(usize, String)>,
    answered: bool,
}

impl InFlight {
    fn enter(shared: Arc<Shared>, slots: Vec<(usize, String)>) -> Self {
        {
            let mut state = shared.state();
            let load = &mut state.load;
            load.in_flight += 1;
            load.max_in_flight = load.max_in_flight.max(load.in_flight);
        }
        Self {
            shared,
            slots,
            answered: false,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        let load = &mut state.load;
        load.in_flight = load.in_flight.saturating_sub(1);
        load.abandoned += usize::from(!self.answered);
        if let Some(throttling) = &mut load.throttling {
            throttling.release(&self.slots);
        }
    }
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
    /// use autopilot_resource_account_stand_in::{RateLimit, StandIn};
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
    /// client.assign_resource_account_to_device(&"d1".parse()?, &assignment).await?;
    /// let err = client.assign_resource_account_to_device(&"d2".parse()?, &assignment).await.unwrap_err();
    /// assert_eq!((err.status(), err.code()), (Some(429), Some("TooManyRequests")));
    /// # Ok(()) }
    /// ```
    pub fn rate_limit(&self, limit: RateLimit) {
        self.throttling(limit.to_throttling());
    }

    /// Throttles requests per `throttling` from now on (limits start fresh).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use autopilot_resource_account_stand_in::{StandIn, Throttling};
    ///
    /// let graph = StandIn::start().await?;
    /// graph.throttling(Throttling::intune());
    /// # Ok(()) }
    /// ```
    pub fn throttling(&self, throttling: Throttling) {
        self.state().load.throttling = Some(ThrottleState::new(throttling));
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
            abandoned: state.load.abandoned,
            max_in_flight: state.load.max_in_flight,
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

    fn limited(limit: RateLimit) -> Load {
        Load {
            throttling: Some(ThrottleState::new(limit.to_throttling())),
            ..Load::default()
        }
    }

    #[tokio::test]
    async fn bucket_refuses_when_empty_and_says_when_to_come_back() {
        let mut load = limited(RateLimit::per_second(2.0).burst(3));
        for _ in 0..3 {
            assert!(load.admit("a").is_ok());
        }
        let refusal = load.admit("a").expect_err("empty bucket");
        assert_eq!(refusal.status_code(), 429);
        assert_eq!(retry_after(*refusal).await.as_deref(), Some("1"));
        // Another tenant has its own bucket.
        assert!(load.admit("b").is_ok());
    }

    #[tokio::test]
    async fn slow_rates_ask_for_more_than_a_second() {
        let mut load = limited(RateLimit::per_second(0.25).burst(1));
        assert!(load.admit("a").is_ok());
        let refusal = load.admit("a").unwrap_err();
        assert_eq!(retry_after(*refusal).await.as_deref(), Some("4"));
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
