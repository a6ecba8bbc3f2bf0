//! The pacer's episodes: from the moment successes resume after a pause to the next 429. It
//! counts what each episode got and, when one settles, asks each mechanism what that says.

use tokio::time::Instant;

use super::bucket::Bucket;
use super::concurrency::{self, ConcurrencyCap};
use super::probing::Probing;
use super::rate::{self, RateEstimate};
use super::shared::{Pending, Wait, secs};
use super::tuning::*;
use super::windows::Windows;

/// What the pacer has learnt (docs/pacer.md); each mechanism owns its part.
#[derive(Debug, Default)]
pub(super) struct Pacer {
    /// `None` until the first 429 (or a stated limit): unpaced.
    pub(super) bucket: Option<Bucket>,
    pub(super) estimate: RateEstimate,
    pub(super) cap: ConcurrencyCap,
    pub(super) probing: Probing,
    pub(super) windows: Windows,
    /// Attempts admitted and not yet answered (by the gate, whatever paces them).
    pub(super) in_flight: u32,
    /// The current episode: since when, and the successes sent in it.
    episode_start: Option<Instant>,
    successes: u32,
    /// A 429 whose episode is not settled yet.
    pending: Option<Pending>,
    /// Episodes settled so far.
    cycles: u32,
    /// When the request refused at the end of the last settled episode went out.
    last_refusal: Option<Instant>,
}

impl Pacer {
    /// `None`: send now. `Some(wait)`: not yet; ask again then. `left`: the run's items not yet
    /// done, when it knows.
    pub(super) fn try_admit(&mut self, now: Instant, left: Option<usize>) -> Option<Wait> {
        if let Some(probe) = &mut self.probing.probe {
            return probe.admit(now);
        }
        if let Some(pending) = self.pending
            && let Some(resume_at) = pending.resume_at
            && now >= resume_at
        {
            self.settle(pending, resume_at);
        }
        self.episode_start.get_or_insert(now);
        // While a 429 of the episode is not settled, the burst is over and nothing goes unpaced.
        let open = self.pending.is_none();
        if open && self.windows.finishes_in_window(self.successes, left) {
            return None;
        }
        let asked = self.successes.saturating_add(self.in_flight);
        let may_extend = open && self.windows.may_extend(self.cycles, asked);
        self.windows.extending &= may_extend;
        if !self.windows.extending {
            let bucket = self.bucket.as_mut()?;
            bucket.refill(now);
            if bucket.tokens < 2.0 && open {
                self.estimate.grow(now, bucket);
            }
            self.estimate.grown_until = Some(now);
            let Some(at) = bucket.take(now) else {
                if self.windows.burst_over {
                    self.windows.after_burst.get_or_insert(now);
                }
                return None;
            };
            self.windows.burst_over = true;
            if !may_extend {
                return Some(Wait::Until(at));
            }
        }
        // Extending the burst, or it just ran out and goes on unpaced.
        self.windows.extend(now, self.in_flight, left)
    }

    /// Counts a success; `true` when it ends probing (the gate may reopen).
    pub(super) fn succeeded(&mut self, sent_at: Instant, now: Instant) -> bool {
        if self.windows.after_burst.is_some_and(|at| sent_at >= at) {
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
        pending.in_service += u32::from(concurrency::was_in_service(pending, sent_at, now));
        let pending = *pending;
        let Some(found) = self.probing.accepted(&pending, sent_at) else {
            return false;
        };
        self.probing.note_reopening(found, self.episode_start);
        self.settle(pending, sent_at.max(pending.sent).min(now));
        // The probe is the new episode's first success, and it used what the server had
        // refilled by then: without this, the next request went out at once and was refused,
        // one 429 per success on a bucket without `Retry-After`.
        self.successes = 1;
        if let Some(bucket) = &mut self.bucket {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
        }
        true
    }

    /// Takes a 429 into account (`until`: the end of the pause it asked for); returns until when
    /// the gate closes.
    pub(super) fn throttled(
        &mut self,
        sent_at: Instant,
        now: Instant,
        until: Option<Instant>,
    ) -> Option<Instant> {
        if self.probing.probe.is_some() {
            return self.probing.refused(&mut self.pending, sent_at, now, until);
        }
        // Answers to requests sent before this episode belong to an event already counted.
        if self.episode_start.is_some_and(|start| sent_at < start) {
            return until;
        }
        // More refusals of the episode: each says when the server reopens, rounded up (to whole
        // seconds, in either form), so the earliest is the closest (docs/pacer.md).
        if let Some(pending) = &mut self.pending {
            let earlier = until.filter(|&until| pending.resume_at.is_none_or(|at| until < at));
            pending.resume_at = earlier.or(pending.resume_at);
            return earlier;
        }
        if self.windows.after_burst.is_some_and(|at| sent_at >= at) {
            // A paced request refused: the pacer overshot at this rate.
            self.estimate.ceiling = Some(self.estimate.rate);
            // Nothing beyond the burst was accepted: the server counts in windows.
            self.windows.window_like |= !self.windows.beyond_burst;
        }
        self.pending = Some(Pending {
            sent: sent_at,
            answered: now,
            resume_at: until,
            in_service: 0,
        });
        // No hint: probe.
        Some(until.unwrap_or_else(|| self.probing.start(now)))
    }

    /// Ends `pending`'s episode (the pending one) when successes can resume at `resume`: new
    /// estimates, a new episode.
    fn settle(&mut self, pending: Pending, resume: Instant) {
        self.pending = None;
        self.probing.probe = None;
        let sent = pending.sent;
        let episode = secs(self.episode_start.unwrap_or(sent), sent);
        let pause = secs(sent, resume);
        let got = f64::from(self.successes);
        let told = pending.resume_at.is_some();
        let last_refusal = self.last_refusal.replace(sent).filter(|_| told);
        if pending.in_service >= 2 {
            // Requests sent before the refusal were accepted after it: they were being served.
            // A cap on concurrent requests, not on the rate: keep that many in flight.
            self.cap.set(pending.in_service);
        } else if self.successes > 0 && episode + pause > 0.0 {
            // What the server gave between the refusal before and this one, when shorter, only
            // after a stated pause (docs/pacer.md, "Rate"); the first episode has none before it.
            let since_refusal = last_refusal.map_or(episode + pause, |at| secs(at, sent));
            self.windows.settled(got, episode <= pause);
            let burst_before = self.bucket.as_ref().map_or(got, |b| b.burst);
            // A paced episode (longer than its pause) drained a bucket at both refusals: what
            // it got is what the server refilled since the refusal before (`paced-episode`).
            let paced = episode > pause;
            let cycle = if paced {
                since_refusal
            } else {
                since_refusal.min(episode + pause)
            };
            self.estimate.rate = rate::measured(got, episode, cycle, burst_before);
            let capacity = self.windows.capacity;
            self.bucket = Some(Bucket::new(self.estimate.rate * HOLD_SHARE, capacity));
            tracing::debug!(
                rate_per_s = self.estimate.rate,
                capacity,
                successes = got,
                episode_s = episode,
                pause_s = pause,
                "pacer settled after a 429"
            );
        }
        // A stated pause tells probing where the server reopened.
        if told {
            let after = resume.checked_sub(HINT_RESOLUTION).unwrap_or(resume);
            let found = (after.max(pending.answered), resume);
            self.probing.note_reopening(found, self.episode_start);
        }
        self.resume(resume, pause, got, told);
        self.cycles = self.cycles.wrapping_add(1);
        self.episode_start = Some(resume);
        self.estimate.grown_until = Some(resume);
        self.successes = 0;
    }

    /// What the bucket resumes with after a pause of `pause` seconds ending at `resume` (`told`:
    /// stated), after an episode that got `got`: what the pacer's rate refilled meanwhile, all of
    /// it when that is most of the burst, part of the last burst when a window reopened
    /// (docs/pacer.md, "Burst").
    fn resume(&mut self, resume: Instant, pause: f64, got: f64, told: bool) {
        // A reopening the period foretold counts once, when there is a rate to resume at.
        let known = self.bucket.is_some() && (told || std::mem::take(&mut self.probing.foreseen));
        // The first burst says nothing of how the server refills, and a pause shorter than a
        // hint's resolution may be a bucket's refill of a token or two rounded up: the pacer
        // paces from one request instead.
        let first_short_pause = self.cycles == 0 && pause < HINT_RESOLUTION.as_secs_f64();
        let refilled = self.estimate.rate * pause;
        let refilled_window = self.windows.reopened(pause, refilled, told);
        let window_reopened = known && !first_short_pause && refilled_window;
        let full_speed = self.windows.resume(resume, window_reopened, got);
        let Some(bucket) = &mut self.bucket else {
            return;
        };
        let tokens = match full_speed {
            Some(tokens) => tokens,
            None if first_short_pause => 1.0,
            None if refilled >= PROBED_REFILL_SHARE * bucket.burst => bucket.burst,
            None => refilled,
        };
        bucket.tokens = tokens.clamp(1.0, bucket.burst);
        bucket.at = Some(resume);
        tracing::debug!(burst = bucket.tokens, window_reopened, "pacer resumes");
    }
}
