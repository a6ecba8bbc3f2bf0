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
        if !self.burst_cycle && got > 2.0 * self.capacity.max(1.0) {
            self.refills = true;
        }
        // What a burst gets can shrink (apps of one tenant share a window), so the capacity
        // follows recent bursts halfway instead of keeping the largest ever.
        if self.burst_cycle {
            self.capacity = got.max(0.5 * (self.capacity + got));
        }
    }

    /// A new episode begins.
    pub(super) fn restart(&mut self) {
        self.extending = false;
        self.burst_over = false;
        self.after_burst = None;
        self.beyond_burst = false;
    }
}

/// How an episode's pause ended, as the pacer tells it to [`Windows::resume`].
pub(super) struct Resumed {
    /// When successes resume, `pause` seconds after the refusal was sent.
    pub(super) at: Instant,
    pub(super) pause: f64,
    /// The successes of the episode that ended.
    pub(super) got: f64,
    /// What the pacer refilled during the pause, at its rate.
    pub(super) tokens: f64,
    /// The server stated the pause; `known`: stated, or foreseen by the period of its windows.
    pub(super) told: bool,
    pub(super) known: bool,
    /// No episode settled before this one.
    pub(super) first: bool,
}

impl Windows {
    /// Whether the run's items not yet done fit in what this app got of a window lately, in a
    /// window that reopened: then they all go at full speed (a run with no later window gains
    /// nothing from sharing this one evenly). Within the requests in flight beyond the capacity
    /// when a window's 429 comes anyway. `pending`: a 429 of the episode is not settled yet;
    /// `successes`: the episode's so far.
    pub(super) fn finishes_in_window(
        &self,
        pending: bool,
        successes: u32,
        left: Option<usize>,
    ) -> bool {
        let slack = f64::from(EXTEND_IN_FLIGHT);
        self.full_resume
            && !pending
            && left.is_some_and(|left| left as f64 + f64::from(successes) <= self.capacity + slack)
    }

    /// Whether the burst goes on unpaced now (see [`extend`](Self::extend)); `cycles`: the
    /// episodes settled so far.
    pub(super) fn may_extend(
        &self,
        cycles: u32,
        successes: u32,
        in_flight: u32,
        pending: bool,
    ) -> bool {
        // A window gives nothing beyond its burst: ask at once, so that the 429 (and a pause
        // hint rounded up to whole seconds) comes as early as it can; so does a reopened window
        // shared with other apps. Every few cycles the pacer paces beyond most of the capacity
        // instead, to notice a server that gives more over time (then `refills` ends this).
        let recheck = cycles.is_multiple_of(WINDOW_RECHECK_EVERY);
        let asked = f64::from(successes.saturating_add(in_flight));
        (!recheck || asked < RECHECK_SHARE * self.capacity)
            && !self.refills
            && self.after_burst.is_none()
            && !pending
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
        let windows_left = left.map_or(CATCH_UP_WINDOWS, |left| {
            left as f64 / self.capacity.max(1.0)
        });
        let pace = self.extend_pace.as_mut()?;
        pace.rate = EXTEND_RATE * (windows_left / CATCH_UP_WINDOWS).clamp(0.25, 1.0);
        pace.take(now).map(Wait::Until)
    }

    /// A pause ends (see [`Resumed`]): what the pacer's `bucket` resumes with. The server
    /// refilled during the pause, and so does the pacer, at the rate; a pause that refilled a
    /// good part of the capacity, at a moment every app of the tenant knows, reopened a window
    /// (docs/pacer.md).
    pub(super) fn resume(&mut self, bucket: Option<&mut Bucket>, r: Resumed) {
        self.full_resume = false;
        let Some(bucket) = bucket else {
            return;
        };
        let mut tokens = r.tokens;
        let w = self;
        w.extend_pace = None;
        let refilled = if r.told && r.pause >= LONG_PAUSE {
            LONG_PAUSE_REFILLED_SHARE
        } else {
            REFILLED_SHARE
        };
        // The first burst says nothing of how the server refills, and a pause shorter than a
        // hint's resolution may be a bucket's refill of a token or two rounded up: the pacer
        // paces from one request instead.
        let first_short_pause = r.first && r.pause < HINT_RESOLUTION.as_secs_f64();
        if first_short_pause {
            tokens = 1.0;
        } else if r.known && w.capacity > 1.0 && tokens >= refilled * w.capacity {
            w.full_resume = true;
            tokens = (FULL_SPEED_SHARE * r.got).max(1.0);
            // Counted from the reopening, not from this app's first request after it: an app
            // that starts late (its wake-up, its first answers) catches up a little.
            let mut pace = Bucket::new(EXTEND_RATE, EXTEND_BURST);
            pace.tokens = 0.0;
            pace.at = Some(r.at);
            w.extend_pace = Some(pace);
        } else if tokens >= PROBED_REFILL_SHARE * bucket.burst {
            tokens = bucket.burst;
        }
        bucket.tokens = tokens.clamp(1.0, bucket.burst);
        bucket.at = Some(r.at);
        tracing::debug!(
            burst = bucket.tokens,
            window_reopened = w.full_resume,
            "pacer resumes"
        );
    }
}
