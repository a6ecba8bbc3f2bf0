//! The concurrency cap: requests sent before a 429 and accepted well after it were being served,
//! so the pacer keeps at most that many in flight, and lets the cap grow by one now and then.

use tokio::time::Instant;

use super::shared::Pending;
use super::tuning::*;

/// Most attempts in flight, once a 429 came while others were being served.
#[derive(Debug, Default)]
pub(super) struct ConcurrencyCap {
    limit: Option<u32>,
    /// Progress toward the next growth by one.
    credit: f64,
}

impl ConcurrencyCap {
    /// Whether `in_flight` attempts fill the cap.
    pub(super) fn is_full(&self, in_flight: u32) -> bool {
        self.limit.is_some_and(|cap| in_flight >= cap)
    }

    /// An attempt was accepted: the cap grows by one after enough of them.
    pub(super) fn succeeded(&mut self) {
        let Some(cap) = &mut self.limit else { return };
        self.credit += 1.0 / (f64::from(*cap) * CAP_GROWTH_AFTER);
        if self.credit >= 1.0 {
            self.credit = 0.0;
            *cap = cap.saturating_add(1);
        }
    }

    /// The settled episode ended with `in_service` requests being served: the new cap.
    pub(super) fn set(&mut self, in_service: u32) {
        self.limit = Some(in_service);
        self.credit = 0.0;
        tracing::debug!(window = in_service, "pacer: concurrency cap");
    }
}

/// Whether a request sent at `sent_at` and accepted at `now` was being served when `pending`'s
/// refusal came: accepted after it, and slower than it by far (a rate limit answers acceptances
/// and refusals equally fast).
pub(super) fn was_in_service(pending: &Pending, sent_at: Instant, now: Instant) -> bool {
    let refusal_took = pending.answered.saturating_duration_since(pending.sent);
    sent_at <= pending.answered
        && now.saturating_duration_since(sent_at) >= refusal_took * 2 + IN_SERVICE_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kills `succeeded` → `()` and `+=` → `-=` in it (cargo mutants, session 12): the cap
    /// grows by one after `CAP_GROWTH_AFTER` caps' worth of successes, not before.
    #[test]
    fn the_cap_grows_by_one_after_a_hundred_caps_worth_of_successes() {
        let mut cap = ConcurrencyCap::default();
        assert!(!cap.is_full(1000), "no cap before a 429 says so");
        cap.set(4);
        assert!(cap.is_full(4) && !cap.is_full(3));
        for _ in 0..399 {
            cap.succeeded();
        }
        assert!(cap.is_full(4), "not yet: 399 of 400");
        // 400 steps of 1/400 add up to a hair under 1.0 in floating point: the 401st grows it.
        cap.succeeded();
        cap.succeeded();
        assert!(!cap.is_full(4) && cap.is_full(5), "grown to 5 by the 401st");
    }
}
