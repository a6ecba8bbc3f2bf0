//! The pacer's episodes: from the moment successes resume after a pause to the next 429. It
//! counts what each episode got and, when one settles, asks each mechanism what that says.

use std::time::Duration;

use tokio::time::Instant;

use super::bucket::Bucket;
use super::concurrency::{self, ConcurrencyCap};
use super::probing::Probing;
use super::rate::{self, RateEstimate};
use super::shared::{Pending, Wait, later};
use super::tuning::*;
use super::windows::{Resumed, Windows};

/// What the pacer has learnt (docs/pacer.md); each mechanism owns its part.
#[derive(Debug, Default)]
pub(super) struct Pacer {
    /// `None` until the first 429 (or a stated limit): unpaced.
    pub(super) bucket: Option<Bucket>,
    pub(super) estimate: RateEstimate,
    pub(super) cap: ConcurrencyCap,
    pub(super) probing: Probing,
    pub(super) windows: Windows,
    /// The current episode: since when, and the successes sent in it.
    pub(super) episode_start: Option<Instant>,
    pub(super) successes: u32,
    /// A 429 whose episode is not settled yet.
    pub(super) pending: Option<Pending>,
    /// Episodes settled so far.
    pub(super) cycles: u32,
    /// When the request refused at the end of the last settled episode went out.
    last_refusal: Option<Instant>,
}

impl Pacer {
    /// `None`: send now. `Some(wait)`: not yet; ask again then.
    pub(super) fn try_admit(
        &mut self,
        now: Instant,
        in_flight: u32,
        left: Option<usize>,
    ) -> Option<Wait> {
        if let Some(probe) = &mut self.probing.probe {
            return probe.admit(now);
        }
        if let Some(resume_at) = self.pending.and_then(|p| p.resume_at)
            && now >= resume_at
        {
            self.settle(resume_at);
        }
        self.episode_start.get_or_insert(now);
        if self
            .windows
            .finishes_in_window(self.pending.is_some(), self.successes, left)
        {
            return None;
        }
        if self.windows.extending {
            if self.may_extend(in_flight) {
                return self.windows.extend(now, in_flight, left);
            }
            self.windows.extending = false;
        }
        let bucket = self.bucket.as_mut()?;
        bucket.refill(now);
        if bucket.tokens < 2.0 && self.pending.is_none() {
            self.estimate.grow(now, bucket);
        }
        self.estimate.grown_until = Some(now);
        match bucket.take(now) {
            None => {
                if self.windows.burst_over && self.windows.after_burst.is_none() {
                    self.windows.after_burst = Some(now);
                }
                None
            }
            Some(at) => {
                self.windows.burst_over = true;
                if self.may_extend(in_flight) {
                    return self.windows.extend(now, in_flight, left);
                }
                Some(Wait::Until(at))
            }
        }
    }

    /// Counts a success; `true` when it ends probing (the gate may reopen).
    pub(super) fn succeeded(&mut self, sent_at: Instant, now: Instant) -> bool {
        if self
            .windows
            .after_burst
            .is_some_and(|first| sent_at >= first)
        {
            // The server gave more than the burst: not a window.
            self.windows.beyond_burst = true;
            self.windows.window_like = false;
        }
        if self.episode_start.is_none_or(|start| sent_at >= start)
            && self.pending.is_none_or(|p| sent_at <= p.sent)
        {
            self.successes += 1;
        }
        let Some(pending) = &mut self.pending else {
            return false;
        };
        if concurrency::was_in_service(pending, sent_at, now) {
            pending.in_service += 1;
        }
        let pending = *pending;
        self.probe_accepted(pending, sent_at, now)
    }

    /// Takes a 429 into account; returns until when the gate closes.
    pub(super) fn throttled(
        &mut self,
        sent_at: Instant,
        now: Instant,
        retry_after: Option<Duration>,
    ) -> Option<Instant> {
        let stale = self.episode_start.is_some_and(|start| sent_at < start);
        if self.probing.probe.is_some() {
            return self
                .probing
                .refused(&mut self.pending, sent_at, now, retry_after);
        }
        // Answers to requests sent before this episode belong to an event already counted.
        if stale {
            return retry_after.map(|pause| later(now, pause));
        }
        // More refusals of the episode: each says when the server reopens, rounded up (to whole
        // seconds, in either form), so the earliest is the closest (docs/pacer.md).
        if let Some(pending) = &mut self.pending {
            let until = retry_after.map(|pause| later(now, pause));
            return match (pending.resume_at, until) {
                (Some(at), Some(until)) if until >= at => None,
                _ => {
                    pending.resume_at = until.or(pending.resume_at);
                    until
                }
            };
        }
        if self
            .windows
            .after_burst
            .is_some_and(|first| sent_at >= first)
        {
            // A paced request refused: the pacer overshot at this rate.
            self.estimate.ceiling = Some(self.estimate.rate);
            // Nothing beyond the burst was accepted: the server counts in windows.
            self.windows.window_like |= !self.windows.beyond_burst;
        }
        let resume_at = retry_after.map(|pause| later(now, pause));
        self.pending = Some(Pending {
            sent: sent_at,
            answered: now,
            resume_at,
            in_service: 0,
        });
        if resume_at.is_some() {
            return resume_at;
        }
        // No hint: probe.
        Some(self.probing.start(now))
    }

    /// Ends the pending episode when successes can resume at `resume`: new estimates, a new
    /// episode.
    pub(super) fn settle(&mut self, resume: Instant) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        self.probing.probe = None;
        let start = self.episode_start.unwrap_or(pending.sent);
        let episode = pending.sent.saturating_duration_since(start).as_secs_f64();
        let pause = resume.saturating_duration_since(pending.sent).as_secs_f64();
        let got = f64::from(self.successes);
        let last_refusal = self.last_refusal.replace(pending.sent);
        if pending.in_service >= 2 {
            // Requests sent before the refusal were accepted after it: they were being served.
            // A cap on concurrent requests, not on the rate: keep that many in flight.
            self.cap.set(pending.in_service);
        } else if self.successes > 0 && episode + pause > 0.0 {
            // What the server gave between the refusal before and this one, only after a stated
            // pause (docs/pacer.md, "Rate"); the first episode has no refusal before it.
            let since_refusal = last_refusal
                .filter(|_| pending.resume_at.is_some())
                .map_or(episode + pause, |before| {
                    pending.sent.saturating_duration_since(before).as_secs_f64()
                });
            self.windows.settled(got, episode <= pause);
            let burst_before = self.bucket.as_ref().map_or(got, |b| b.burst);
            let estimate = rate::measured(got, episode, pause, since_refusal, burst_before);
            self.estimate.rate = estimate;
            *self.bucket.get_or_insert_with(|| Bucket::new(1.0, 1.0)) =
                Bucket::new(estimate * HOLD_SHARE, self.windows.capacity);
            tracing::debug!(
                rate_per_s = estimate,
                capacity = self.windows.capacity,
                successes = got,
                episode_s = episode,
                pause_s = pause,
                "pacer settled after a 429"
            );
        }
        self.resume(&pending, resume, pause, got);
        self.windows.restart();
        self.cycles = self.cycles.wrapping_add(1);
        self.episode_start = Some(resume);
        self.estimate.grown_until = Some(resume);
        self.successes = 0;
    }

    /// When the first episode began, while none has settled (see
    /// [`Probing::note_reopening`]).
    pub(super) fn first_start(&self) -> Option<Instant> {
        (self.cycles == 0).then_some(self.episode_start).flatten()
    }

    /// Whether the burst goes on unpaced now (see [`Windows::extend`]).
    fn may_extend(&self, in_flight: u32) -> bool {
        self.windows.may_extend(
            self.cycles,
            self.successes,
            in_flight,
            self.pending.is_some(),
        )
    }

    /// A success of `pending`'s episode while probing (see [`Probing::accepted`]); `true` when
    /// it ended the probing and settled the episode.
    fn probe_accepted(&mut self, pending: Pending, sent_at: Instant, now: Instant) -> bool {
        let first_start = self.first_start();
        if !self.probing.accepted(&pending, sent_at, first_start) {
            return false;
        }
        self.settle(sent_at.max(pending.sent).min(now));
        // The probe is the new episode's first success, and it used what the server had
        // refilled by then: without this, the next request went out at once and was refused,
        // one 429 per success on a bucket without `Retry-After`.
        self.successes = 1;
        if let Some(bucket) = &mut self.bucket {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
        }
        true
    }

    /// The pause of `pending` ends at `resume` (`pause` seconds after the refusal was sent; the
    /// episode got `got`): a stated pause tells probing where the server reopened, and the
    /// windows decide what the pacer resumes with (see [`Windows::resume`]).
    fn resume(&mut self, pending: &Pending, resume: Instant, pause: f64, got: f64) {
        let told = pending.resume_at.is_some();
        if told {
            let after = resume.checked_sub(HINT_RESOLUTION).unwrap_or(resume);
            let first_start = self.first_start();
            self.probing
                .note_reopening(after.max(pending.answered), resume, first_start);
        }
        // A reopening the period foretold counts once, when there is a rate to resume at.
        let known = self.bucket.is_some() && (told || std::mem::take(&mut self.probing.foreseen));
        let resumed = Resumed {
            at: resume,
            pause,
            got,
            tokens: self.estimate.rate * pause,
            told,
            known,
            first: self.cycles == 0,
        };
        self.windows.resume(self.bucket.as_mut(), resumed);
    }
}
