//! Client-wide throttling: the gate and the pacer.
//!
//! The gate pauses every call of the client on a 429, for its `Retry-After` or while probing.
//! The pacer learns from the 429 episodes what the server accepts, without assuming how it counts,
//! and paces calls to it: [`rate`] estimates the rate and [`bucket`] paces at it, [`windows`]
//! handles reopened windows, [`probing`] finds the reopening without `Retry-After`, and
//! [`concurrency`] caps the requests in flight; [`pacer`] ties them to the episodes, and
//! [`tuning`] holds every constant; [`shared`] holds what they all use (none imports the pacer).
//! Before the first 429 nothing is paced, unless the caller stated the limit
//! ([`RateHint`](crate::RateHint)); a bulk run can also pace fixed or not at all
//! ([`Pacing`](crate::Pacing)). The reasoning and its measurements are in `docs/pacer.md`.

mod bucket;
mod concurrency;
mod pacer;
mod probing;
mod rate;
mod shared;
#[cfg(test)]
mod tests;
mod tuning;
mod windows;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep_until, timeout};

pub(crate) use bucket::Bucket;
use pacer::Pacer;
use shared::{Wait, later};
use tuning::*;

/// How a bulk run paces its calls (see [`Pacing`](crate::Pacing)); the run's clone of the client
/// carries it in its hook state, which hands it to [`Throttle::admit`] with each attempt.
#[derive(Debug)]
pub(crate) enum RunPacing {
    /// The client's adaptive pacer, seeded with a stated limit if it has learnt nothing yet;
    /// `left`: the run's items not yet done, when the run knows how many it has.
    Adaptive {
        hint: Option<(f64, f64)>,
        left: Option<AtomicUsize>,
    },
    /// A token bucket of this run alone: rate and burst as stated, never adapted.
    Fixed(Mutex<Bucket>),
    /// Only the gate.
    Off,
}

impl RunPacing {
    /// One of the run's items is done (whatever its outcome).
    pub(crate) fn item_done(&self) {
        if let RunPacing::Adaptive { left: Some(n), .. } = self {
            let _ = n.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }
}

/// Whether a 429 with this `Retry-After` (or none) says the server limits the rate. One that
/// asks for no pause at all (`Retry-After: 0`, a date already past) does not: it teaches the
/// pacer nothing (else random 429s would wear the rate down) and throttles nobody but its call.
pub(crate) fn is_rate_limit(retry_after: Option<Duration>) -> bool {
    retry_after.is_none_or(|pause| !pause.is_zero())
}

/// Shared by all clones of a client (it lives in the hooks' state).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    state: Mutex<State>,
    /// Woken when an attempt is answered (a concurrency slot may be free).
    answered: tokio::sync::Notify,
}

/// One admitted attempt; dropping it (answered, failed or cancelled) frees its slot.
#[derive(Debug)]
pub(crate) struct Ticket<'a> {
    /// When the attempt was sent, to report back with.
    pub(crate) sent_at: Instant,
    throttle: &'a Throttle,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut state = self.throttle.lock();
        state.pacer.in_flight = state.pacer.in_flight.saturating_sub(1);
        drop(state);
        self.throttle.answered.notify_waiters();
    }
}

#[derive(Debug, Default)]
struct State {
    /// The gate: closed until then.
    paused_until: Option<Instant>,
    pacer: Pacer,
}

impl Throttle {
    /// Waits for the gate and for a slot of the pacer (paced as `run` says, for a bulk run's
    /// call); returns the send time to report back with [`succeeded`](Self::succeeded) or
    /// [`throttled`](Self::throttled).
    pub(crate) async fn admit(&self, run: Option<&RunPacing>) -> Ticket<'_> {
        let sent_at = loop {
            let now = Instant::now();
            let answered = self.answered.notified();
            match self.try_admit(now, run) {
                None => break now,
                Some(Wait::Until(at)) => sleep_until(at.min(later(now, RECHECK))).await,
                Some(Wait::Slot) => _ = timeout(RECHECK, answered).await,
            }
        };
        Ticket {
            sent_at,
            throttle: self,
        }
    }

    fn try_admit(&self, now: Instant, run: Option<&RunPacing>) -> Option<Wait> {
        let mut state = self.lock();
        state.paused_until = state.paused_until.filter(|&until| until > now);
        if let Some(until) = state.paused_until {
            return Some(Wait::Until(until));
        }
        let pacer = &mut state.pacer;
        let wait = match run {
            Some(RunPacing::Off) => None,
            _ if pacer.cap.is_full(pacer.in_flight) => Some(Wait::Slot),
            // While probing after a 429 without `Retry-After`, the probes go first.
            Some(RunPacing::Fixed(bucket)) if pacer.probing.probe.is_none() => {
                let mut bucket = bucket.lock().unwrap_or_else(|e| e.into_inner());
                bucket.take(now).map(Wait::Until)
            }
            Some(RunPacing::Adaptive { hint, left }) => {
                if let (Some((rate, burst)), None) = (hint, &pacer.bucket) {
                    pacer.estimate.rate = *rate;
                    pacer.bucket = Some(Bucket::new(rate * HOLD_SHARE, *burst));
                }
                let left = left.as_ref().map(|left| left.load(Ordering::Relaxed));
                pacer.try_admit(now, left)
            }
            _ => pacer.try_admit(now, None),
        };
        pacer.in_flight += u32::from(wait.is_none());
        wait
    }

    /// A request sent at `sent_at` was accepted.
    pub(crate) fn succeeded(&self, sent_at: Instant) {
        let mut state = self.lock();
        state.pacer.cap.succeeded();
        if state.pacer.succeeded(sent_at, Instant::now()) {
            // Successes resumed after probing: no reason to keep anyone waiting.
            state.paused_until = None;
        }
    }

    /// A request sent at `sent_at` was answered 429, with the server's `Retry-After` if it gave
    /// one (already clamped to the retry policy's cap). The gate closes for it, or for the
    /// pacer's probe delay without one; never shorter than a pause already in force.
    ///
    /// A 429 that asks for no pause at all is not a sign of a rate limit (see
    /// [`is_rate_limit`]).
    pub(crate) fn throttled(&self, sent_at: Instant, retry_after: Option<Duration>) {
        if !is_rate_limit(retry_after) {
            return;
        }
        let now = Instant::now();
        let until = retry_after.map(|pause| later(now, pause.min(MAX_PAUSE)));
        let mut state = self.lock();
        let closed = state.pacer.throttled(sent_at, now, until);
        // `None` is less than any instant.
        state.paused_until = state.paused_until.max(closed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pacer's current figures, for tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PacerState {
    pub(crate) rate: Option<f64>,
    pub(crate) burst: f64,
}

#[cfg(test)]
impl Throttle {
    /// Closes the gate for `delay` from now (never shortens a pause already in force).
    pub(crate) fn pause(&self, delay: Duration) {
        let until = later(Instant::now(), delay.min(MAX_PAUSE));
        let mut state = self.lock();
        state.paused_until = state.paused_until.max(Some(until));
    }

    pub(crate) fn pacer_state(&self) -> PacerState {
        let pacer = &self.lock().pacer;
        PacerState {
            rate: pacer.bucket.as_ref().map(|_| pacer.estimate.rate),
            burst: pacer.bucket.as_ref().map_or(0.0, |b| b.burst),
        }
    }
}
