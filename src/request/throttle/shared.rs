//! What the pacer and its mechanisms share: the 429 an episode waits to settle, why an attempt
//! waits, and instants that never overflow. A leaf, so no mechanism imports the pacer.

use std::time::Duration;

use tokio::time::Instant;

use super::tuning::*;

/// A 429 whose episode is not settled yet.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    /// When the refused request was sent, and when the refusal arrived.
    pub(super) sent: Instant,
    pub(super) answered: Instant,
    /// The episode settles once successes can resume: at the end of the server's pause, or at
    /// the first successful probe.
    pub(super) resume_at: Option<Instant>,
    /// Requests in flight when the 429 came and accepted well after it: they were being served.
    pub(super) in_service: u32,
}

/// Why an attempt cannot go yet.
#[derive(Debug)]
pub(super) enum Wait {
    Until(Instant),
    /// The concurrency cap is full: wait for an answer.
    Slot,
}

/// Seconds from `from` to `to` (none if `to` is earlier).
pub(super) fn secs(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64()
}

/// `at + delay`, saturating at a far-off instant instead of panicking.
pub(super) fn later(at: Instant, delay: Duration) -> Instant {
    at.checked_add(delay)
        .or_else(|| at.checked_add(MAX_PAUSE))
        .unwrap_or(at)
}
