//! The clamps of the public setters, each stated in its setter's doc (issue 25: no silent
//! clamping). They are kept rather than refused: each has one safe reading, and the setters
//! return `Self`, not `Result`, so a builder chain stays one expression.

use std::time::Duration;

use autopilot_resource_account::{BulkOptions, MAX_RETRIES_CAP, RateHint, RetryPolicy};

#[test]
fn retries_above_the_cap_are_capped() {
    let policy = RetryPolicy::default().with_max_retries(50);
    assert_eq!(policy.max_retries(), MAX_RETRIES_CAP);
    assert_eq!(MAX_RETRIES_CAP, 10);
    assert_eq!(
        RetryPolicy::default().with_max_retries(10).max_retries(),
        10
    );
}

#[test]
fn a_zero_rate_hint_counts_as_one_per_millisecond_at_least() {
    let hint = RateHint::new(0, Duration::ZERO);
    assert_eq!(hint.burst(), 1);
    assert_eq!(hint.per_second(), 1000.0);
    assert_eq!(hint, RateHint::new(1, Duration::from_millis(1)));
}

#[test]
fn zero_concurrency_counts_as_one() {
    assert_eq!(BulkOptions::default().with_concurrency(0).concurrency(), 1);
    assert_eq!(BulkOptions::default().with_concurrency(3).concurrency(), 3);
}
