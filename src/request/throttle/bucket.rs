//! A token bucket: the pacer's own rate, a fixed run's rate, and the pace of a reopened window's
//! rest.

use std::time::Duration;

use tokio::time::Instant;

use super::shared::{later, secs};
use super::tuning::*;

/// A token bucket: `rate` per second, up to `burst`.
#[derive(Debug)]
pub(crate) struct Bucket {
    pub(super) rate: f64,
    pub(super) burst: f64,
    pub(super) tokens: f64,
    pub(super) at: Option<Instant>,
}

impl Bucket {
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.clamp(1.0, MAX_RATE);
        Self {
            rate: rate.clamp(MIN_RATE, MAX_RATE),
            burst,
            tokens: burst,
            at: None,
        }
    }

    pub(super) fn refill(&mut self, now: Instant) {
        let since = self.at.map_or(0.0, |at| secs(at, now));
        self.tokens = (self.tokens + since * self.rate).min(self.burst);
        self.at = Some(now);
    }

    /// `None`: take a token now. `Some(at)`: none before `at`.
    pub(super) fn take(&mut self, now: Instant) -> Option<Instant> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return None;
        }
        let wait = Duration::try_from_secs_f64((1.0 - self.tokens) / self.rate).unwrap_or(RECHECK);
        Some(later(now, wait))
    }
}
