//! Reopened windows: after a stated pause that refilled most of the capacity, a part of the last
//! burst goes at full speed and the rest a few at a time until the 429, so apps of one tenant
//! split a shared window evenly. Also what tells a window from a bucket (nothing accepted beyond
//! a burst) and the burst sizes both rely on.

use tokio::time::Instant;

use super::bucket::Bucket;
use super::shared::Wait;
use super::tuning::*;

/// What the pacer knows of the server's bursts and windows, and the extension under way.
#[derive(Debug, Default)]
pub(super) struct Windows {
    /// The episode's burst (the tokens it resumed with) is used up.
    pub(super) burst_over: bool,
    /// When the first request after the burst went out, and whether any such was accepted.
    pub(super) after_burst: Option<Instant>,
    pub(super) beyond_burst: bool,
    /// The server accepted nothing beyond a burst last time (a window, not a bucket).
    pub(super) window_like: bool,
    /// The episode resumed with the whole capacity (a window reopened, a bucket refilled).
    full_resume: bool,
    /// The last episode was a burst: shorter than the pause after it.
    burst_cycle: bool,
    /// An episode got far more than a burst: the server refills over time (not a window).
    refills: bool,
    /// Extending the burst at a few requests in flight (see [`Windows::extend`]).
    pub(super) extending: bool,
    /// The rate of the rest after a reopened window's full-speed part (see [`Windows::extend`]).
    extend_pace: Option<Bucket>,
    /// What bursts got lately (the server's capacity, as far as seen).
    pub(super) capacity: f64,
}

impl Windows {
    /// An episode of `got` successes settled; `burst`: it was shorter than the pause after it.
    pub(super) fn settled(&mut self, got: f64, burst: bool) {
        self.burst_cycle = burst;
        // Far more than a burst in one episode: the server refills over time (a bucket).
        self.refills |= !burst && got > 2.0 * self.capacity.max(1.0);
        // What a burst gets can shrink (apps of one tenant share a window), so the capacity
        // follows recent bursts halfway instead of keeping the largest ever.
        if self.burst_cycle {
            self.capacity = got.max(0.5 * (self.capacity + got));
        }
    }

    /// Whether the run's items not yet done fit in what this app got of a window lately, in a
    /// window that reopened: then they all go at full speed (a run with no later window gains
    /// nothing from sharing this one evenly). Within the requests in flight beyond the capacity
    /// when a window's 429 comes anyway. `successes`: the episode's so far.
    pub(super) fn finishes_in_window(&self, successes: u32, left: Option<usize>) -> bool {
        let slack = f64::from(EXTEND_IN_FLIGHT);
        self.full_resume
            && left.is_some_and(|left| left as f64 + f64::from(successes) <= self.capacity + slack)
    }

    /// Whether the burst goes on unpaced now (see [`extend`](Self::extend)); `cycles`: the
    /// episodes settled so far, `asked`: the episode's successes and requests in flight.
    pub(super) fn may_extend(&self, cycles: u32, asked: u32) -> bool {
        // A window gives nothing beyond its burst: ask at once, so that the 429 (and a pause
        // hint rounded up to whole seconds) comes as early as it can; so does a reopened window
        // shared with other apps. Every few cycles the pacer paces beyond most of the capacity
        // instead, to notice a server that gives more over time (then `refills` ends this).
        let recheck = cycles.is_multiple_of(WINDOW_RECHECK_EVERY);
        (!recheck || f64::from(asked) < RECHECK_SHARE * self.capacity)
            && !self.refills
            && self.after_burst.is_none()
            && (self.window_like || self.full_resume && self.burst_cycle)
    }

    /// After the part of a burst sent at full speed, the burst goes on with `EXTEND_IN_FLIGHT`
    /// requests in flight until the 429 (after a reopened window, at most `EXTEND_RATE` a second
    /// from the reopening, catching up a little after a late start).
    pub(super) fn extend(
        &mut self,
        now: Instant,
        in_flight: u32,
        left: Option<usize>,
    ) -> Option<Wait> {
        self.extending = true;
        // Counted by the requests in flight, not by answers: a request that fails or is
        // cancelled frees its place too.
        if in_flight >= EXTEND_IN_FLIGHT {
            return Some(Wait::Slot);
        }
        // The rate weighs the windows the run still needs at its share (a scale every app of a
        // tenant shares): one that fell behind takes more of each rest, until they need as many.
        let capacity = self.capacity.max(1.0);
        let windows_left = left.map_or(CATCH_UP_WINDOWS, |left| left as f64 / capacity);
        let pace = self.extend_pace.as_mut()?;
        pace.rate = EXTEND_RATE * (windows_left / CATCH_UP_WINDOWS).clamp(0.25, 1.0);
        pace.take(now).map(Wait::Until)
    }

    /// Whether a pause of `pause` seconds (`told`: stated) that refilled `refilled` at the
    /// pacer's rate reopened a window: it refilled a good part of the capacity (docs/pacer.md).
    /// Asked only about a pause whose end every app of the tenant knows.
    pub(super) fn reopened(&self, pause: f64, refilled: f64, told: bool) -> bool {
        let share = if told && pause >= LONG_PAUSE {
            LONG_PAUSE_REFILLED_SHARE
        } else {
            REFILLED_SHARE
        };
        self.capacity > 1.0 && refilled >= share * self.capacity
    }

    /// A pause ends at `at` and a new episode begins: after a reopened window, a part of the
    /// last burst (`got`) goes at full speed (returned), the rest as [`extend`](Self::extend)
    /// says.
    pub(super) fn resume(&mut self, at: Instant, reopened: bool, got: f64) -> Option<f64> {
        self.extending = false;
        self.burst_over = false;
        self.after_burst = None;
        self.beyond_burst = false;
        self.full_resume = reopened;
        // Counted from the reopening, not from this app's first request after it: an app that
        // starts late (its wake-up, its first answers) catches up a little.
        self.extend_pace = reopened.then(|| Bucket {
            tokens: 0.0,
            at: Some(at),
            ..Bucket::new(EXTEND_RATE, EXTEND_BURST)
        });
        reopened.then(|| (FULL_SPEED_SHARE * got).max(1.0))
    }
}
