//! Every constant of the gate and the pacer, in one place. `docs/pacer.md` says where each value
//! came from.

use std::time::Duration;

/// The pacer's constants; [`TUNING`] holds the values in use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tuning {
    /// Growth of the learnt rate per second while the pacer holds calls back, far below the ceiling:
    /// a low estimate heals within a second or two.
    pub(crate) ramp_per_s: f64,
    /// The same near the ceiling: each overshoot there would cost a 429.
    pub(crate) growth_per_s: f64,
    /// Below this share of the rate last refused, the rate ramps; above it, it grows slowly.
    pub(crate) near_ceiling: f64,
    /// Episodes shorter than this (seconds) measure no sustained rate.
    pub(crate) min_episode: f64,
    /// A success this much slower than twice a 429 was being served: a concurrency cap.
    pub(crate) in_service_after: Duration,
    /// The concurrency cap grows by one after this many caps' worth of successes.
    pub(crate) cap_growth_after: f64,
    /// A stated pause after a burst refilling this share of the capacity reopened a window.
    pub(crate) refilled_share: f64,
    /// The same after a pause of `long_pause` or more: a window's rest, not a bucket's refill.
    pub(crate) long_pause_refilled_share: f64,
    /// A stated pause at least this long (seconds) is a window's rest.
    pub(crate) long_pause: f64,
    /// After probing, a pause refilling this share of the capacity refilled all of it.
    pub(crate) probed_refill_share: f64,
    /// Share of the last burst sent at full speed after a reopening: small, so an unequal split
    /// between apps carries little into the next window.
    pub(crate) full_speed_share: f64,
    /// Requests in flight while a burst goes on beyond the learnt capacity: the 429 refuses few.
    pub(crate) extend_in_flight: u32,
    /// Most requests a second after a reopened window's full-speed part, from the reopening.
    pub(crate) extend_rate: f64,
    /// A run needing this many windows at its share (or more) goes at `extend_rate`; fewer, slower.
    pub(crate) catch_up_windows: f64,
    /// Requests the paced rest may send at once after falling behind its rate.
    pub(crate) extend_burst: f64,
    /// On a recheck cycle, the share of the capacity asked for before pacing.
    pub(crate) recheck_share: f64,
    /// A window-like server is paced as a bucket every this many cycles, to notice a change.
    pub(crate) window_recheck_every: u32,
    /// Paced rate, as a share of the estimate: a margin below what the server sustained.
    pub(crate) hold_share: f64,
    /// The lowest rate the pacer uses (its arithmetic stays finite).
    pub(crate) min_rate: f64,
    /// The highest rate (and burst) the pacer uses.
    pub(crate) max_rate: f64,
    /// The first probe delay after a 429 without `Retry-After`; no jitter, so apps of a tenant
    /// probe together.
    pub(crate) first_probe: Duration,
    /// The shortest probe step.
    pub(crate) min_probe_step: Duration,
    /// The longest probe step; also when a probe without an answer counts as lost.
    pub(crate) max_probe_step: Duration,
    /// A pause hint is rounded up to whole seconds: the server reopened within this before it.
    pub(crate) hint_resolution: Duration,
    /// Growth of the probe step after a failed probe: 1.5 keeps a probe at most a third late.
    pub(crate) probe_backoff: f64,
    /// Waiters recheck the pacer at least this often, so a rate change reaches them quickly.
    pub(crate) recheck: Duration,
    /// The longest the gate closes for one 429: a huge `Retry-After` neither overflows nor hangs.
    pub(crate) max_pause: Duration,
}

/// The values in use.
pub(crate) const TUNING: Tuning = Tuning {
    ramp_per_s: 1.0,
    growth_per_s: 0.003,
    near_ceiling: 0.9,
    min_episode: 0.25,
    in_service_after: Duration::from_millis(10),
    cap_growth_after: 100.0,
    refilled_share: 0.75,
    long_pause_refilled_share: 0.5,
    long_pause: 5.0,
    probed_refill_share: 0.9,
    full_speed_share: 0.25,
    extend_in_flight: 2,
    extend_rate: 4000.0,
    catch_up_windows: 8.0,
    extend_burst: 8.0,
    recheck_share: 0.8,
    window_recheck_every: 4,
    hold_share: 0.97,
    min_rate: 0.01,
    max_rate: 1e6,
    first_probe: Duration::from_millis(50),
    min_probe_step: Duration::from_millis(5),
    max_probe_step: Duration::from_secs(2),
    hint_resolution: Duration::from_secs(1),
    probe_backoff: 1.5,
    recheck: Duration::from_millis(20),
    max_pause: Duration::from_secs(3600),
};

impl Default for Tuning {
    fn default() -> Self {
        TUNING
    }
}
