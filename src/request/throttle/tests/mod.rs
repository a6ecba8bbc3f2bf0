//! The gate and the rate estimate; `windows` and `probing` test those mechanisms.

mod probing;
mod windows;

use std::sync::Arc;

use super::tuning::*;
use super::*;

const S: fn(u64) -> Duration = Duration::from_secs;

/// `n` requests admitted and accepted without waiting in between.
async fn accept_at_once(throttle: &Throttle, n: usize) {
    accept_in_run(throttle, None, n).await;
}

/// [`accept_at_once`] for the calls of a bulk run paced as `run` says.
async fn accept_in_run(throttle: &Throttle, run: Option<&RunPacing>, n: usize) {
    for _ in 0..n {
        let sent = throttle.admit(run).await.sent_at;
        throttle.succeeded(sent);
    }
}

/// `n` requests accepted at once, then one refused with a 429 asking for `pause`.
async fn burst_then_429(throttle: &Throttle, n: usize, pause: Duration) {
    burst_then_429_in_run(throttle, None, n, pause).await;
}

/// [`burst_then_429`] for the calls of a bulk run paced as `run` says.
async fn burst_then_429_in_run(
    throttle: &Throttle,
    run: Option<&RunPacing>,
    n: usize,
    pause: Duration,
) {
    accept_in_run(throttle, run, n).await;
    let sent = throttle.admit(run).await.sent_at;
    throttle.throttled(sent, Some(pause));
}

/// The rate the pacer settled on (the next admission settles a pending episode).
async fn learnt_rate(throttle: &Throttle) -> f64 {
    drop(throttle.admit(None).await);
    throttle.pacer_state().rate.unwrap_or(0.0)
}

/// On a fresh throttle: bursts accepted at once, each ended by a 429 asking for `pause`;
/// then how long `n` more take to be accepted, from the end of the last pause.
async fn after_bursts(bursts: &[usize], pause: Duration, n: usize) -> Duration {
    let throttle = Throttle::default();
    for &got in bursts {
        burst_then_429(&throttle, got, pause).await;
    }
    let reopened = Instant::now() + pause;
    accept_at_once(&throttle, n).await;
    Instant::now().saturating_duration_since(reopened)
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_every_waiter_and_is_never_shortened() {
    let throttle = Throttle::default();
    let start = Instant::now();
    throttle.admit(None).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    throttle.pause(S(5));
    throttle.pause(S(2));
    throttle.admit(None).await;
    assert_eq!(start.elapsed(), S(5));
}

#[tokio::test(start_paused = true)]
async fn a_huge_pause_from_the_wire_is_bounded_and_never_panics() {
    let throttle = Throttle::default();
    let start = Instant::now();
    // `Retry-After: 18446744073709551615` and a policy whose cap is `Duration::MAX`.
    let sent = throttle.admit(None).await.sent_at;
    throttle.throttled(sent, Some(Duration::MAX));
    throttle.pause(Duration::MAX);
    throttle.pause(S(u64::MAX));
    throttle.admit(None).await;
    assert_eq!(start.elapsed(), MAX_PAUSE);
}

#[tokio::test(start_paused = true)]
async fn extreme_stated_limits_never_panic() {
    for (rate, burst) in [
        (f64::MAX, f64::MAX),
        (f64::MIN_POSITIVE, 0.0),
        (0.0, 1.0),
        (1e-300, 1e300),
    ] {
        let throttle = Throttle::default();
        let run = RunPacing::Adaptive {
            hint: Some((rate, burst)),
            left: None,
        };
        let sent = throttle.admit(Some(&run)).await.sent_at;
        throttle.succeeded(sent);
        throttle.throttled(sent, None);
        let bucket = Bucket::new(rate, burst);
        assert!(bucket.rate.is_finite() && bucket.burst >= 1.0);
    }
}

#[tokio::test(start_paused = true)]
async fn unpaced_until_the_first_429() {
    let throttle = Throttle::default();
    let start = Instant::now();
    accept_at_once(&throttle, 1000).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(throttle.pacer_state().rate, None);
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_then_paces_at_what_the_cycle_sustained() {
    // 10 per second for 5 s, then a 429 asking for 1 s: not a burst (the episode was
    // longer than its pause), so the pacer resumes at the rate the cycle sustained.
    let throttle = Throttle::default();
    for _ in 0..50 {
        let sent = throttle.admit(None).await.sent_at;
        throttle.succeeded(sent);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = throttle.admit(None).await.sent_at;
    throttle.throttled(sent, Some(S(1)));
    // Answers to requests sent before the 429 still count for that episode.
    throttle.throttled(sent, Some(S(1)));
    let start = Instant::now();
    throttle.admit(None).await;
    assert_eq!(start.elapsed(), S(1), "the gate");
    let rate = throttle.pacer_state().rate.unwrap();
    assert!(
        (rate - 50.0 / 6.0).abs() < 0.01,
        "50 over a 6 s cycle: {rate}"
    );
    // No burst was ever seen (the server took these paced), so none is sent: slots are
    // spaced by the rate (which grows while the pacer is what holds calls back).
    for _ in 0..4 {
        throttle.admit(None).await;
    }
    let paced = Instant::now() - start - S(1);
    assert!(
        paced > Duration::from_millis(350) && paced < Duration::from_millis(520),
        "{paced:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_asking_for_no_pause_teaches_nothing() {
    let throttle = Throttle::default();
    for _ in 0..100 {
        let sent = throttle.admit(None).await.sent_at;
        throttle.throttled(sent, Some(Duration::ZERO));
    }
    assert_eq!(throttle.pacer_state().rate, None);
}

#[tokio::test(start_paused = true)]
async fn fixed_pacing_ignores_what_it_learns_and_off_only_waits_for_the_gate() {
    let throttle = Throttle::default();
    let fixed = RunPacing::Fixed(Mutex::new(Bucket::new(10.0, 1.0)));
    let start = Instant::now();
    for _ in 0..11 {
        throttle.admit(Some(&fixed)).await;
    }
    assert_eq!(start.elapsed(), S(1));
    let off = RunPacing::Off;
    let sent = throttle.admit(None).await.sent_at;
    throttle.throttled(sent, Some(S(3)));
    let start = Instant::now();
    for _ in 0..100 {
        throttle.admit(Some(&off)).await;
    }
    assert_eq!(start.elapsed(), S(3), "the gate, and nothing else");
}

// Mutants of `Throttle::try_admit` that the library's tests and the bulk, retry and hardening
// tests let through (cargo mutants, session 12); each test names the one it kills.

#[tokio::test(start_paused = true)]
async fn off_ignores_a_rate_the_pacer_learnt() {
    // Kills: delete match arm `Some(RunPacing::Off)` (an `Off` run would be paced at the rate
    // the client learnt from the calls before it).
    let throttle = Throttle::default();
    burst_then_429(&throttle, 10, S(1)).await;
    let rate = learnt_rate(&throttle).await;
    assert!(rate < 50.0, "learnt {rate} a second");
    let start = Instant::now();
    for _ in 0..100 {
        throttle.admit(Some(&RunPacing::Off)).await;
    }
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "only the gate holds an Off run"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fixed_run_waits_behind_the_probe() {
    // Kills: match guard `pacer.probing.probe.is_none()` → `true` (a fixed rate would keep
    // sending while the probe of a 429 without `Retry-After` is out).
    let throttle = Throttle::default();
    let fixed = RunPacing::Fixed(Mutex::new(Bucket::new(100.0, 100.0)));
    let sent = throttle.admit(Some(&fixed)).await.sent_at;
    throttle.throttled(sent, None);
    let probe = throttle.admit(Some(&fixed)).await;
    let next = tokio::time::timeout(Duration::from_millis(500), throttle.admit(Some(&fixed)));
    assert!(next.await.is_err(), "nothing goes while the probe is out");
    drop(probe);
}

#[tokio::test(start_paused = true)]
async fn a_stated_limit_seeds_the_pacer_below_it() {
    // A stated limit paces from the first call: after a burst of 5 at 5 a second, the sixth
    // waits for one token at 5 × 0.97 a second (0.206 s). (It does not kill `*` → `+` in the
    // seed: the pacer's growth sets the bucket's rate from the estimate before the first wait;
    // TESTING.md, "Survivors judged harmless".)
    let throttle = Throttle::default();
    let run = RunPacing::Adaptive {
        hint: Some((5.0, 5.0)),
        left: None,
    };
    accept_in_run(&throttle, Some(&run), 5).await;
    let start = Instant::now();
    accept_in_run(&throttle, Some(&run), 1).await;
    let took = start.elapsed();
    assert!(
        (Duration::from_millis(190)..=Duration::from_millis(230)).contains(&took),
        "the sixth after {took:?}"
    );
}
