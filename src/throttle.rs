//! Client-wide throttling: the gate and the pacer.
//!
//! **The gate.** One 429 pauses every call of the client for its `Retry-After`, instead of each
//! worker finding out on its own.
//!
//! **The pacer.** Graph (Intune) limits writes per app per tenant with what behaves like a token
//! bucket: a sustained rate `R` and a burst `B`. Its `Retry-After` is in whole seconds, so every
//! 429 costs the whole client at least a second; the pacer's job is to settle just under `R` so
//! that 429s stay rare. It is itself a token bucket with a rate and a burst, shared by all
//! clones of a client, and it learns both from what the server accepts:
//!
//! - **Start fast.** Until the first 429 nothing is paced (only the caller's concurrency limits).
//!   The successes of that first episode estimate the burst `B`.
//! - **Episodes.** An episode runs from the end of one pause to the next 429. When it ends, the
//!   server's bucket was empty; at any earlier moment it held at most `B` tokens. So for every
//!   suffix of the episode, `successes − B ≤ R · duration`: the largest such bound over suffixes
//!   of at least 250 ms is the estimate of `R`. If an episode saw fewer successes than the burst,
//!   the server only refilled for the pause: `R ≈ successes / (pause + duration)`, and the burst
//!   estimate shrinks.
//! - **Back off, creep up.** After the first 429 the rate starts at a lower bound and ramps
//!   (×e³ per second of pacing) to find `R`; from the second on it holds at 97 % of the estimate
//!   and creeps up 0.1 %/s, so it probes again now and then. Growth accrues only while the pacer
//!   actually holds calls back, and never during a pause.
//! - **Estimates settle after the pause,** when the answers of requests sent before the 429
//!   have arrived, and count successes by the time they were sent.
//!
//! The law was prototyped in a simulation against token buckets from `R = 5/s, B = 100`
//! (Intune's 100 per 20 s) to `R = 1000/s, B = 50` before it was written here; the
//! `bulk_throttled` benchmark measures it against the stand-in.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The lowest rate the pacer goes down to (one request per 10 s).
const MIN_RATE: f64 = 0.1;
/// Held rate, as a share of the estimate.
const HOLD_SHARE: f64 = 0.97;
/// The burst estimate, as a share of what the first episode got through.
const BURST_SHARE: f64 = 0.9;
/// Growth per second of pacing while searching for the rate, and once it is known.
const RAMP_PER_S: f64 = 3.0;
const CREEP_PER_S: f64 = 0.001;
/// Burst kept after an episode too short to measure anything.
const SHORT_EPISODE_BACKOFF: f64 = 0.8;
/// Suffixes shorter than this say little about a sustained rate.
const MIN_WINDOW: Duration = Duration::from_millis(250);
/// Send times of successes kept per episode (the estimate needs only the recent ones).
const MAX_SAMPLES: usize = 8192;
/// Waiters recheck the pacer at least this often, so a rate change reaches them quickly.
const RECHECK: Duration = Duration::from_millis(20);
/// Pause assumed when a 429 ends a call without one being imposed.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);
/// The longest the gate closes for one 429, whatever the server or the options say: a
/// `Retry-After` of `u64::MAX` seconds must neither overflow an `Instant` nor hang the client.
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(3600);
/// The fastest the pacer ever paces (its rate arithmetic stays finite).
const MAX_RATE: f64 = 1e6;

/// Shared by all clones of a client (it lives in the hooks' state).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    paused_until: Mutex<Option<Instant>>,
    pacer: Mutex<Pacer>,
}

/// What the pacer has learnt; see the module docs.
#[derive(Debug, Default)]
struct Pacer {
    /// Requests per second; `None` until the first 429 (unpaced).
    rate: Option<f64>,
    /// Searching for the rate (ramp) or holding just under it (creep).
    holding: bool,
    /// Burst allowance in requests (at least 1).
    burst: f64,
    /// Tokens in the pacer's bucket, and when it was last refilled.
    tokens: f64,
    refilled_at: Option<Instant>,
    /// Growth is accounted up to here.
    grown_until: Option<Instant>,
    /// The current episode began here (first send, or end of the last pause).
    episode_start: Option<Instant>,
    /// Send times of the episode's successes (the most recent [`MAX_SAMPLES`]).
    successes: VecDeque<Instant>,
    /// Successes in the episode, including those no longer sampled.
    success_count: usize,
    /// A 429 not yet taken into account: when its request was sent, and the pause it imposed.
    pending: Option<(Instant, Duration)>,
    /// The pause before the current episode.
    last_pause: Duration,
    /// The pause end the pending event waits for.
    resume_at: Option<Instant>,
}

/// The pacer's current figures, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct PacerState {
    pub(crate) rate: Option<f64>,
    pub(crate) burst: f64,
}

impl Throttle {
    /// Waits until no pause is in force. Loops because a pause may be extended while waiting.
    pub(crate) async fn wait_open(&self) {
        loop {
            let until = *self.lock();
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }

    /// Waits for the gate and for a slot of the pacer; returns the send time to report back
    /// with [`succeeded`](Self::succeeded) or [`throttled`](Self::throttled).
    pub(crate) async fn admit(&self) -> Instant {
        loop {
            self.wait_open().await;
            let now = Instant::now();
            let wait_until = self.pacer().try_admit(now);
            match wait_until {
                None => return now,
                Some(at) => tokio::time::sleep_until(at.min(later(now, RECHECK))).await,
            }
        }
    }

    /// Closes the gate for `delay` from now (never shortens a pause already in force).
    pub(crate) fn pause(&self, delay: Duration) {
        let until = later(Instant::now(), delay.min(MAX_PAUSE));
        let mut paused = self.lock();
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// A request sent at `sent_at` was accepted.
    pub(crate) fn succeeded(&self, sent_at: Instant) {
        self.pacer().succeeded(sent_at);
    }

    /// A request sent at `sent_at` was answered 429. With `pause`, the gate closes for it too.
    ///
    /// A 429 that asks for no pause at all (`Retry-After: 0`) is not a sign of a rate limit
    /// and teaches the pacer nothing (else random 429s would wear the rate down to nothing).
    pub(crate) fn throttled(&self, sent_at: Instant, pause: Option<Duration>) {
        if let Some(pause) = pause {
            if pause.is_zero() {
                return;
            }
            self.pause(pause);
        }
        let resume_at = (*self.lock()).unwrap_or_else(Instant::now);
        self.pacer()
            .throttled(sent_at, pause.unwrap_or(DEFAULT_PAUSE), resume_at);
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn pacer_state(&self) -> PacerState {
        let pacer = self.pacer();
        PacerState {
            rate: pacer.rate,
            burst: pacer.burst,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.paused_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        self.pacer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Pacer {
    /// `None`: send now (a slot is taken). `Some(at)`: no slot before `at`; ask again then.
    fn try_admit(&mut self, now: Instant) -> Option<Instant> {
        if self.pending.is_some() && self.resume_at.is_none_or(|at| now >= at) {
            self.settle();
        }
        self.episode_start.get_or_insert(now);
        let rate = self.rate?;
        let since = self
            .refilled_at
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
        self.tokens = (self.tokens + since.as_secs_f64() * rate).min(self.burst);
        self.refilled_at = Some(now);
        if self.tokens < 2.0 {
            // At the rate: the pacer is what limits the fleet, so growth accrues.
            self.grow(now);
        } else {
            // Spare tokens: demand is below the rate, no reason to raise it.
            self.grown_until = Some(now);
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return None;
        }
        let rate = self.rate.unwrap_or(rate);
        let wait = Duration::try_from_secs_f64((1.0 - self.tokens) / rate).unwrap_or(RECHECK);
        Some(later(now, wait))
    }

    /// Grows the rate for the pacing time since the last growth (none while a 429 is pending).
    fn grow(&mut self, now: Instant) {
        let from = self.grown_until.unwrap_or(now);
        self.grown_until = Some(now);
        let (Some(rate), None) = (self.rate, self.pending) else {
            return;
        };
        let per_s = if self.holding {
            CREEP_PER_S
        } else {
            RAMP_PER_S
        };
        let elapsed = now.saturating_duration_since(from).as_secs_f64();
        self.rate = Some((rate * (per_s * elapsed).exp()).min(MAX_RATE));
    }

    fn succeeded(&mut self, sent_at: Instant) {
        let in_episode = self.episode_start.is_some_and(|start| sent_at >= start)
            && self.pending.is_none_or(|(event, _)| sent_at <= event);
        if in_episode {
            if self.successes.len() == MAX_SAMPLES {
                self.successes.pop_front();
            }
            self.successes.push_back(sent_at);
            self.success_count += 1;
        }
    }

    fn throttled(&mut self, sent_at: Instant, pause: Duration, resume_at: Instant) {
        // Answers to requests sent before this episode belong to an event already counted.
        let earlier = self.episode_start.is_some_and(|start| sent_at < start);
        if self.pending.is_some() || earlier {
            self.resume_at = self.resume_at.max(Some(resume_at));
            return;
        }
        self.pending = Some((sent_at, pause));
        self.resume_at = Some(resume_at);
    }

    /// Takes the pending 429 into account: new estimates, and a new episode.
    fn settle(&mut self) {
        let Some((event, pause)) = self.pending.take() else {
            return;
        };
        let start = self.episode_start.unwrap_or(event);
        let duration = event.saturating_duration_since(start).as_secs_f64();
        let got = self.success_count as f64;
        match self.rate {
            None => {
                self.burst = (got * BURST_SHARE).max(1.0);
                self.rate =
                    Some((got / (duration + pause.as_secs_f64())).clamp(MIN_RATE, MAX_RATE));
            }
            Some(rate) => {
                let estimate = if got + 1.0 < self.burst {
                    // Not even the burst got through: the bucket only refilled for the pause.
                    self.burst = (got * BURST_SHARE).max(1.0);
                    got / (self.last_pause.as_secs_f64() + duration)
                } else if let Some(estimate) = self.suffix_estimate(event) {
                    estimate
                } else {
                    // Too short to measure: the burst after the pause overdrew the bucket.
                    self.burst = (self.burst * SHORT_EPISODE_BACKOFF).max(1.0);
                    rate
                };
                let estimate = estimate.max(MIN_RATE);
                let held = if self.holding {
                    rate.min(estimate)
                } else {
                    estimate
                };
                self.rate = Some((held * HOLD_SHARE).max(MIN_RATE));
                self.holding = true;
            }
        }
        let resume = self.resume_at.take().unwrap_or(event).max(event);
        self.last_pause = pause;
        self.episode_start = Some(resume);
        self.grown_until = Some(resume);
        // The server's bucket refilled during the pause; so does ours.
        self.tokens = self.burst;
        self.refilled_at = Some(resume);
        self.successes.clear();
        self.success_count = 0;
        tracing::debug!(
            rate_per_s = self.rate,
            burst = self.burst,
            successes = got,
            episode_s = duration,
            "pacer settled after a 429"
        );
    }

    /// The largest `(successes in suffix − burst) / suffix length` over suffixes ≥ [`MIN_WINDOW`].
    fn suffix_estimate(&self, event: Instant) -> Option<f64> {
        let mut sent: Vec<Instant> = self.successes.iter().copied().collect();
        sent.sort_unstable();
        let n = sent.len();
        let step = (n / 256).max(1);
        (0..n)
            .step_by(step)
            .map_while(|i| {
                let window = event.saturating_duration_since(sent[i]);
                (window >= MIN_WINDOW).then(|| ((n - i) as f64 - self.burst) / window.as_secs_f64())
            })
            .reduce(f64::max)
    }
}

/// `at + delay`, saturating at a far-off instant instead of panicking.
fn later(at: Instant, delay: Duration) -> Instant {
    at.checked_add(delay)
        .or_else(|| at.checked_add(MAX_PAUSE))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_waiter_and_is_never_shortened() {
        let throttle = Throttle::default();
        let start = Instant::now();
        throttle.wait_open().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        throttle.pause(Duration::from_secs(5));
        throttle.pause(Duration::from_secs(2));
        throttle.wait_open().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_pause_from_the_wire_is_bounded_and_never_panics() {
        let throttle = Throttle::default();
        let start = Instant::now();
        // `Retry-After: 18446744073709551615` and a policy whose cap is `Duration::MAX`.
        let sent = throttle.admit().await;
        throttle.throttled(sent, Some(Duration::MAX));
        throttle.pause(Duration::MAX);
        throttle.pause(Duration::from_secs(u64::MAX));
        throttle.admit().await;
        assert_eq!(start.elapsed(), MAX_PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn unpaced_until_the_first_429() {
        let throttle = Throttle::default();
        let start = Instant::now();
        for _ in 0..1000 {
            let sent = throttle.admit().await;
            throttle.succeeded(sent);
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(throttle.pacer_state().rate, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_then_paces() {
        let throttle = Throttle::default();
        for _ in 0..50 {
            let sent = throttle.admit().await;
            throttle.succeeded(sent);
        }
        let sent = throttle.admit().await;
        throttle.throttled(sent, Some(Duration::from_secs(1)));
        // Answers to requests sent before the 429 still count for that episode.
        throttle.throttled(sent, Some(Duration::from_secs(1)));
        let start = Instant::now();
        throttle.admit().await;
        assert_eq!(start.elapsed(), Duration::from_secs(1), "the gate");
        let state = throttle.pacer_state();
        assert_eq!(state.burst, 45.0, "90 % of what got through");
        assert_eq!(
            state.rate,
            Some(50.0),
            "50 successes over a 1 s pause: a lower bound"
        );
        // The burst goes out at once, then slots are spaced by the rate.
        for _ in 0..44 {
            throttle.admit().await;
        }
        let burst_end = Instant::now();
        assert_eq!(burst_end - start, Duration::from_secs(1));
        for _ in 0..10 {
            throttle.admit().await;
        }
        let paced = Instant::now() - burst_end;
        assert!(
            paced > Duration::from_millis(100) && paced < Duration::from_millis(210),
            "{paced:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_without_pause_teaches_nothing() {
        let throttle = Throttle::default();
        for _ in 0..100 {
            let sent = throttle.admit().await;
            throttle.throttled(sent, Some(Duration::ZERO));
        }
        assert_eq!(throttle.pacer_state().rate, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_minimal_rate_holds_even_after_many_429s() {
        let throttle = Throttle::default();
        for _ in 0..20 {
            let sent = throttle.admit().await;
            throttle.throttled(sent, Some(Duration::from_secs(1)));
        }
        assert!(throttle.pacer_state().rate.unwrap() >= MIN_RATE);
    }

    /// A server bucket with rate `r` per second and burst `b`, on tokio's clock.
    struct Bucket {
        rate: f64,
        burst: f64,
        tokens: f64,
        at: Instant,
        requests: u32,
        throttled: u32,
    }

    impl Bucket {
        fn new(rate: f64, burst: f64) -> Self {
            Self {
                rate,
                burst,
                tokens: burst,
                at: Instant::now(),
                requests: 0,
                throttled: 0,
            }
        }

        /// `None` accepted; `Some(retry_after)` in whole seconds, like Intune.
        fn hit(&mut self) -> Option<Duration> {
            let now = Instant::now();
            self.tokens = (self.tokens + (now - self.at).as_secs_f64() * self.rate).min(self.burst);
            self.at = now;
            self.requests += 1;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                return None;
            }
            self.throttled += 1;
            let seconds = ((1.0 - self.tokens) / self.rate).ceil().max(1.0);
            Some(Duration::from_secs_f64(seconds))
        }
    }

    /// Four workers sending through the gate and pacer against a bucket (zero latency).
    async fn drive(rate: f64, burst: f64, items: u32) -> (Duration, Bucket) {
        let throttle = std::sync::Arc::new(Throttle::default());
        let bucket = std::sync::Arc::new(Mutex::new(Bucket::new(rate, burst)));
        let next = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let start = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (throttle, bucket, next) = (throttle.clone(), bucket.clone(), next.clone());
            workers.spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < items {
                    loop {
                        let sent = throttle.admit().await;
                        // A little latency, so that workers interleave.
                        tokio::time::sleep(Duration::from_micros(300)).await;
                        let answer = bucket.lock().unwrap().hit();
                        match answer {
                            None => {
                                throttle.succeeded(sent);
                                break;
                            }
                            Some(pause) => throttle.throttled(sent, Some(pause)),
                        }
                    }
                }
            });
        }
        workers.join_all().await;
        let elapsed = start.elapsed();
        let bucket = std::sync::Arc::try_unwrap(bucket)
            .ok()
            .unwrap()
            .into_inner()
            .unwrap();
        (elapsed, bucket)
    }

    #[tokio::test(start_paused = true)]
    async fn settles_just_under_the_servers_rate() {
        // The benchmark's shape (burst = one second of rate), and a small burst.
        for (rate, burst, max_ratio) in [(100.0, 100.0, 1.10), (100.0, 10.0, 1.35)] {
            let items = 3000;
            let (elapsed, bucket) = drive(rate, burst, items).await;
            let ideal = items as f64 / rate;
            let ratio = elapsed.as_secs_f64() / ideal;
            let share = bucket.throttled as f64 / bucket.requests as f64;
            assert!(
                ratio <= max_ratio,
                "R={rate} B={burst}: {elapsed:?} vs ideal {ideal} s"
            );
            assert!(share <= 0.02, "R={rate} B={burst}: 429 share {share}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn finds_intunes_rate() {
        // 100 writes per 20 s: R = 5/s, B = 100. 400 items take at best (400 − 100) / 5 = 60 s.
        let (elapsed, bucket) = drive(5.0, 100.0, 400).await;
        assert!(elapsed <= Duration::from_secs(80), "{elapsed:?}");
        assert!(bucket.throttled <= 12, "{} 429s", bucket.throttled);
    }
}
