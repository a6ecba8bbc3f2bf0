//! The rate estimate: what the server sustained over a 429 cycle, and its growth while the pacer
//! is what holds calls back.

use tokio::time::Instant;

use super::bucket::Bucket;
use super::shared::secs;
use super::tuning::*;

/// The estimated sustained rate and how it grows.
#[derive(Debug, Default)]
pub(super) struct RateEstimate {
    /// Requests a second (the pacer's bucket paces at `HOLD_SHARE` of it).
    pub(super) rate: f64,
    /// The rate the pacer was pacing at when a paced request was last refused.
    pub(super) ceiling: Option<f64>,
    /// Growth is accounted up to here.
    pub(super) grown_until: Option<Instant>,
}

impl RateEstimate {
    /// At the rate: the pacer is what limits the fleet, so the rate grows, fast below
    /// `NEAR_CEILING` of the ceiling (or before any overshoot), slowly near it.
    pub(super) fn grow(&mut self, now: Instant, bucket: &mut Bucket) {
        let elapsed = self.grown_until.map_or(0.0, |from| secs(from, now));
        let fast = self.ceiling.is_none_or(|c| self.rate < NEAR_CEILING * c);
        let per_s = if fast { RAMP_PER_S } else { GROWTH_PER_S };
        self.rate = (self.rate * (per_s * elapsed).exp()).clamp(MIN_RATE, MAX_RATE);
        bucket.rate = self.rate * HOLD_SHARE;
    }
}

/// What an episode of `episode` seconds that got `got` successes says the server sustains.
/// `cycle`: seconds from the refusal before to this one, or the episode and the pause after it
/// (the shorter: see docs/pacer.md, "Rate"); `burst_before`: the burst the episode resumed with
/// at most.
pub(super) fn measured(got: f64, episode: f64, cycle: f64, burst_before: f64) -> f64 {
    let cycle_rate = got / cycle.max(f64::MIN_POSITIVE);
    // Beyond its burst, the server sustained at least this over the episode itself.
    let sustained = (episode >= MIN_EPISODE).then(|| (got - burst_before) / episode);
    let rate = cycle_rate.max(sustained.unwrap_or(0.0));
    rate.clamp(MIN_RATE, MAX_RATE)
}
