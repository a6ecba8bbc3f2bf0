//! Probing after a 429 without `Retry-After`: one probe at a time, each failed probe waiting
//! longer, the first success ending it. Where the server reopened is remembered as an offset from
//! the 429 and as instants (the period of a fixed window), to probe there first next time.

use std::time::Duration;

use tokio::time::Instant;

use super::shared::{Pending, Wait, later, secs};
use super::tuning::*;

/// What probing has learnt, and the probing under way.
#[derive(Debug, Default)]
pub(super) struct Probing {
    /// Probing after a 429 without `Retry-After`.
    pub(super) probe: Option<Probe>,
    /// Learnt from earlier probing, as offsets from a 429: the server was still closed at the
    /// first (the last refused probe), open again at the second (the first accepted one).
    recovery: Option<(Duration, Duration)>,
    /// The last reopening: after the first instant, by the second (found by probing, or
    /// stated to the second).
    reopened: Option<(Instant, Instant)>,
    /// The probing that just ended found the server open when the period said it would be.
    pub(super) foreseen: bool,
    /// The earliest reopening found that the period learnt since agrees with.
    anchor: Option<(Instant, Instant)>,
    /// The time between two reopenings, as far as they pin it down: more than the first, at
    /// most the second (a fixed window's width).
    period: Option<(Duration, Duration)>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Probe {
    /// The next probe goes out then, once the last one is answered.
    next: Instant,
    step: Duration,
    /// When the last probe went out.
    sent: Option<Instant>,
    /// The last probe, while it has no answer: one probe at a time, whatever the latency (see
    /// docs/pacer.md). A probe that never gets an answer (the request failed) is followed by
    /// another one `MAX_PROBE_STEP` later.
    awaiting: Option<Instant>,
    /// Until then the server is expected to reopen: the step stays as it is.
    steady_until: Option<Instant>,
    /// When the last refused probe went out.
    refused: Option<Instant>,
}

impl Probe {
    /// `None`: send the next probe now. `Some(wait)`: not yet.
    pub(super) fn admit(&mut self, now: Instant) -> Option<Wait> {
        let answered_or_lost = self.awaiting.map_or(now, |at| later(at, MAX_PROBE_STEP));
        let ready = self.next.max(answered_or_lost);
        if now < ready {
            return Some(Wait::Until(ready));
        }
        self.sent = Some(now);
        self.awaiting = Some(now);
        self.next = later(now, self.step);
        None
    }
}

impl Probing {
    /// A 429 while probing (`pending`: the episode's refusal; `until`: the end of the pause it
    /// asked for); returns until when the gate closes, if it closes again.
    pub(super) fn refused(
        &mut self,
        pending: &mut Option<Pending>,
        sent_at: Instant,
        now: Instant,
        until: Option<Instant>,
    ) -> Option<Instant> {
        let probe = self.probe.as_mut()?;
        // Refusals of requests sent before probing began: the same episode.
        if probe.sent.is_none() || pending.is_some_and(|p| sent_at < p.answered) {
            return None;
        }
        // A failed probe: wait a little longer before the next one.
        probe.awaiting = probe.awaiting.filter(|&awaited| sent_at < awaited);
        probe.refused = probe.refused.max(Some(sent_at));
        if probe.steady_until.is_none_or(|until| now >= until) {
            let step = probe.step.mul_f64(PROBE_BACKOFF);
            probe.step = step.clamp(FIRST_PROBE, MAX_PROBE_STEP);
        }
        probe.next = later(now, probe.step);
        if let Some(until) = until {
            // The server said after all.
            self.probe = None;
            if let Some(pending) = pending {
                pending.resume_at = Some(until);
            }
            return Some(until);
        }
        Some(probe.next)
    }

    /// Starts probing after a 429 without a hint at `now`; returns when the first probe goes.
    pub(super) fn start(&mut self, now: Instant) -> Instant {
        // Start just before the point where successes resumed last time, else after a short
        // delay (the same for every app: see docs/pacer.md).
        let (first, step) = match self.recovery {
            // Between the last refused and the first accepted probe of last time, in steps of a
            // quarter of that span (or of a 32nd of the wait, when last time pinned it down).
            Some((closed, open)) => {
                let step = ((open - closed) / 4)
                    .max(closed / 32)
                    .clamp(MIN_PROBE_STEP, MAX_PROBE_STEP);
                ((closed + step).min(open), step)
            }
            None => (FIRST_PROBE, FIRST_PROBE),
        };
        let next = later(now, first.max(Duration::from_millis(1)));
        // A server that reopens a period after its last reopening (a fixed window) reopens at
        // the same moment however late in the window the 429 came: probing from that moment
        // finds it, where the offset from the 429 (learnt when the 429 came early in the
        // window) is late by as much as the 429 came later.
        let (next, step, steady_until) = match self.predicted_reopening(now) {
            Some((at, period_step, until)) if at < next => (at, period_step, Some(until)),
            _ => (next, step, None),
        };
        self.probe = Some(Probe {
            next,
            step,
            sent: None,
            awaiting: None,
            steady_until,
            refused: None,
        });
        next
    }

    /// The server reopened after `found.0`, by `found.1`: what that says, with the reopenings
    /// before it, about the time between reopenings (a fixed window's width).
    ///
    /// `start`: when the episode that ended began. It counts for the first reopening only, which
    /// ends the first episode (every settled episode notes one): the server was first asked then,
    /// at the start of a window perhaps. It gives a first period, not an anchor: a server whose
    /// windows start elsewhere gives a period that the next reopening contradicts, and that one
    /// counts.
    pub(super) fn note_reopening(&mut self, found: (Instant, Instant), start: Option<Instant>) {
        let before = self.reopened.replace(found);
        let Some(from) = before.or(start.map(|start| (start, start))) else {
            self.anchor = Some(found);
            return;
        };
        let since = |(after, by): (Instant, Instant), n: u32| {
            (
                found.0.saturating_duration_since(by) / n,
                found.1.saturating_duration_since(after) / n,
            )
        };
        let both = |(l, m): (Duration, Duration), (l2, m2): (Duration, Duration)| {
            (l.max(l2) < m.min(m2)).then(|| (l.max(l2), m.min(m2)))
        };
        let pair = since(from, 1);
        let Some(period) = self.period.and_then(|period| both(period, pair)) else {
            // The first period, or one that contradicts what was learnt (a window skipped, a
            // server that changed): start over from this pair.
            self.period = Some(pair);
            self.anchor = before.or(Some(found));
            return;
        };
        // Counted from the earliest reopening that agrees, the bounds close in: each probe's
        // lateness is divided by the number of periods in between.
        let narrowed = self.anchor.and_then(|anchor| {
            let mid = |(a, b): (Instant, Instant)| a + (b - a) / 2;
            let width = (period.0 + period.1).as_secs_f64() / 2.0;
            let n = (secs(mid(anchor), mid(found)) / width).round();
            let n = Some(n).filter(|n| (1.0..f64::from(u32::MAX)).contains(n))?;
            both(period, since(anchor, n as u32))
        });
        self.period = Some(narrowed.unwrap_or(period));
    }

    /// When to probe first after a 429 at `now`, in what steps, and until when the server is
    /// expected to have reopened, if it reopens a period after its last reopening and that is
    /// still ahead.
    pub(super) fn predicted_reopening(&self, now: Instant) -> Option<(Instant, Duration, Instant)> {
        let (after, by) = self.reopened?;
        let (least, most) = self.period?;
        let to = Some(later(by, most)).filter(|&to| to > now)?;
        let from = later(after, least).max(now);
        let step = ((to - from) / 4).clamp(MIN_PROBE_STEP, MAX_PROBE_STEP);
        Some((later(from, step).min(to), step, to))
    }

    /// A success of `pending`'s episode while probing: any request sent after the refusal
    /// arrived is a probe (the gate lets only probes through), and one accepted ends the
    /// probing, not only the latest probe (a server that holds requests in service answers it
    /// after the next one went out). When it did, where the server reopened (after the first
    /// instant, by the second), for [`note_reopening`](Self::note_reopening); the pacer then
    /// settles the episode.
    pub(super) fn accepted(
        &mut self,
        pending: &Pending,
        sent_at: Instant,
    ) -> Option<(Instant, Instant)> {
        let probe = self.probe.filter(|_| sent_at >= pending.answered)?;
        // Successes resumed: the server reopened between the last refused probe and this one.
        let open = sent_at.saturating_duration_since(pending.answered);
        let closed = match probe.refused {
            Some(refused) => refused.saturating_duration_since(pending.answered),
            // The first probe was accepted: it may have been late; start earlier next time.
            None => open.saturating_sub(probe.step),
        };
        self.recovery = Some((closed.min(open), open));
        self.foreseen = probe.steady_until.is_some_and(|until| sent_at <= until);
        self.probe = None;
        let after = later(pending.answered, closed.min(open));
        Some((after.max(pending.sent), sent_at.max(after)))
    }
}
