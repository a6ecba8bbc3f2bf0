//! Every constant of the gate and the pacer, in one place. `docs/pacer.md` says where each value
//! came from.

use std::time::Duration;

/// Growth of the learnt rate per second while the pacer holds calls back, far below the ceiling:
/// a low estimate heals within a second or two.
pub(crate) const RAMP_PER_S: f64 = 1.0;
/// The same near the ceiling: each overshoot there would cost a 429.
pub(crate) const GROWTH_PER_S: f64 = 0.003;
/// Below this share of the rate last refused, the rate ramps; above it, it grows slowly.
pub(crate) const NEAR_CEILING: f64 = 0.9;
/// Episodes shorter than this (seconds) measure no sustained rate.
pub(crate) const MIN_EPISODE: f64 = 0.25;
/// A success this much slower than twice a 429 was being served: a concurrency cap.
pub(crate) const IN_SERVICE_AFTER: Duration = Duration::from_millis(10);
/// The concurrency cap grows by one after this many caps' worth of successes.
pub(crate) const CAP_GROWTH_AFTER: f64 = 100.0;
/// A stated pause after a burst refilling this share of the capacity reopened a window.
pub(crate) const REFILLED_SHARE: f64 = 0.75;
/// The same after a pause of `LONG_PAUSE` or more: a window's rest, not a bucket's refill.
pub(crate) const LONG_PAUSE_REFILLED_SHARE: f64 = 0.5;
/// A stated pause at least this long (seconds) is a window's rest.
pub(crate) const LONG_PAUSE: f64 = 5.0;
/// After probing, a pause refilling this share of the capacity refilled all of it.
pub(crate) const PROBED_REFILL_SHARE: f64 = 0.9;
/// Share of the last burst sent at full speed after a reopening: small, so an unequal split
/// between apps carries little into the next window.
pub(crate) const FULL_SPEED_SHARE: f64 = 0.25;
/// Requests in flight while a burst goes on beyond the learnt capacity: the 429 refuses few.
pub(crate) const EXTEND_IN_FLIGHT: u32 = 2;
/// Most requests a second after a reopened window's full-speed part, from the reopening.
pub(crate) const EXTEND_RATE: f64 = 4000.0;
/// A run needing this many windows at its share (or more) goes at `EXTEND_RATE`; fewer, slower.
pub(crate) const CATCH_UP_WINDOWS: f64 = 8.0;
/// Requests the paced rest may send at once after falling behind its rate.
pub(crate) const EXTEND_BURST: f64 = 8.0;
/// On a recheck cycle, the share of the capacity asked for before pacing.
pub(crate) const RECHECK_SHARE: f64 = 0.8;
/// A window-like server is paced as a bucket every this many cycles, to notice a change.
pub(crate) const WINDOW_RECHECK_EVERY: u32 = 4;
/// Paced rate, as a share of the estimate: a margin below what the server sustained.
pub(crate) const HOLD_SHARE: f64 = 0.97;
/// The lowest rate the pacer uses (its arithmetic stays finite).
pub(crate) const MIN_RATE: f64 = 0.01;
/// The highest rate (and burst) the pacer uses.
pub(crate) const MAX_RATE: f64 = 1e6;
/// The first probe delay after a 429 without `Retry-After`; no jitter, so apps of a tenant
/// probe together.
pub(crate) const FIRST_PROBE: Duration = Duration::from_millis(50);
/// The shortest probe step.
pub(crate) const MIN_PROBE_STEP: Duration = Duration::from_millis(5);
/// The longest probe step; also when a probe without an answer counts as lost.
pub(crate) const MAX_PROBE_STEP: Duration = Duration::from_secs(2);
/// A pause hint is rounded up to whole seconds: the server reopened within this before it.
pub(crate) const HINT_RESOLUTION: Duration = Duration::from_secs(1);
/// Growth of the probe step after a failed probe: 1.5 keeps a probe at most a third late.
pub(crate) const PROBE_BACKOFF: f64 = 1.5;
/// Waiters recheck the pacer at least this often, so a rate change reaches them quickly.
pub(crate) const RECHECK: Duration = Duration::from_millis(20);
/// The longest the gate closes for one 429: a huge `Retry-After` neither overflows nor hangs.
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(3600);
