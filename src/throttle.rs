//! Client-wide throttling: the gate and the pacer.
//!
//! **The gate.** A 429 pauses every call of the client, instead of each worker finding out on its
//! own: for its `Retry-After` when the server gives one, else for a short probe delay (below).
//!
//! **The pacer** learns what the server accepts from the 429 episodes themselves, without
//! assuming how the server counts (token bucket, fixed or sliding window, concurrency cap: the
//! stand-in has each). An *episode* runs from the moment successes resume after a pause to the
//! next 429. When it ends the pacer knows how many requests got through (`s`), how long the
//! episode lasted (`T`) and, once successes resume, how long the server needed (`P`). Then:
//!
//! - **Rate.** `s / (T + P)` is what the server sustained over the cycle: `L / W` for a window
//!   of `L` per `W`, about the refill rate for a bucket. After a pause the server stated, the
//!   time since the refusal before counts instead of `T + P`: always after a paced episode (a
//!   bucket empty at both refusals gave what it refilled in between), and when it is shorter
//!   after a burst (a pause hint rounded up to whole seconds makes either pause longer than
//!   the server needed). The pacer paces at it (a token bucket
//!   of its own) and grows it while it is what holds calls back: fast below [`NEAR_CEILING`] of
//!   the rate at which a paced request was last refused, slowly near it. So a low estimate heals
//!   within a second or two, and a good one is not pushed into a 429 every few seconds.
//! - **Burst.** After a pause the pacer resumes with what the server refilled meanwhile: the
//!   rate times the pause.
//! - **Reopened windows.** A pause the server stated, after a burst, that refilled most of what
//!   bursts got lately ([`REFILLED_SHARE`], or [`LONG_PAUSE_REFILLED_SHARE`] after a long pause)
//!   reopened a window (except a pause shorter than a second after the first burst, which may be a
//!   bucket's refill of a token or two rounded up: then the pacer paces): a quarter
//!   ([`FULL_SPEED_SHARE`]) of what the last burst got goes at full speed, and the rest with
//!   [`EXTEND_IN_FLIGHT`] requests in flight, at most [`EXTEND_RATE`] a second counted from the
//!   reopening, until the 429. Apps of one tenant that share a window each do the same, so the
//!   window is split evenly, an unequal split (one app started first) fades within a few windows,
//!   and the 429 that closes the window refuses few. The rate bound is for answers that come back
//!   faster than an app sends: then how the machine schedules each app decided the split of the
//!   rest (42 and 89 of one window for two apps in a traced run), and an app that fell behind
//!   stayed behind; at Graph's latencies two in flight are far slower than the bound, which changes
//!   nothing there. A run that knows how many items it has left goes at that rate while it needs
//!   [`CATCH_UP_WINDOWS`] windows or more at its share, slower (down to a quarter) as it needs
//!   fewer: an app that fell behind (one app got 12 of the first, unpaced window, another 100)
//!   takes more of each rest until the apps of the tenant need as many windows each, so they finish
//!   together. A run whose items left fit in what it got of the window (within the two in flight at
//!   its 429 anyway) sends them all at full speed: it has no later window to share. Within an
//!   episode the earliest pause hint counts: each is rounded up, so the first is the closest. The
//!   same holds after probing when the server reopened where the period between its reopenings said
//!   it would (below): every app of the tenant probes at the same moments then. Otherwise (a first
//!   reopening, a server that is not periodic) each app finds the reopening at its own moment, so
//!   the whole capacity goes at once and the rest is paced.
//! - **Windows.** When the first request paced after a burst is refused, the server gives
//!   nothing beyond its bursts (a window). From then on the request after the burst goes at
//!   once instead of a pacing interval later, so that the 429 comes as early as it can (a pause
//!   hint rounded up to whole seconds is then least late). Every [`WINDOW_RECHECK_EVERY`]th
//!   episode paces beyond [`RECHECK_SHARE`] of the capacity instead, and an episode that gets
//!   more than twice the burst marks the server as refilling over time (a token bucket with a
//!   small burst and a rounded-up `Retry-After` looks like a window), which ends both. A
//!   server that gives fewer than [`SMALL_WINDOW`] per reopening after a burst of more is paced
//!   at its rate instead: a 429 for each of its windows would be more than 5 % of the requests.
//!   (One that never gave more is still asked: an app's small share of a tenant's window grows
//!   only by asking.)
//! - **Concurrency caps.** Requests sent before a 429 and accepted well after it were being
//!   served: the pacer keeps at most that many in flight.
//! - **No `Retry-After`.** A 429 without one is still information: the gate closes and one
//!   request at a time probes, each failed probe waiting [`PROBE_BACKOFF`] times longer (at most
//!   [`MAX_PROBE_STEP`]); the first success ends the probing. Where the server reopened (after
//!   the last refused probe, by the first accepted one) is remembered two ways. As offsets from
//!   the 429: the next probing starts in that span, in steps of a quarter of it (a bucket, or a
//!   window whose 429 comes at the same point of each cycle). And as instants: two reopenings
//!   bound the period between them, more reopenings bound it closer (counted from the earliest
//!   one that agrees), and the next probing starts where the last reopening plus the period
//!   says, in steps of a quarter of that span that do not grow inside it: a fixed window
//!   reopens there however late in the window its 429 came. The earlier of the two goes first.
//!   The schedule has no jitter, on purpose: apps of one tenant are refused together when the
//!   tenant's window fills, so they probe at the same moments and find the reopening together
//!   (with jitter, the app that probed first took the window, and one app of three starved).
//!   An episode with no success teaches nothing, so nothing here can drive the rate toward zero.
//!
//! Before the first 429 nothing is paced, unless the caller stated the limit
//! ([`RateHint`](crate::RateHint) with [`BulkOptions`](crate::BulkOptions)); pacing can also be
//! fixed or off per bulk run ([`Pacing`](crate::Pacing)). The `fleet` benchmark measures the law
//! against every stand-in model.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Growth of the learned rate per second, while the pacer is what holds calls back: fast below
/// [`NEAR_CEILING`] of the rate at which it last overshot (or before any overshoot), slow near it
/// (each further overshoot would cost a 429). So an estimate that came out low (a cycle with a
/// long pause) heals within a second or two, and a good one is not pushed into 429s.
const RAMP_PER_S: f64 = 1.0;
const GROWTH_PER_S: f64 = 0.003;
const NEAR_CEILING: f64 = 0.9;
/// Episodes shorter than this measure no sustained rate.
const MIN_EPISODE: f64 = 0.25;
/// A success that took this much longer than twice a 429 was being served: a concurrency cap.
const IN_SERVICE_AFTER: Duration = Duration::from_millis(10);
/// The concurrency window grows by one after this many windows' worth of successes.
const WINDOW_GROWTH_AFTER: f64 = 100.0;
/// A stated pause after a burst that refills this share of the capacity at the learnt rate
/// reopened a window.
const REFILLED_SHARE: f64 = 0.75;
/// The same, after a stated pause of [`LONG_PAUSE`] or more: a window's rest, not a bucket's
/// refill interval rounded up to a second. Apps of a tenant share its window, and one whose
/// share fell from 100 to 59 (the others caught up) read it as a partial refill and paced the
/// rest of the window; its 429 came 0.3 s after the others', a hint rounded up to whole seconds
/// kept it that late in every window, and the others had filled each one by then (1.27× twice
/// and 1.42× once in 16 runs of three apps). Half after a 1 s pause too read a bucket refilling
/// 50 a second as reopened windows: asked until the 429 every second, it took 1.10×, not 1.01×.
const LONG_PAUSE_REFILLED_SHARE: f64 = 0.5;
/// A stated pause at least this long, in seconds, is a window's rest (see
/// [`LONG_PAUSE_REFILLED_SHARE`]).
const LONG_PAUSE: f64 = 5.0;
/// After probing, a pause that refills this share of the capacity refilled all of it.
const PROBED_REFILL_SHARE: f64 = 0.9;
/// After a stated pause reopened a window, the share of what the last burst got that goes at
/// full speed (the rest goes [`EXTEND_IN_FLIGHT`] at a time). Small, so that what one app got
/// more than others in one window carries little into the next.
const FULL_SPEED_SHARE: f64 = 0.25;
/// Requests in flight while a burst goes on beyond the learnt capacity.
const EXTEND_IN_FLIGHT: u32 = 2;
/// After a reopened window's full-speed part, the rest goes at most this fast, per second,
/// counted from the reopening (see [`Pacer::extend`]).
const EXTEND_RATE: f64 = 4000.0;
/// A run with this many windows left at its share (or more) sends the rest at [`EXTEND_RATE`],
/// one with fewer proportionally slower, down to a quarter of it.
const CATCH_UP_WINDOWS: f64 = 8.0;
/// Requests the paced rest may send at once after falling behind its rate.
const EXTEND_BURST: f64 = 8.0;
/// A server that gives fewer than this per reopening, after a burst of more, is paced at its
/// rate, not asked until the 429 (see [`Pacer::shrank_small`]): one 429 a window would be more
/// than 5 % of the requests.
const SMALL_WINDOW: f64 = 20.0;
/// On those cycles, the share of the capacity asked for before pacing.
const RECHECK_SHARE: f64 = 0.8;
/// A window-like server is paced as a bucket every this many cycles, to notice a change.
const WINDOW_RECHECK_EVERY: u32 = 4;
/// Paced rate, as a share of the estimate.
const HOLD_SHARE: f64 = 0.97;
/// The lowest and highest rates the pacer uses (its arithmetic stays finite).
const MIN_RATE: f64 = 0.01;
const MAX_RATE: f64 = 1e6;
/// The first probe delay after a 429 without `Retry-After` (no jitter: see the module docs), and
/// the shortest and longest steps.
const FIRST_PROBE: Duration = Duration::from_millis(50);
const MIN_PROBE_STEP: Duration = Duration::from_millis(5);
const MAX_PROBE_STEP: Duration = Duration::from_secs(2);
/// A pause hint is rounded up to whole seconds: the server reopened within this before it.
const HINT_RESOLUTION: Duration = Duration::from_secs(1);
/// Growth of the probe step after each failed probe (exponential backoff, like the retry
/// policy's, but from [`FIRST_PROBE`] and bounded by [`MAX_PROBE_STEP`]). 1.5 rather than 2:
/// a probe is then at most a third of the wait late (a 2 s window reopening just after a probe
/// was found up to 1.6 s late with doubling), for a few more probes on a long wait.
const PROBE_BACKOFF: f64 = 1.5;
/// Waiters recheck the pacer at least this often, so a rate change reaches them quickly.
const RECHECK: Duration = Duration::from_millis(20);
/// The longest the gate closes for one 429, whatever the server or the options say: a
/// `Retry-After` of `u64::MAX` seconds must neither overflow an `Instant` nor hang the client.
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(3600);

/// How a bulk run paces its calls (see [`Pacing`](crate::Pacing)); visible to the hooks through a
/// task-local while the run's calls are polled.
#[derive(Debug)]
pub(crate) enum RunPacing {
    /// The client's adaptive pacer, seeded with a stated limit if it has learnt nothing yet;
    /// `left`: the run's items not yet done, when the run knows how many it has.
    Adaptive {
        hint: Option<(f64, f64)>,
        left: Option<AtomicUsize>,
    },
    /// A token bucket of this run alone: rate and burst as stated, never adapted.
    Fixed(Mutex<Bucket>),
    /// Only the gate.
    Off,
}

impl RunPacing {
    /// One of the run's items is done (whatever its outcome).
    pub(crate) fn item_done(&self) {
        if let RunPacing::Adaptive {
            left: Some(left), ..
        } = self
        {
            let _ = left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }
}

tokio::task_local! {
    static RUN: Arc<RunPacing>;
}

/// Whether this call is one of a bulk run's (see [`with_run`]).
pub(crate) fn in_bulk_run() -> bool {
    RUN.try_with(|_| ()).is_ok()
}

/// Whether a 429 with this `Retry-After` (or none) says the server limits the rate. One that
/// asks for no pause at all (`Retry-After: 0`, a date already past) does not: it teaches the
/// pacer nothing (else random 429s would wear the rate down) and throttles nobody but its call.
pub(crate) fn is_rate_limit(retry_after: Option<Duration>) -> bool {
    retry_after.is_none_or(|pause| !pause.is_zero())
}

/// Runs `call` with `run`'s pacing.
pub(crate) async fn with_run<F: Future>(run: Arc<RunPacing>, call: F) -> F::Output {
    RUN.scope(run, call).await
}

/// A token bucket: `rate` per second, up to `burst`.
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Option<Instant>,
}

impl Bucket {
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.clamp(1.0, MAX_RATE);
        Self {
            rate: rate.clamp(MIN_RATE, MAX_RATE),
            burst,
            tokens: burst,
            at: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let since = self
            .at
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
        self.tokens = (self.tokens + since.as_secs_f64() * self.rate).min(self.burst);
        self.at = Some(now);
    }

    /// `None`: take a token now. `Some(at)`: none before `at`.
    fn take(&mut self, now: Instant) -> Option<Instant> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return None;
        }
        let wait = Duration::try_from_secs_f64((1.0 - self.tokens) / self.rate).unwrap_or(RECHECK);
        Some(later(now, wait))
    }
}

/// Shared by all clones of a client (it lives in the hooks' state).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    state: Mutex<State>,
    /// Woken when an attempt is answered (a concurrency slot may be free).
    answered: tokio::sync::Notify,
}

/// One admitted attempt; dropping it (answered, failed or cancelled) frees its slot.
#[derive(Debug)]
pub(crate) struct Ticket<'a> {
    /// When the attempt was sent, to report back with.
    pub(crate) sent_at: Instant,
    throttle: &'a Throttle,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut state = self.throttle.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        self.throttle.answered.notify_waiters();
    }
}

#[derive(Debug, Default)]
struct State {
    /// The gate: closed until then.
    paused_until: Option<Instant>,
    pacer: Pacer,
    /// Attempts admitted and not yet answered.
    in_flight: u32,
}

/// What the pacer has learnt; see the module docs.
#[derive(Debug, Default)]
struct Pacer {
    /// `None` until the first 429 (or a stated limit): unpaced.
    bucket: Option<Bucket>,
    /// The estimated sustained rate (the bucket paces at [`HOLD_SHARE`] of it).
    rate: f64,
    /// The rate the pacer was pacing at when a paced request was last refused.
    ceiling: Option<f64>,
    /// Most attempts in flight, once a 429 came while others were being served (a concurrency
    /// cap); grows by one now and then.
    window: Option<u32>,
    window_credit: f64,
    /// Growth is accounted up to here.
    grown_until: Option<Instant>,
    /// The current episode: since when, and the successes sent in it.
    episode_start: Option<Instant>,
    successes: u32,
    /// A 429 whose episode is not settled yet.
    pending: Option<Pending>,
    /// Probing after a 429 without `Retry-After`.
    probe: Option<Probe>,
    /// Learnt from earlier probing, as offsets from a 429: the server was still closed at the
    /// first (the last refused probe), open again at the second (the first accepted one).
    recovery: Option<(Duration, Duration)>,
    /// The last reopening: after the first instant, by the second (found by probing, or
    /// stated to the second).
    reopened: Option<(Instant, Instant)>,
    /// The probing that just ended found the server open when the period said it would be.
    foreseen: bool,
    /// The earliest reopening found that the period learnt since agrees with.
    anchor: Option<(Instant, Instant)>,
    /// The time between two reopenings, as far as they pin it down: more than the first, at
    /// most the second (a fixed window's width).
    period: Option<(Duration, Duration)>,
    /// The episode's burst (the tokens it resumed with) is used up.
    burst_over: bool,
    /// When the first request after the burst went out, and whether any such was accepted.
    after_burst: Option<Instant>,
    beyond_burst: bool,
    /// The server accepted nothing beyond a burst last time (a window, not a bucket).
    window_like: bool,
    /// The episode resumed with the whole capacity (a window reopened, a bucket refilled).
    full_resume: bool,
    /// The last episode was a burst: shorter than the pause after it.
    burst_cycle: bool,
    /// An episode got far more than a burst: the server refills over time (not a window).
    refills: bool,
    /// Extending the burst at a few requests in flight (see [`Pacer::extend`]).
    extending: bool,
    /// The rate of the rest after a reopened window's full-speed part (see [`Pacer::extend`]).
    extend_pace: Option<Bucket>,
    /// Episodes settled so far.
    cycles: u32,
    /// What bursts got lately (the server's capacity, as far as seen).
    capacity: f64,
    /// The most a burst ever got.
    largest_burst: f64,
    /// When the request refused at the end of the last settled episode went out.
    last_refusal: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    /// When the refused request was sent, and when the refusal arrived.
    sent: Instant,
    answered: Instant,
    /// The episode settles once successes can resume: at the end of the server's pause, or at
    /// the first successful probe.
    resume_at: Option<Instant>,
    /// Requests in flight when the 429 came and accepted well after it: they were being served.
    in_service: u32,
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    /// The next probe goes out then, once the last one is answered.
    next: Instant,
    step: Duration,
    /// When the last probe went out.
    sent: Option<Instant>,
    /// The last probe, while it has no answer: one probe at a time, whatever the latency (a
    /// probe every step regardless sent a probe every 50 ms for the whole of a 20 s window when
    /// the answers took longer than the step: each refusal came after the next probe had gone
    /// out and was not counted, so the step never grew). A probe that never gets an answer
    /// (the request failed) is followed by another one [`MAX_PROBE_STEP`] later.
    awaiting: Option<Instant>,
    /// Until then the server is expected to reopen: the step stays as it is.
    steady_until: Option<Instant>,
    /// When the last refused probe went out.
    refused: Option<Instant>,
}

/// The pacer's current figures, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct PacerState {
    pub(crate) rate: Option<f64>,
    pub(crate) burst: f64,
}

/// Why an attempt cannot go yet.
#[derive(Debug)]
enum Wait {
    Until(Instant),
    /// The concurrency window is full: wait for an answer.
    Slot,
}

impl Throttle {
    /// Waits for the gate and for a slot of the pacer; returns the send time to report back
    /// with [`succeeded`](Self::succeeded) or [`throttled`](Self::throttled).
    pub(crate) async fn admit(&self) -> Ticket<'_> {
        let run = RUN.try_with(Arc::clone).ok();
        loop {
            let now = Instant::now();
            let answered = self.answered.notified();
            let wait_until = self.try_admit(now, run.as_deref());
            match wait_until {
                None => {
                    return Ticket {
                        sent_at: now,
                        throttle: self,
                    };
                }
                Some(Wait::Until(at)) => {
                    tokio::time::sleep_until(at.min(later(now, RECHECK))).await;
                }
                Some(Wait::Slot) => {
                    let _ = tokio::time::timeout(RECHECK, answered).await;
                }
            }
        }
    }

    fn try_admit(&self, now: Instant, run: Option<&RunPacing>) -> Option<Wait> {
        let mut state = self.lock();
        if let Some(until) = state.paused_until {
            if until > now {
                return Some(Wait::Until(until));
            }
            state.paused_until = None;
        }
        let off = matches!(run, Some(RunPacing::Off));
        if !off && state.pacer.window.is_some_and(|w| state.in_flight >= w) {
            return Some(Wait::Slot);
        }
        let wait = Self::pace(&mut state, now, run);
        if wait.is_none() {
            state.in_flight += 1;
        }
        wait
    }

    fn pace(state: &mut State, now: Instant, run: Option<&RunPacing>) -> Option<Wait> {
        match run {
            Some(RunPacing::Off) => None,
            // While probing after a 429 without `Retry-After`, the probes go first.
            Some(RunPacing::Fixed(_)) if state.pacer.probe.is_some() => {
                state.pacer.try_admit(now, state.in_flight, None)
            }
            Some(RunPacing::Fixed(bucket)) => bucket
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(now)
                .map(Wait::Until),
            Some(RunPacing::Adaptive { hint, left }) => {
                if let (Some((rate, burst)), None) = (hint, &state.pacer.bucket) {
                    state.pacer.rate = *rate;
                    state.pacer.bucket = Some(Bucket::new(rate * HOLD_SHARE, *burst));
                }
                let left = left.as_ref().map(|left| left.load(Ordering::Relaxed));
                state.pacer.try_admit(now, state.in_flight, left)
            }
            None => state.pacer.try_admit(now, state.in_flight, None),
        }
    }

    /// Closes the gate for `delay` from now (never shortens a pause already in force).
    #[cfg(test)]
    pub(crate) fn pause(&self, delay: Duration) {
        let until = later(Instant::now(), delay.min(MAX_PAUSE));
        let mut state = self.lock();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
    }

    /// A request sent at `sent_at` was accepted.
    pub(crate) fn succeeded(&self, sent_at: Instant) {
        let mut state = self.lock();
        let pacer = &mut state.pacer;
        if let Some(window) = &mut pacer.window {
            pacer.window_credit += 1.0 / (f64::from(*window) * WINDOW_GROWTH_AFTER);
            if pacer.window_credit >= 1.0 {
                pacer.window_credit = 0.0;
                *window = window.saturating_add(1);
            }
        }
        if state.pacer.succeeded(sent_at, Instant::now()) {
            // Successes resumed after probing: no reason to keep anyone waiting.
            state.paused_until = None;
        }
    }

    /// A request sent at `sent_at` was answered 429, with the server's `Retry-After` if it gave
    /// one (already clamped to the retry policy's cap). The gate closes for it, or for the
    /// pacer's probe delay without one.
    ///
    /// A 429 that asks for no pause at all is not a sign of a rate limit (see
    /// [`is_rate_limit`]).
    pub(crate) fn throttled(&self, sent_at: Instant, retry_after: Option<Duration>) {
        if !is_rate_limit(retry_after) {
            return;
        }
        let now = Instant::now();
        let retry_after = retry_after.map(|pause| pause.min(MAX_PAUSE));
        let mut state = self.lock();
        let closed = state.pacer.throttled(sent_at, now, retry_after);
        if let Some(until) = closed
            && state.paused_until.is_none_or(|current| current < until)
        {
            state.paused_until = Some(until);
        }
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn pacer_state(&self) -> PacerState {
        let state = self.lock();
        PacerState {
            rate: state.pacer.bucket.as_ref().map(|_| state.pacer.rate),
            burst: state.pacer.bucket.as_ref().map_or(0.0, |b| b.burst),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Pacer {
    /// `None`: send now. `Some(wait)`: not yet; ask again then.
    fn try_admit(&mut self, now: Instant, in_flight: u32, left: Option<usize>) -> Option<Wait> {
        if let Some(probe) = &mut self.probe {
            let answered_or_lost = probe
                .awaiting
                .map_or(now, |sent| later(sent, MAX_PROBE_STEP));
            if now < probe.next.max(answered_or_lost) {
                return Some(Wait::Until(probe.next.max(answered_or_lost)));
            }
            probe.sent = Some(now);
            probe.awaiting = Some(now);
            probe.next = later(now, probe.step);
            return None;
        }
        if let Some(resume_at) = self.pending.and_then(|p| p.resume_at)
            && now >= resume_at
        {
            self.settle(resume_at);
        }
        self.episode_start.get_or_insert(now);
        if self.finishes_in_window(left) {
            return None;
        }
        if self.extending {
            if self.may_extend(in_flight) {
                return self.extend(now, in_flight, left);
            }
            self.extending = false;
        }
        let bucket = self.bucket.as_mut()?;
        bucket.refill(now);
        if bucket.tokens < 2.0 && self.pending.is_none() {
            // At the rate: the pacer is what limits the fleet, so the rate grows.
            let from = self.grown_until.unwrap_or(now);
            let elapsed = now.saturating_duration_since(from).as_secs_f64();
            let per_s = if self.ceiling.is_none_or(|c| self.rate < NEAR_CEILING * c) {
                RAMP_PER_S
            } else {
                GROWTH_PER_S
            };
            self.rate = (self.rate * (per_s * elapsed).exp()).clamp(MIN_RATE, MAX_RATE);
            bucket.rate = self.rate * HOLD_SHARE;
        }
        self.grown_until = Some(now);
        match bucket.take(now) {
            None => {
                if self.burst_over && self.after_burst.is_none() {
                    self.after_burst = Some(now);
                }
                None
            }
            Some(at) => {
                self.burst_over = true;
                if self.may_extend(in_flight) {
                    return self.extend(now, in_flight, left);
                }
                Some(Wait::Until(at))
            }
        }
    }

    /// Whether the run's items not yet done fit in what this app got of a window lately, in a
    /// window that reopened: then they all go at full speed. Pacing the rest of a reopened
    /// window shares it evenly so that the apps of a tenant need as many *later* windows each; a
    /// run with no later window gains nothing from it, and its end came later (at Graph's
    /// latency, two in flight made the last 75 items of a window take 5.6 s, about 1.4 s at eight;
    /// measured, one app went from 1.12× the ideal to 1.04×).
    /// Taking at most its usual share, it leaves the others what they would have got.
    fn finishes_in_window(&self, left: Option<usize>) -> bool {
        // Within the requests that are in flight beyond the capacity when a window's 429 comes
        // anyway: a burst can count one short (at 150 ms latency, traced: 99 of a window of
        // 100, a request sent after the refused one overtook it), and with a capacity under 100
        // a run's last 100 items went two at a time, 6 s instead of 2 at that latency (one app
        // took 1.11–1.12× in 3 of about 20 runs, 1.04× otherwise; those runs were not traced).
        let slack = f64::from(EXTEND_IN_FLIGHT);
        self.full_resume
            && self.pending.is_none()
            && left.is_some_and(|left| {
                left as f64 + f64::from(self.successes) <= self.capacity + slack
            })
    }

    /// Whether the server gives fewer than [`SMALL_WINDOW`] per reopening after a burst of more:
    /// it refills slowly (a bucket refilling 5 a second with a `Retry-After` of whole seconds
    /// looks like a window of 5 a second), and is paced at its rate, not asked until the 429
    /// after each pause (one 429 in six). One that never gave more is asked: it may be a window
    /// shared with apps of the tenant that started first (one app got 11 of the first window;
    /// paced at 11 per window, it was refused in every window the others filled first, and
    /// took 450 s instead of 100).
    fn shrank_small(&self) -> bool {
        self.capacity < SMALL_WINDOW && self.largest_burst >= SMALL_WINDOW
    }

    /// Whether the burst goes on unpaced now (see [`extend`](Self::extend)).
    fn may_extend(&self, in_flight: u32) -> bool {
        // A window gives nothing beyond its burst: ask at once, so that the 429 (and a pause
        // hint rounded up to whole seconds) comes as early as it can; so does a reopened
        // window shared with other apps. Every few cycles the pacer paces beyond most of the
        // capacity instead, to notice a server that gives more over time: a token bucket with
        // a small burst and a `Retry-After` rounded up to a second looks like a window until a
        // paced episode gets far more than its burst (then `refills` ends this).
        let recheck = self.cycles.is_multiple_of(WINDOW_RECHECK_EVERY);
        let asked = f64::from(self.successes.saturating_add(in_flight));
        (!recheck || asked < RECHECK_SHARE * self.capacity)
            && !self.shrank_small()
            && !self.refills
            && self.after_burst.is_none()
            && self.pending.is_none()
            && (self.window_like || self.full_resume && self.burst_cycle)
    }

    /// After the part of a burst sent at full speed (see [`settle`](Self::settle)), the burst goes
    /// on with [`EXTEND_IN_FLIGHT`] requests in flight until the 429 (after a reopened window, at
    /// most [`EXTEND_RATE`] a second from the reopening, catching up a little after a late start,
    /// so that the split does not depend on how fast each app's answers come). Pacing instead left
    /// what the window had beyond the learnt burst to whoever asked faster: with several apps of
    /// one tenant sharing a window, the app that had learnt the smallest share kept it, and once
    /// the others finished it still took only that share. Few in flight, so that the 429 that ends
    /// the window refuses few; a server with nothing more refuses the first.
    fn extend(&mut self, now: Instant, in_flight: u32, left: Option<usize>) -> Option<Wait> {
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

    /// Counts a success; `true` when it ends probing (the gate may reopen).
    fn succeeded(&mut self, sent_at: Instant, now: Instant) -> bool {
        if self.after_burst.is_some_and(|first| sent_at >= first) {
            // The server gave more than the burst: not a window.
            self.beyond_burst = true;
            self.window_like = false;
        }
        if self.episode_start.is_none_or(|start| sent_at >= start)
            && self.pending.is_none_or(|p| sent_at <= p.sent)
        {
            self.successes += 1;
        }
        let Some(pending) = &mut self.pending else {
            return false;
        };
        // Served, not queued: accepted after the refusal, and slower than it by far (a rate
        // limit answers acceptances and refusals equally fast).
        let refusal_took = pending.answered.saturating_duration_since(pending.sent);
        if sent_at <= pending.answered
            && now.saturating_duration_since(sent_at) >= refusal_took * 2 + IN_SERVICE_AFTER
        {
            pending.in_service += 1;
        }
        let pending = *pending;
        // Any request sent after the refusal arrived is a probe (the gate lets only probes
        // through), and one accepted ends the probing: not only the latest probe, whose answer
        // may come after the next one went out (a server that holds requests in service).
        if let Some(probe) = self.probe
            && sent_at >= pending.answered
        {
            // Successes resumed: the server reopened between the last refused probe and this one.
            let open = sent_at.saturating_duration_since(pending.answered);
            let closed = match probe.refused {
                Some(refused) => refused.saturating_duration_since(pending.answered),
                // The first probe was accepted: it may have been late; start earlier next time.
                None => open.saturating_sub(probe.step),
            };
            self.recovery = Some((closed.min(open), open));
            let after = later(pending.answered, closed.min(open));
            self.note_reopening(after.max(pending.sent), sent_at.max(after));
            self.foreseen = probe.steady_until.is_some_and(|until| sent_at <= until);
            self.probe = None;
            self.settle(sent_at.max(pending.sent).min(now));
            // The probe is the new episode's first success, and it used what the server had
            // refilled by then: without this, the next request went out at once and was
            // refused, one 429 per success on a bucket without `Retry-After`.
            self.successes = 1;
            if let Some(bucket) = &mut self.bucket {
                bucket.tokens = (bucket.tokens - 1.0).max(0.0);
            }
            return true;
        }
        false
    }

    /// Takes a 429 into account; returns until when the gate closes.
    fn throttled(
        &mut self,
        sent_at: Instant,
        now: Instant,
        retry_after: Option<Duration>,
    ) -> Option<Instant> {
        let stale = self.episode_start.is_some_and(|start| sent_at < start);
        match (&mut self.probe, &mut self.pending) {
            // Refusals of requests sent before probing began: the same episode.
            (Some(probe), pending)
                if probe.sent.is_none() || pending.is_some_and(|p| sent_at < p.answered) =>
            {
                return None;
            }
            // A failed probe: wait a little longer before the next one.
            (Some(probe), _) => {
                if probe.awaiting.is_some_and(|awaited| sent_at >= awaited) {
                    probe.awaiting = None;
                }
                probe.refused = probe.refused.max(Some(sent_at));
                if probe.steady_until.is_none_or(|until| now >= until) {
                    probe.step = probe
                        .step
                        .mul_f64(PROBE_BACKOFF)
                        .min(MAX_PROBE_STEP)
                        .max(FIRST_PROBE);
                }
                probe.next = later(now, probe.step);
                if let Some(pause) = retry_after {
                    // The server said after all.
                    self.probe = None;
                    let until = later(now, pause);
                    if let Some(pending) = &mut self.pending {
                        pending.resume_at = Some(until);
                    }
                    return Some(until);
                }
                return Some(probe.next);
            }
            // Answers to requests sent before this episode belong to an event already counted.
            _ if stale => return retry_after.map(|pause| later(now, pause)),
            // More refusals of the episode: each says when the server reopens, rounded up (to
            // whole seconds, in either form), so the earliest is the closest; the first one
            // usually. Taking the latest let the app whose requests were refused last start
            // last in every window after (a whole window on a scaled one, with other apps of
            // the tenant taking it).
            (None, Some(pending)) => {
                let until = retry_after.map(|pause| later(now, pause));
                return match (pending.resume_at, until) {
                    (Some(at), Some(until)) if until >= at => None,
                    _ => {
                        pending.resume_at = until.or(pending.resume_at);
                        until
                    }
                };
            }
            _ => {}
        }
        if self.after_burst.is_some_and(|first| sent_at >= first) {
            // A paced request refused: the pacer overshot at this rate.
            self.ceiling = Some(self.rate);
            // Nothing beyond the burst was accepted: the server counts in windows.
            self.window_like |= !self.beyond_burst;
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
        // No hint: probe. Start just before the point where successes resumed last time, else
        // after a short delay (the same for every app: see the module docs).
        let (first, step) = match self.recovery {
            // Between the last refused and the first accepted probe of last time, in steps of a
            // quarter of that span (or of a 32nd of the wait, when last time pinned it down).
            Some((closed, open)) => {
                let step = ((open - closed) / 4)
                    .max(closed / 32)
                    .clamp(MIN_PROBE_STEP, MAX_PROBE_STEP);
                ((closed + step).min(open), step)
            }
            None => {
                let first = FIRST_PROBE;
                (first, first)
            }
        };
        let mut next = later(now, first.max(Duration::from_millis(1)));
        let (mut step, mut steady_until) = (step, None);
        // A server that reopens a period after its last reopening (a fixed window) reopens at
        // the same moment however late in the window the 429 came: probing from that moment
        // finds it, where the offset from the 429 (learnt when the 429 came early in the
        // window) is late by as much as the 429 came later.
        if let Some((at, period_step, until)) = self.predicted_reopening(now)
            && at < next
        {
            (next, step, steady_until) = (at, period_step, Some(until));
        }
        self.probe = Some(Probe {
            next,
            step,
            sent: None,
            awaiting: None,
            steady_until,
            refused: None,
        });
        Some(next)
    }

    /// Ends the pending episode when successes can resume at `resume`: new estimates, a new
    /// episode.
    fn settle(&mut self, resume: Instant) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        self.probe = None;
        let start = self.episode_start.unwrap_or(pending.sent);
        let episode = pending.sent.saturating_duration_since(start).as_secs_f64();
        let pause = resume.saturating_duration_since(pending.sent).as_secs_f64();
        let got = f64::from(self.successes);
        let last_refusal = self.last_refusal.replace(pending.sent);
        if pending.in_service >= 2 {
            // Requests sent before the refusal were accepted after it: they were being served.
            // A cap on concurrent requests, not on the rate: keep that many in flight.
            self.window = Some(pending.in_service);
            self.window_credit = 0.0;
            tracing::debug!(window = pending.in_service, "pacer: concurrency cap");
        } else if self.successes > 0 && episode + pause > 0.0 {
            // What the server gave between the refusal before and this one: the pause before
            // the episode refilled what it got, not the pause after it. (With a pause hint of
            // whole seconds the two differ: a bucket refilling 50 a second gave 16 after a
            // 0.3 s pause, and 16 over the episode and the 1 s pause after it read as 16 a
            // second.) The first episode has no refusal before it. Only after a stated pause:
            // after probing, the refusal that ends an episode comes at a different point of
            // each shared window, and the shorter gap drove apps apart (two apps without
            // `Retry-After`: 14 s instead of 10).
            let since_refusal = last_refusal
                .filter(|_| pending.resume_at.is_some())
                .map_or(episode + pause, |before| {
                    pending.sent.saturating_duration_since(before).as_secs_f64()
                });
            // A paced episode (longer than its pause) drained a bucket that was empty at both
            // refusals: what it got is what the server refilled in between, exactly. After a
            // burst, a window may have reopened anywhere in a pause rounded up to a whole second,
            // before or after the episode: the shorter of the two cycles is the closer one. (The
            // shorter one for paced episodes too read a bucket refilling 5 a second with
            // HTTP-dates as 5 to 8, and every overshoot cost a 429; the refusal before alone for
            // bursts read a 2 s window found 1 s late as a partial refill and paced it: a window
            // lost, 1.33× where that cell otherwise takes 1.01–1.17×.)
            let cycle = if episode <= pause {
                (episode + pause).min(since_refusal)
            } else {
                since_refusal
            };
            let cycle_rate = got / cycle.max(f64::MIN_POSITIVE);
            // A burst: an episode shorter than its pause (a fresh window, a full bucket).
            // What a burst gets can shrink (apps of one tenant share a window; the most one
            // got alone is not what it gets now), so the capacity follows recent bursts
            // halfway instead of keeping the largest ever.
            self.burst_cycle = episode <= pause;
            // Far more than a burst in one episode: the server refills over time (a bucket).
            if !self.burst_cycle && got > 2.0 * self.capacity.max(1.0) {
                self.refills = true;
            }
            if self.burst_cycle {
                self.capacity = got.max(0.5 * (self.capacity + got));
                self.largest_burst = self.largest_burst.max(got);
            }
            // Beyond its burst, the server sustained at least this over the episode itself.
            let sustained = if episode >= MIN_EPISODE {
                let before = self.bucket.as_ref().map_or(got, |b| b.burst);
                (got - before) / episode
            } else {
                0.0
            };
            let estimate = cycle_rate.max(sustained).clamp(MIN_RATE, MAX_RATE);
            self.rate = estimate;
            *self.bucket.get_or_insert_with(|| Bucket::new(1.0, 1.0)) =
                Bucket::new(estimate * HOLD_SHARE, self.capacity);
            tracing::debug!(
                rate_per_s = estimate,
                capacity = self.capacity,
                successes = got,
                episode_s = episode,
                pause_s = pause,
                "pacer settled after a 429"
            );
        }
        // The server refilled during the pause; so does the pacer, at the rate. (Not "as much
        // as the last burst got": an episode's successes include paced ones, and asking for
        // them again at once cost a bucket two or three 429s after every pause.)
        //
        // A pause that refilled a good part of the capacity reopened a window (or refilled a
        // bucket): then the pacer asks at full speed for only a part of what the last burst
        // got, and for the rest a few at a time (see `extend`), as every other app of a
        // tenant sharing the window does: the rest of the window is split evenly and the 429
        // finds few in flight. The part carried over shrinks each window, so an unequal split
        // (one app started first) evens out within a few windows instead of persisting.
        //
        // Only when every app of the tenant resumes at about the same moment: the server said
        // when, or probing found the reopening where the period said (the probe schedules are
        // the same for every app). Otherwise the moment differs per app, and the first one in
        // would take the window (up to its own limit) before the others' probes arrive; then
        // the whole capacity goes at once and the rest is paced, as for a bucket.
        self.full_resume = false;
        let told = pending.resume_at.is_some();
        if told {
            let after = resume.checked_sub(HINT_RESOLUTION).unwrap_or(resume);
            self.note_reopening(after.max(pending.answered), resume);
        }
        if let Some(bucket) = &mut self.bucket {
            let mut tokens = self.rate * pause;
            let known = told || std::mem::take(&mut self.foreseen);
            self.extend_pace = None;
            let refilled = if told && pause >= LONG_PAUSE {
                LONG_PAUSE_REFILLED_SHARE
            } else {
                REFILLED_SHARE
            };
            // The first burst says nothing of how the server refills, and a pause shorter than
            // a hint's resolution may be a bucket's refill of a token or two rounded up: the
            // pacer paces from one request instead (a bucket with HTTP-dates refused 7 of a
            // window's quarter sent at once, 0.35 s after its first 429).
            let first_short_pause = self.cycles == 0 && pause < HINT_RESOLUTION.as_secs_f64();
            if first_short_pause {
                tokens = 1.0;
            } else if known && self.capacity > 1.0 && tokens >= refilled * self.capacity {
                self.full_resume = true;
                tokens = (FULL_SPEED_SHARE * got).max(1.0);
                // Counted from the reopening, not from this app's first request after it: an
                // app that starts late (its wake-up, its first answers) catches up a little.
                let mut pace = Bucket::new(EXTEND_RATE, EXTEND_BURST);
                pace.tokens = 0.0;
                pace.at = Some(resume);
                self.extend_pace = Some(pace);
            } else if tokens >= PROBED_REFILL_SHARE * bucket.burst {
                tokens = bucket.burst;
            }
            bucket.tokens = tokens.clamp(1.0, bucket.burst);
            bucket.at = Some(resume);
            tracing::debug!(
                burst = bucket.tokens,
                window_reopened = self.full_resume,
                "pacer resumes"
            );
        }
        self.extending = false;
        self.burst_over = false;
        self.after_burst = None;
        self.beyond_burst = false;
        self.cycles = self.cycles.wrapping_add(1);
        self.episode_start = Some(resume);
        self.grown_until = Some(resume);
        self.successes = 0;
    }

    /// The server reopened after `after`, by `by`: what that says, with the reopenings before
    /// it, about the time between reopenings (a fixed window's width).
    fn note_reopening(&mut self, after: Instant, by: Instant) {
        let found = (after, by);
        // The first episode began when the server was first asked: the start of a window
        // perhaps. It gives a first period, not an anchor: a server whose windows start
        // elsewhere gives a period that the next reopening contradicts, and that one counts.
        let first_start = (self.cycles == 0)
            .then_some(self.episode_start)
            .flatten()
            .map(|start| (start, start));
        let (before, anchor_before) = match self.reopened.replace(found) {
            Some(before) => (before, Some(before)),
            None => match first_start {
                Some(start) => (start, None),
                None => {
                    self.anchor = Some(found);
                    return;
                }
            },
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
        let pair = since(before, 1);
        let agreed = self.period.and_then(|period| both(period, pair));
        let Some(period) = agreed else {
            // The first period, or one that contradicts what was learnt (a window skipped, a
            // server that changed): start over from this pair.
            self.period = Some(pair);
            self.anchor = anchor_before.or(Some(found));
            return;
        };
        // Counted from the earliest reopening that agrees, the bounds close in: each probe's
        // lateness is divided by the number of periods in between.
        let narrowed = self.anchor.and_then(|anchor| {
            let mid = |(a, b): (Instant, Instant)| a + (b - a) / 2;
            let width = (period.0 + period.1).as_secs_f64() / 2.0;
            let periods = mid(found)
                .saturating_duration_since(mid(anchor))
                .as_secs_f64()
                / width;
            let n = periods.round();
            (n >= 1.0 && n < f64::from(u32::MAX))
                .then(|| both(period, since(anchor, n as u32)))
                .flatten()
        });
        self.period = Some(narrowed.unwrap_or(period));
    }

    /// When to probe first after a 429 at `now`, in what steps, and until when the server is
    /// expected to have reopened, if it reopens a period after its last reopening and that is
    /// still ahead.
    fn predicted_reopening(&self, now: Instant) -> Option<(Instant, Duration, Instant)> {
        let (after, by) = self.reopened?;
        let (least, most) = self.period?;
        let (from, to) = (later(after, least).max(now), later(by, most));
        if to <= now {
            return None;
        }
        let step = ((to - from) / 4).clamp(MIN_PROBE_STEP, MAX_PROBE_STEP);
        Some((later(from, step).min(to), step, to))
    }
}

/// `at + delay`, saturating at a far-off instant instead of panicking.
fn later(at: Instant, delay: Duration) -> Instant {
    at.checked_add(delay)
        .or_else(|| at.checked_add(MAX_PAUSE))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// `n` requests admitted and accepted without waiting in between.
    async fn accept_at_once(throttle: &Throttle, n: usize) {
        for _ in 0..n {
            let sent = throttle.admit().await.sent_at;
            throttle.succeeded(sent);
        }
    }

    /// `n` requests accepted at once, then one refused with a 429 asking for `pause`.
    async fn burst_then_429(throttle: &Throttle, n: usize, pause: Duration) {
        accept_at_once(throttle, n).await;
        let sent = throttle.admit().await.sent_at;
        throttle.throttled(sent, Some(pause));
    }

    /// The rate the pacer settled on (the next admission settles a pending episode).
    async fn learnt_rate(throttle: &Throttle) -> f64 {
        drop(throttle.admit().await);
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
        throttle.admit().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        throttle.pause(S(5));
        throttle.pause(S(2));
        throttle.admit().await;
        assert_eq!(start.elapsed(), S(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_pause_from_the_wire_is_bounded_and_never_panics() {
        let throttle = Throttle::default();
        let start = Instant::now();
        // `Retry-After: 18446744073709551615` and a policy whose cap is `Duration::MAX`.
        let sent = throttle.admit().await.sent_at;
        throttle.throttled(sent, Some(Duration::MAX));
        throttle.pause(Duration::MAX);
        throttle.pause(S(u64::MAX));
        throttle.admit().await;
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
            let run = Arc::new(RunPacing::Adaptive {
                hint: Some((rate, burst)),
                left: None,
            });
            with_run(run, async {
                let sent = throttle.admit().await.sent_at;
                throttle.succeeded(sent);
                throttle.throttled(sent, None);
            })
            .await;
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
            let sent = throttle.admit().await.sent_at;
            throttle.succeeded(sent);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let sent = throttle.admit().await.sent_at;
        throttle.throttled(sent, Some(S(1)));
        // Answers to requests sent before the 429 still count for that episode.
        throttle.throttled(sent, Some(S(1)));
        let start = Instant::now();
        throttle.admit().await;
        assert_eq!(start.elapsed(), S(1), "the gate");
        let rate = throttle.pacer_state().rate.unwrap();
        assert!(
            (rate - 50.0 / 6.0).abs() < 0.01,
            "50 over a 6 s cycle: {rate}"
        );
        // No burst was ever seen (the server took these paced), so none is sent: slots are
        // spaced by the rate (which grows while the pacer is what holds calls back).
        for _ in 0..4 {
            throttle.admit().await;
        }
        let paced = Instant::now() - start - S(1);
        assert!(
            paced > Duration::from_millis(350) && paced < Duration::from_millis(520),
            "{paced:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_reopened_window_gets_a_part_at_full_speed_then_two_at_a_time_at_a_bounded_rate() {
        // 48 at once, then a 429 asking for 1 s: a window (or a bucket emptied at once).
        let throttle = Throttle::default();
        burst_then_429(&throttle, 48, S(1)).await;
        let start = Instant::now();
        // A quarter of what the last burst got goes at once, with all of it in flight.
        let mut burst = Vec::new();
        for _ in 0..12 {
            burst.push(throttle.admit().await);
        }
        assert_eq!(start.elapsed(), S(1), "the gate, then at once");
        // Beyond it, not paced, but two in flight at most: a third waits for an answer.
        let too_many = tokio::time::timeout(S(5), throttle.admit()).await;
        assert!(
            too_many.is_err(),
            "a third beyond the burst went out with 12 in flight"
        );
        for ticket in burst {
            throttle.succeeded(ticket.sent_at);
        }
        let first = throttle.admit().await;
        let second = throttle.admit().await;
        let third = tokio::time::timeout(S(5), throttle.admit()).await;
        assert!(third.is_err(), "three in flight beyond the burst");
        let resumed = Instant::now();
        // A request that failed (no success, no 429) frees its place as well.
        drop(first);
        throttle.succeeded(second.sent_at);
        drop(second);
        // Until the 429, at most `EXTEND_RATE` per second counted from the reopening (however
        // fast the answers come), so that apps sharing the window split it by that rate, not
        // by how fast each one's answers come back.
        accept_at_once(&throttle, 100).await;
        let took = resumed.elapsed().as_secs_f64();
        let bounds = (100.0 - EXTEND_BURST) / EXTEND_RATE..=100.0 / EXTEND_RATE + 0.002;
        assert!(bounds.contains(&took), "100 more in {took} s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_giving_a_few_per_reopening_is_paced_not_asked_until_the_429() {
        // A burst of 100, then 5 at once and a 429 asking for 1 s, three times: a bucket
        // refilling 5 a second with a hint of whole seconds. One 429 a window would be one
        // request in six.
        let took = after_bursts(&[100, 5, 5, 5], S(1), 10).await;
        // At about 5 a second after what the pause refilled (asked until the 429, the ten
        // went out within milliseconds).
        assert!(took >= Duration::from_millis(800), "10 in {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_app_that_got_few_of_its_first_window_asks_for_more_of_the_next() {
        // 11 at once, then a 429 asking for 20 s: the other apps of the tenant took the rest of
        // the window. Paced at 11 in 20 s, the app would be refused in every window the others
        // fill first; asking until the 429, it gets its share.
        let took = after_bursts(&[11], S(20), 60).await;
        assert!(took < Duration::from_millis(100), "60 in {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_smaller_share_of_a_reopened_window_still_asks_until_the_429() {
        // 100 of a window, then 59 of the next (apps of the tenant caught up), each ended by a
        // 429 asking for 20 s. The next window reopened all the same: after the burst the app
        // asks on at once, so that its 429 comes when the window fills, not a pacing interval
        // (a third of a second) later, which a hint of whole seconds would carry into every
        // later window.
        let took = after_bursts(&[100, 59], S(20), 70).await;
        assert!(took < Duration::from_millis(100), "70 in {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_stated_pause_the_rate_counts_from_the_refusal_before() {
        // A bucket refilling 50 a second: 100 at once, a 429 asking for 0.3 s; 15 accepted
        // after it (what 0.3 s refilled), then a 429 asking for a whole second (a hint rounded
        // up). What the 15 say is 50 a second, not 15 over the second after them.
        let throttle = Throttle::default();
        burst_then_429(&throttle, 100, Duration::from_millis(300)).await;
        burst_then_429(&throttle, 15, S(1)).await;
        let rate = learnt_rate(&throttle).await;
        assert!((40.0..=60.0).contains(&rate), "learnt {rate} a second");
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_episode_counts_from_the_refusal_before_not_the_shorter_pause_after() {
        // A bucket refilling 5 a second whose hints are HTTP-dates (rounded up to whole
        // seconds): 100 at once, a 429 asking for 2 s; then 15 accepted over 1 s (what 3 s
        // refilled), and a 429 asking for 0.1 s (the next whole second was near). What the 15
        // say is 5 a second, not 15 over the 1.1 s of the episode and the pause after it.
        let throttle = Throttle::default();
        burst_then_429(&throttle, 100, S(2)).await;
        tokio::time::sleep(S(2)).await;
        for _ in 0..15 {
            let sent = throttle.admit().await.sent_at;
            throttle.succeeded(sent);
            tokio::time::sleep(Duration::from_millis(1000 / 15)).await;
        }
        let sent = throttle.admit().await.sent_at;
        throttle.throttled(sent, Some(Duration::from_millis(100)));
        let rate = learnt_rate(&throttle).await;
        assert!((4.0..=6.0).contains(&rate), "learnt {rate} a second");
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_found_late_by_a_rounded_up_hint_still_reads_as_reopened() {
        // A window of 100 per 2 s whose hints are HTTP-dates: the first pause was rounded up
        // to 2.97 s, so the window was open for its last second; the 100 of the next burst
        // came 3 s after the refusal before. The pause after (1.93 s) refilled it all again:
        // the next 100 go at once, not paced at 100 per 3 s.
        let throttle = Throttle::default();
        burst_then_429(&throttle, 100, Duration::from_millis(2970)).await;
        burst_then_429(&throttle, 100, Duration::from_millis(1930)).await;
        let reopened = Instant::now() + Duration::from_millis(1930);
        accept_at_once(&throttle, 100).await;
        let took = Instant::now().saturating_duration_since(reopened);
        assert!(took < Duration::from_millis(100), "100 in {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_pause_after_the_first_burst_is_paced_not_taken_for_a_reopened_window() {
        // 100 at once, then a 429 asking for 0.35 s: a window of 100 that reopens that soon, or
        // a bucket that refills a token or two by then. The first request after the pause goes
        // at once, the second is paced; a window's quarter at once would be 25.
        let throttle = Throttle::default();
        burst_then_429(&throttle, 100, Duration::from_millis(350)).await;
        tokio::time::sleep(Duration::from_millis(350)).await;
        let reopened = Instant::now();
        accept_at_once(&throttle, 2).await;
        assert!(
            Instant::now() > reopened,
            "two sent at once after the pause"
        );
    }

    /// A fresh throttle, and a run with `left` items that got 48 of a window at once, then a 429
    /// asking for 1 s.
    async fn a_run_after_a_window_of_48(left: usize) -> (Throttle, Arc<RunPacing>) {
        let throttle = Throttle::default();
        let run = Arc::new(RunPacing::Adaptive {
            hint: None,
            left: Some(AtomicUsize::new(left)),
        });
        with_run(Arc::clone(&run), async {
            burst_then_429(&throttle, 48, S(1)).await;
        })
        .await;
        (throttle, run)
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_with_more_windows_left_sends_a_reopened_windows_rest_faster() {
        // Apps of a tenant that share a window finish together only if one that fell behind
        // (more windows left at its share) takes more of the rest: four times the rate of one
        // that has its last window left.
        async fn rest_takes(left: usize) -> Duration {
            let (throttle, run) = a_run_after_a_window_of_48(left).await;
            with_run(run, async {
                accept_at_once(&throttle, 12).await;
                let start = Instant::now();
                accept_at_once(&throttle, 200).await;
                start.elapsed()
            })
            .await
        }
        let behind = rest_takes(48 * 20).await.as_secs_f64();
        let last = rest_takes(48).await.as_secs_f64();
        assert!(
            (3.0..5.0).contains(&(last / behind)),
            "{behind} s with 20 windows left, {last} s with one"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_whose_last_items_fit_in_the_reopened_window_sends_them_all_at_once() {
        // 48 at once, then a 429 asking for 1 s. A run with 40 items left fits in what it got:
        // no later window to share, so all 40 go with all in flight; so do 50 (the two beyond
        // the 48 are what is in flight at a window's 429 anyway). One with 51 or 60 left sends a
        // quarter of the 48 at once, and the rest only two at a time once those are answered.
        async fn in_flight_at_once(left: usize) -> usize {
            let (throttle, run) = a_run_after_a_window_of_48(left).await;
            with_run(run, async {
                let reopened = Instant::now() + S(1);
                let mut tickets = Vec::new();
                while tickets.len() < left {
                    match tokio::time::timeout_at(reopened + S(1), throttle.admit()).await {
                        Ok(ticket) => tickets.push(ticket),
                        Err(_) => break,
                    }
                }
                tickets.len()
            })
            .await
        }
        assert_eq!(in_flight_at_once(40).await, 40);
        assert_eq!(in_flight_at_once(50).await, 50);
        assert_eq!(in_flight_at_once(51).await, 12);
        assert_eq!(in_flight_at_once(60).await, 12);
    }

    #[test]
    fn a_runs_items_left_count_down_to_zero_and_no_further() {
        let run = RunPacing::Adaptive {
            hint: None,
            left: Some(AtomicUsize::new(2)),
        };
        for _ in 0..3 {
            run.item_done();
        }
        let RunPacing::Adaptive {
            left: Some(left), ..
        } = &run
        else {
            unreachable!()
        };
        assert_eq!(
            left.load(Ordering::Relaxed),
            0,
            "one more done than counted"
        );
        // A run that does not know its count, or is not adaptive, has nothing to count.
        RunPacing::Off.item_done();
        RunPacing::Adaptive {
            hint: None,
            left: None,
        }
        .item_done();
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_found_by_probing_is_not_extended_unpaced() {
        // The same burst, but the 429 gives no `Retry-After`: each app of a tenant finds the
        // reopening at its own probe, so the first one in must not go on unpaced (it would
        // take the window before the others' probes arrive): the burst, then pacing.
        let throttle = Throttle::default();
        accept_at_once(&throttle, 48).await;
        let sent = throttle.admit().await.sent_at;
        throttle.throttled(sent, None);
        let start = Instant::now();
        loop {
            let sent = throttle.admit().await.sent_at;
            if start.elapsed() >= S(1) {
                throttle.succeeded(sent);
                break;
            }
            throttle.throttled(sent, None);
        }
        let resumed = Instant::now();
        accept_at_once(&throttle, 47).await;
        assert_eq!(resumed.elapsed(), Duration::ZERO, "the burst at once");
        let ticket = throttle.admit().await;
        throttle.succeeded(ticket.sent_at);
        assert!(resumed.elapsed() > Duration::ZERO, "paced beyond the burst");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_asking_for_no_pause_teaches_nothing() {
        let throttle = Throttle::default();
        for _ in 0..100 {
            let sent = throttle.admit().await.sent_at;
            throttle.throttled(sent, Some(Duration::ZERO));
        }
        assert_eq!(throttle.pacer_state().rate, None);
    }

    #[tokio::test(start_paused = true)]
    async fn without_retry_after_it_probes_and_never_collapses() {
        let throttle = Throttle::default();
        let start = Instant::now();
        // Every request refused for 10 s, no `Retry-After`: probes, spaced at most 2 s apart.
        let mut probes = 0;
        loop {
            let sent = throttle.admit().await.sent_at;
            if start.elapsed() >= S(10) {
                throttle.succeeded(sent);
                break;
            }
            probes += 1;
            throttle.throttled(sent, None);
        }
        assert!(start.elapsed() <= S(12), "{:?}", start.elapsed());
        assert!((5..=30).contains(&probes), "{probes} probes");
        // Successes resumed: the gate is open and the pacer did not fall to a crawl.
        let resumed = Instant::now();
        accept_at_once(&throttle, 10).await;
        assert!(resumed.elapsed() < S(1), "{:?}", resumed.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_accepted_after_the_next_one_went_out_still_ends_probing() {
        // A server that holds accepted requests in service (a concurrency cap) answers a probe
        // after the next probe is already out.
        let throttle = Throttle::default();
        let sent = throttle.admit().await.sent_at;
        throttle.throttled(sent, None);
        let first = throttle.admit().await.sent_at;
        let second = throttle.admit().await.sent_at;
        assert!(second > first, "no answer yet: the next probe a step later");
        throttle.succeeded(first);
        let resumed = Instant::now();
        for _ in 0..8 {
            throttle.admit().await;
        }
        assert_eq!(resumed.elapsed(), Duration::ZERO, "probing ended");
    }

    #[tokio::test(start_paused = true)]
    async fn the_accepted_probe_uses_what_the_pause_refilled() {
        // A steady 10/s, then a 429 without `Retry-After`: the server refills one request by the
        // time a probe gets through, and the probe takes it. The next request waits for the
        // rate (it went out at once, and was refused, before).
        let throttle = Throttle::default();
        for _ in 0..20 {
            let sent = throttle.admit().await.sent_at;
            throttle.succeeded(sent);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let sent = throttle.admit().await.sent_at;
        throttle.throttled(sent, Some(Duration::from_millis(100)));
        let sent = throttle.admit().await.sent_at;
        throttle.succeeded(sent);
        let sent = throttle.admit().await.sent_at;
        throttle.throttled(sent, None);
        let probe = throttle.admit().await.sent_at;
        throttle.succeeded(probe);
        let accepted = Instant::now();
        throttle.admit().await;
        assert!(
            accepted.elapsed() >= Duration::from_millis(50),
            "{:?}",
            accepted.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn fixed_pacing_ignores_what_it_learns_and_off_only_waits_for_the_gate() {
        let throttle = Throttle::default();
        let fixed = Arc::new(RunPacing::Fixed(Mutex::new(Bucket::new(10.0, 1.0))));
        let start = Instant::now();
        with_run(fixed, async {
            for _ in 0..11 {
                throttle.admit().await;
            }
        })
        .await;
        assert_eq!(start.elapsed(), S(1));
        let off = Arc::new(RunPacing::Off);
        let sent = throttle.admit().await.sent_at;
        throttle.throttled(sent, Some(S(3)));
        let start = Instant::now();
        with_run(off, async {
            for _ in 0..100 {
                throttle.admit().await;
            }
        })
        .await;
        assert_eq!(start.elapsed(), S(3), "the gate, and nothing else");
    }

    #[tokio::test(start_paused = true)]
    async fn probes_wait_for_their_answers_when_the_server_is_slow() {
        // 8 workers, answers 150 ms after sending (Graph is no loopback), every request
        // refused without `Retry-After` for 10 s. One probe at a time: the step grows after
        // each refusal. (A probe every step regardless sent one every 50 ms, 196 in the 10 s.)
        let throttle = Arc::new(Throttle::default());
        let start = Instant::now();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut workers = Vec::new();
        for _ in 0..8 {
            let (throttle, sent) = (Arc::clone(&throttle), Arc::clone(&sent));
            workers.push(tokio::spawn(async move {
                loop {
                    let ticket = throttle.admit().await;
                    if start.elapsed() >= S(10) {
                        break;
                    }
                    sent.lock().unwrap().push(start.elapsed());
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    throttle.throttled(ticket.sent_at, None);
                }
            }));
        }
        for worker in workers {
            worker.await.unwrap();
        }
        let sent = sent.lock().unwrap().clone();
        let probes: Vec<_> = sent.iter().filter(|at| **at > Duration::ZERO).collect();
        assert!(probes.len() <= 20, "{} probes: {probes:?}", probes.len());
        // Never two probes out at once.
        for pair in probes.windows(2) {
            assert!(
                *pair[1] - *pair[0] >= Duration::from_millis(150),
                "{probes:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn apps_refused_together_probe_at_the_same_moments() {
        // No jitter in the probe schedule: apps of one tenant are refused together when the
        // tenant's window fills, and the one whose probes came first would take the window.
        // So the schedule is the same for every app, as offsets from its 429 (one app after
        // the other here, so that neither can wait for the other's probes).
        let mut schedules = Vec::new();
        for app in [Throttle::default(), Throttle::default()] {
            let sent = app.admit().await.sent_at;
            app.throttled(sent, None);
            let refused = Instant::now();
            let mut probes = Vec::new();
            for _ in 0..6 {
                let sent = app.admit().await.sent_at;
                probes.push(sent - refused);
                app.throttled(sent, None);
            }
            schedules.push(probes);
        }
        assert_eq!(schedules[0], schedules[1]);
        assert_eq!(schedules[0][0], FIRST_PROBE);
    }

    /// A fixed window of accepted requests shared by apps (a tenant's limit), deciding when a
    /// request's service ends.
    struct SharedWindow {
        start: Instant,
        width: Duration,
        limit: u32,
        index: u64,
        used: u32,
    }

    impl SharedWindow {
        /// The window that accepted a request now, if one did.
        fn ask(&mut self, now: Instant) -> Option<u64> {
            let since = now.saturating_duration_since(self.start).as_nanos();
            let index = u64::try_from(since / self.width.as_nanos()).unwrap();
            if index != self.index {
                (self.index, self.used) = (index, 0);
            }
            (self.used < self.limit).then(|| {
                self.used += 1;
                index
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn apps_sharing_a_window_without_retry_after_find_each_reopening_together() {
        // Two apps of one tenant, 4 workers each, 20 ms per request, 300 items each; the tenant
        // accepts 60 per second and refuses beyond it with no `Retry-After`. The window's own
        // 429 comes at a different point of each window (pacing, the other app), so only the
        // period between reopenings says when the next one is; and both apps must probe at the
        // same moments, or the first one in takes the window.
        const ITEMS: u32 = 300;
        let start = Instant::now();
        let window = Arc::new(Mutex::new(SharedWindow {
            start,
            width: S(1),
            limit: 60,
            index: 0,
            used: 0,
        }));
        // (window, app) -> how late into the window the app's first acceptance came.
        let firsts = Arc::new(Mutex::new(std::collections::BTreeMap::new()));
        let mut workers = Vec::new();
        for app in 0..2 {
            let throttle = Arc::new(Throttle::default());
            let accepted = Arc::new(std::sync::atomic::AtomicU32::new(0));
            for _ in 0..4 {
                let (throttle, accepted) = (Arc::clone(&throttle), Arc::clone(&accepted));
                let (window, firsts) = (Arc::clone(&window), Arc::clone(&firsts));
                workers.push(tokio::spawn(async move {
                    use std::sync::atomic::Ordering::SeqCst;
                    while accepted.load(SeqCst) < ITEMS {
                        let ticket = throttle.admit().await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let now = Instant::now();
                        let answer = window.lock().unwrap().ask(now);
                        match answer {
                            Some(index) => {
                                throttle.succeeded(ticket.sent_at);
                                accepted.fetch_add(1, SeqCst);
                                let late = now - start - S(1) * u32::try_from(index).unwrap();
                                firsts.lock().unwrap().entry((index, app)).or_insert(late);
                            }
                            None => throttle.throttled(ticket.sent_at, None),
                        }
                    }
                }));
            }
        }
        for worker in workers {
            worker.await.unwrap();
        }
        let elapsed = start.elapsed();
        let firsts = firsts.lock().unwrap().clone();
        let report = format!("{elapsed:?}; first acceptances (window, app): {firsts:?}");
        // The ideal: the first window, then (600 - 60) / 60 windows.
        assert!(elapsed <= S(9).mul_f64(1.15), "{report}");
        // From the third window on, each app's first acceptance comes with the reopening (a
        // request's 20 ms, a probe step, a request in flight) and close to the other app's.
        // (Probing by offsets from the 429 alone found them 170-780 ms late, later each window,
        // and took 11.4 s.)
        for ((index, app), late) in &firsts {
            if (3..9).contains(index) {
                assert!(*late <= Duration::from_millis(100), "app {app}: {report}");
                let other = firsts.get(&(*index, 1 - app)).copied().unwrap_or(S(1));
                assert!(
                    late.abs_diff(other) <= Duration::from_millis(50),
                    "{report}"
                );
            }
        }
    }
}
