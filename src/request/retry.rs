//! When and how long to wait before sending a call again.
//!
//! Mirrors what Microsoft's Graph SDKs do, and is at least as careful: 429, 503 and 504 and
//! failures before any response (connection refused or reset, not timeouts) are retried; `Retry-After` (seconds or HTTP-date) is obeyed;
//! otherwise the wait grows exponentially from the base delay, plus jitter; and a call stops
//! retrying once its total wait would pass the cap.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::request::retry_after::RetryAfter;

/// The hard cap on retries, whatever the configuration says.
pub const MAX_RETRIES_CAP: u32 = 10;

/// How a call is retried. Set it with [`GraphClientBuilder::retry_policy`](crate::GraphClientBuilder::retry_policy).
///
/// ```
/// use std::time::Duration;
/// use autopilot_resource_account::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_retries(5)
///     .with_base_delay(Duration::from_secs(1))
///     .with_max_total_delay(Duration::from_secs(60));
/// assert_eq!(policy.max_retries(), 5);
/// assert_eq!(RetryPolicy::none().max_retries(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_total_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, 3 s base delay, 180 s total: the Graph SDKs' defaults.
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_secs(3),
            max_total_delay: Duration::from_secs(180),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self::default().with_max_retries(0)
    }

    /// Retries after the first attempt (default 3; clamped, not refused: values above
    /// [`MAX_RETRIES_CAP`], 10, become 10). A 429 without `Retry-After` is retried when the
    /// client's throttle says, within [`max_total_delay`](Self::with_max_total_delay), and does
    /// not count here (unless this is 0);
    /// nor does a 429 of a bulk run (`assign_many`, `assign_stream`) that asks for a pause: it
    /// throttles the fleet, not the item (one with `Retry-After: 0` counts, as it adds no wait
    /// toward the cap).
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries.min(MAX_RETRIES_CAP);
        self
    }

    /// First backoff delay when the server gives no `Retry-After` (default 3 s); doubles each retry.
    /// A 429 without `Retry-After` is retried when the client's throttle probes instead (see
    /// `ARCHITECTURE.md`, "Bulk and pacing").
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Most a call may spend waiting between attempts (default 180 s). A `Retry-After` that would
    /// pass it ends the call with the throttling error instead of sleeping.
    pub fn with_max_total_delay(mut self, delay: Duration) -> Self {
        self.max_total_delay = delay;
        self
    }

    /// The configured number of retries.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The configured base delay.
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The configured total delay cap.
    pub fn max_total_delay(&self) -> Duration {
        self.max_total_delay
    }

    /// The wait before retry number `retry` (1-based), given the server's `Retry-After` (already
    /// clamped to this policy's cap) and what the call has waited so far; `None` means stop and
    /// report the last answer. Sums saturate: no option or header value can make them overflow.
    pub(crate) fn next_delay(
        &self,
        retry: u32,
        retry_after: Option<RetryAfter>,
        waited: Duration,
    ) -> Option<Duration> {
        if retry > self.max_retries {
            return None;
        }
        let delay = match retry_after {
            Some(asked) if asked.beyond_cap => return None,
            Some(asked) => asked.wait,
            None => self.backoff(retry),
        };
        (waited.saturating_add(delay) <= self.max_total_delay).then_some(delay)
    }

    /// How much longer a call may wait for the client's throttle after a 429 without
    /// `Retry-After`; `None` means stop and report that 429.
    ///
    /// Such a retry does not use up one of `max_retries`: the throttle, not the call, decides
    /// when it goes again (it probes the server for the whole client, one request at a time), and
    /// a refused probe only says the server is still closed. Counting them failed bulk items that
    /// a longer wait completes. The total cap still bounds the call, so nothing waits forever,
    /// and a policy without retries still never retries.
    pub(crate) fn paced_wait(&self, waited: Duration) -> Option<Duration> {
        let left = self.max_total_delay.saturating_sub(waited);
        (self.max_retries > 0 && !left.is_zero()).then_some(left)
    }

    /// `base · 2^(retry-1)`, plus up to one `base` of jitter so that a fleet does not retry in step.
    fn backoff(&self, retry: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(1 << retry.saturating_sub(1).min(16));
        // `mul_f64` panics when rounding lands past `Duration::MAX`; a huge base needs no jitter.
        let jitter = Duration::try_from_secs_f64(self.base_delay.as_secs_f64() * jitter())
            .unwrap_or(Duration::ZERO);
        exponential.saturating_add(jitter)
    }
}

/// A uniform value in `[0, 1)`, from the std hasher's per-instance random keys (no extra crate).
pub(crate) fn jitter() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// A `Retry-After` of `secs`, read against the default 180 s cap.
    fn asked(secs: u64) -> Option<RetryAfter> {
        Some(RetryAfter {
            wait: S(secs.min(180)),
            beyond_cap: secs > 180,
        })
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let policy = RetryPolicy::default();
        for (retry, low) in [(1, 3), (2, 6), (3, 12)] {
            let d = policy.next_delay(retry, None, Duration::ZERO).unwrap();
            assert!(d >= S(low) && d < S(low + 3), "retry {retry}: {d:?}");
        }
        assert_eq!(
            policy.next_delay(4, None, Duration::ZERO),
            None,
            "3 retries by default"
        );
    }

    #[test]
    fn retry_after_wins_and_the_total_cap_holds() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next_delay(1, asked(1), S(0)), Some(S(1)));
        assert_eq!(
            policy.next_delay(1, asked(300), S(0)),
            None,
            "beyond the 180 s cap"
        );
        assert_eq!(policy.next_delay(1, asked(180), S(0)), Some(S(180)));
        assert_eq!(policy.next_delay(2, asked(30), S(160)), None);
        assert_eq!(policy.next_delay(2, asked(20), S(160)), Some(S(20)));
    }

    #[test]
    fn the_total_cap_holds_for_backoff_without_retry_after() {
        // Mutant killed: the cap checked only for a `Retry-After` (every other cap test has one).
        let policy = RetryPolicy::default().with_base_delay(S(1));
        assert_eq!(policy.next_delay(1, None, S(180)), None);
        assert_eq!(
            policy.next_delay(2, None, S(179)),
            None,
            "1-2 s past the cap"
        );
        let d = policy.next_delay(2, None, S(100)).unwrap();
        assert!(d >= S(2) && d < S(3), "{d:?}");
    }

    #[test]
    fn a_throttle_timed_retry_is_bounded_by_the_total_cap_not_the_count() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.paced_wait(S(0)), Some(S(180)));
        assert_eq!(policy.paced_wait(S(170)), Some(S(10)));
        assert_eq!(policy.paced_wait(S(180)), None);
        assert_eq!(policy.paced_wait(Duration::MAX), None);
        assert_eq!(RetryPolicy::none().paced_wait(S(0)), None);
    }

    #[test]
    fn retries_are_capped_at_ten() {
        assert_eq!(
            RetryPolicy::default().with_max_retries(50).max_retries(),
            10
        );
        // The getters (a cargo-mutants survivor: `base_delay` replaced by zero).
        let policy = RetryPolicy::default();
        assert_eq!(policy.base_delay(), S(3));
        assert_eq!(policy.max_total_delay(), S(180));
        assert_eq!(RetryPolicy::none().next_delay(1, asked(0), S(0)), None);
    }

    #[test]
    fn extreme_options_and_waits_never_overflow() {
        let huge = RetryPolicy::default()
            .with_base_delay(Duration::MAX)
            .with_max_total_delay(Duration::MAX)
            .with_max_retries(10);
        for retry in 1..=10 {
            // Saturated, not wrapped or panicked.
            assert_eq!(huge.next_delay(retry, None, S(1)), Some(Duration::MAX));
        }
        let policy = RetryPolicy::default();
        assert_eq!(policy.next_delay(2, asked(1), Duration::MAX), None);
        assert_eq!(policy.next_delay(2, asked(u64::MAX), S(1)), None);
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let samples: Vec<f64> = (0..100).map(|_| jitter()).collect();
        assert!(samples.iter().all(|j| (0.0..1.0).contains(j)));
        assert!(samples.windows(2).any(|w| w[0] != w[1]));
    }
}
