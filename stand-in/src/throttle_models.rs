//! Throttle models for the stand-in: the ways Graph (Intune) may count writes, how it says so,
//! and bursts of 503/504 on top.
//!
//! Microsoft documents Intune's write limit only as "about 100 requests per 20 seconds per app per
//! tenant" (200 per tenant). Whether that is a token bucket, a fixed or a sliding window, or a cap on
//! concurrent requests is not said, so a client that paces its calls is tested against each of them
//! ([`Model`]), with the pause hint in each form Graph uses or none at all ([`PauseHint`]).
//!
//! **Who is counted.** A limit applies per app in a tenant ([`Scope::App`]) or per tenant
//! ([`Scope::Tenant`]). The stand-in reads both from the bearer token: `Bearer <tenant>:<app>`
//! (e.g. `contoso:app-1`); a token without `:` is one app in its own tenant (tenant and app are the
//! whole token), which is what a Graph token is.
//!
//! **Refusals** take nothing from any limit, and carry the longest wait among the limits that
//! refused. A refused or failed request never counts as served.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

// tokio's clock (the wall clock unless a test pauses it), as in `rate_limit.rs`.
use tokio::time::Instant;

use super::Reply;

/// How one limit counts requests.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Model {
    /// `rate` requests per second sustained, bursts of up to `burst` (the bucket starts full).
    TokenBucket {
        /// Tokens added per second.
        rate: f64,
        /// Bucket size.
        burst: u32,
    },
    /// At most `limit` requests per window; windows of `window` follow each other from the first
    /// request the key sends.
    FixedWindow {
        /// Requests accepted per window.
        limit: u32,
        /// Window length.
        window: Duration,
    },
    /// At most `limit` requests accepted within any `window` (a sliding log).
    SlidingWindow {
        /// Requests accepted within any window.
        limit: u32,
        /// Window length.
        window: Duration,
    },
    /// At most `limit` requests served at once; each accepted request takes `service` to answer.
    ConcurrencyCap {
        /// Requests in service at once.
        limit: u32,
        /// How long an accepted request is served before its answer.
        service: Duration,
    },
}

impl Model {
    /// Time stretched by `1 / factor` (a 10× faster window for `factor = 10`).
    fn scaled(self, factor: f64) -> Self {
        let shrink =
            |d: Duration| Duration::try_from_secs_f64(d.as_secs_f64() / factor).unwrap_or(d);
        match self {
            Model::TokenBucket { rate, burst } => Model::TokenBucket {
                rate: rate * factor,
                burst,
            },
            Model::FixedWindow { limit, window } => Model::FixedWindow {
                limit,
                window: shrink(window),
            },
            Model::SlidingWindow { limit, window } => Model::SlidingWindow {
                limit,
                window: shrink(window),
            },
            Model::ConcurrencyCap { limit, service } => Model::ConcurrencyCap {
                limit,
                service: shrink(service),
            },
        }
    }

    /// The least time `n` requests need under this limit alone, starting fresh: `(n − B)/R` for
    /// a bucket, `(n − L)/L · W` for a window, `n · S / C` for a concurrency cap.
    pub fn ideal(&self, n: usize) -> Duration {
        let n = n as f64;
        let seconds = match *self {
            Model::TokenBucket { rate, burst } => (n - f64::from(burst)).max(0.0) / rate,
            Model::FixedWindow { limit, window } | Model::SlidingWindow { limit, window } => {
                let limit = f64::from(limit.max(1));
                (n - limit).max(0.0) / limit * window.as_secs_f64()
            }
            Model::ConcurrencyCap { limit, service } => {
                n * service.as_secs_f64() / f64::from(limit.max(1))
            }
        };
        Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
    }
}

/// Whom a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Each app in each tenant separately.
    App,
    /// All apps of a tenant together.
    Tenant,
}

/// How a `429` says when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseHint {
    /// `Retry-After: <seconds>`, rounded up to whole seconds (at least 1), as Intune does.
    Seconds,
    /// `Retry-After: <HTTP-date>`, rounded up to the next whole second.
    HttpDate,
    /// No `Retry-After` at all (Intune answers some 429s without one).
    Absent,
}

/// Bursts of `503`/`504` on top of the limits: for the first `length` of every `every` (counted
/// from when the throttling was set), every request is answered `503` or `504` in turn, without
/// `Retry-After`; they take nothing from any limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outages {
    every: Duration,
    length: Duration,
}

impl Outages {
    /// An outage of `length` at the start of every `every`.
    pub fn new(every: Duration, length: Duration) -> Self {
        Self {
            every: every.max(Duration::from_millis(1)),
            length,
        }
    }
}

/// The stand-in's throttling: limits, the pause hint of its 429s, and outages.
///
/// ```
/// use std::time::Duration;
/// use autopilot_resource_account_stand_in::{Model, PauseHint, Scope, Throttling};
///
/// // Intune's documented write limit, as fixed windows, with `Retry-After` in seconds.
/// let intune = Throttling::intune();
/// assert_eq!(intune.ideal(400), Duration::from_secs(60));
/// // The same, ten times faster, and without `Retry-After`.
/// let fast = Throttling::intune().scaled(10.0).hint(PauseHint::Absent);
/// assert_eq!(fast.ideal(400), Duration::from_secs(6));
/// // Any model, per app or per tenant.
/// let bucket = Throttling::new(PauseHint::HttpDate)
///     .limit(Scope::App, Model::TokenBucket { rate: 5.0, burst: 100 });
/// assert_eq!(bucket.ideal(400), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Throttling {
    limits: Vec<(Scope, Model)>,
    hint: PauseHint,
    outages: Option<Outages>,
    latency: Duration,
}

impl Throttling {
    /// No limits yet; 429s carry `hint`.
    pub fn new(hint: PauseHint) -> Self {
        Self {
            limits: Vec::new(),
            hint,
            outages: None,
            latency: Duration::ZERO,
        }
    }

    /// Intune's documented write limit (the stand-in's one Intune preset): 100 requests per 20 s
    /// per app per tenant and 200 per 20 s per tenant, as fixed windows, `Retry-After` in whole
    /// seconds.
    pub fn intune() -> Self {
        let window = Duration::from_secs(20);
        Self::new(PauseHint::Seconds)
            .limit(Scope::App, Model::FixedWindow { limit: 100, window })
            .limit(Scope::Tenant, Model::FixedWindow { limit: 200, window })
    }

    /// Adds a limit.
    pub fn limit(mut self, scope: Scope, model: Model) -> Self {
        self.limits.push((scope, model));
        self
    }

    /// Sets the pause hint of the 429s.
    pub fn hint(mut self, hint: PauseHint) -> Self {
        self.hint = hint;
        self
    }

    /// Adds bursts of 503/504.
    pub fn outages(mut self, outages: Outages) -> Self {
        self.outages = Some(outages);
        self
    }

    /// Network latency (loopback has next to none; Graph answers in tens to hundreds of
    /// milliseconds): each request reaches the limits half of it after it was sent, and its
    /// answer arrives the other half later. [`scaled`](Self::scaled) leaves it as it is: it is
    /// the network's, not the server's.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The network latency (see [`latency`](Self::latency)).
    pub fn get_latency(&self) -> Duration {
        self.latency
    }

    /// Every time in the limits and outages divided by `factor` (rates multiplied); a factor
    /// that is not a positive finite number leaves them as they are.
    pub fn scaled(mut self, factor: f64) -> Self {
        if !(factor.is_finite() && factor > 0.0) {
            return self;
        }
        for (_, model) in &mut self.limits {
            *model = model.scaled(factor);
        }
        if let Some(outages) = &mut self.outages {
            let shrink =
                |d: Duration| Duration::try_from_secs_f64(d.as_secs_f64() / factor).unwrap_or(d);
            *outages = Outages::new(shrink(outages.every), shrink(outages.length));
        }
        self
    }

    /// The limits.
    pub fn limits(&self) -> &[(Scope, Model)] {
        &self.limits
    }

    /// The pause hint.
    pub fn get_hint(&self) -> PauseHint {
        self.hint
    }

    /// The least time `n` requests of one app need: the slowest of the limits (outages aside).
    pub fn ideal(&self, n: usize) -> Duration {
        self.limits
            .iter()
            .map(|(_, model)| model.ideal(n))
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

/// A request's standing with every limit.
#[derive(Debug, Default)]
pub(super) struct Admitted {
    /// How long the answer is held back (a concurrency cap's service time).
    pub(super) service: Duration,
    /// Concurrency slots to give back once answered: (limit index, key).
    pub(super) slots: Vec<(usize, String)>,
}

/// The live state of a [`Throttling`].
#[derive(Debug)]
pub(super) struct ThrottleState {
    config: Throttling,
    since: Instant,
    counters: HashMap<(usize, String), Counter>,
    outage_turn: bool,
}

#[derive(Debug)]
enum Counter {
    Bucket {
        tokens: f64,
        at: Instant,
    },
    Fixed {
        start: Instant,
        index: u64,
        used: u32,
    },
    Sliding(VecDeque<Instant>),
    InService(u32),
}

impl ThrottleState {
    pub(super) fn new(config: Throttling) -> Self {
        Self {
            config,
            since: Instant::now(),
            counters: HashMap::new(),
            outage_turn: false,
        }
    }

    /// Admits a request of `token` at `now`, or refuses it with the reply to send.
    /// The configured network latency.
    pub(super) fn latency(&self) -> Duration {
        self.config.latency
    }

    pub(super) fn admit(&mut self, token: &str, now: Instant) -> Result<Admitted, Box<Reply>> {
        if let Some(outages) = self.config.outages {
            let into = now.saturating_duration_since(self.since);
            let phase = into.as_nanos() % outages.every.as_nanos().max(1);
            if phase < outages.length.as_nanos() {
                self.outage_turn = !self.outage_turn;
                let status = if self.outage_turn { 503 } else { 504 };
                return Err(Box::new(Reply::status(status).odata(
                    "ServiceUnavailable",
                    "The service is temporarily unavailable.",
                )));
            }
        }
        let (tenant, app) = identity(token);
        let keys: Vec<String> = self
            .config
            .limits
            .iter()
            .map(|(scope, _)| match scope {
                Scope::App => format!("{tenant}\u{0}{app}"),
                Scope::Tenant => tenant.to_owned(),
            })
            .collect();
        // Refusals take nothing: check every limit first, then take from each.
        let mut wait: Option<Duration> = None;
        for (index, key) in keys.iter().enumerate() {
            let model = self.config.limits[index].1;
            let counter = self.counter(index, key, model, now);
            if let Some(w) = counter.wait(model, now) {
                wait = Some(wait.map_or(w, |current| current.max(w)));
            }
        }
        if let Some(wait) = wait {
            return Err(Box::new(throttled(self.config.hint, wait)));
        }
        let mut admitted = Admitted::default();
        for (index, key) in keys.into_iter().enumerate() {
            let model = self.config.limits[index].1;
            self.counter(index, &key, model, now).take(now);
            if let Model::ConcurrencyCap { service, .. } = model {
                admitted.service = admitted.service.max(service);
                admitted.slots.push((index, key));
            }
        }
        Ok(admitted)
    }

    /// Gives back the concurrency slots of an answered (or abandoned) request.
    pub(super) fn release(&mut self, slots: &[(usize, String)]) {
        for slot in slots {
            if let Some(Counter::InService(n)) = self.counters.get_mut(slot) {
                *n = n.saturating_sub(1);
            }
        }
    }

    fn counter(&mut self, index: usize, key: &str, model: Model, now: Instant) -> &mut Counter {
        self.counters
            .entry((index, key.to_owned()))
            .or_insert_with(|| match model {
                Model::TokenBucket { burst, .. } => Counter::Bucket {
                    tokens: f64::from(burst),
                    at: now,
                },
                Model::FixedWindow { .. } => Counter::Fixed {
                    start: now,
                    index: 0,
                    used: 0,
                },
                Model::SlidingWindow { .. } => Counter::Sliding(VecDeque::new()),
                Model::ConcurrencyCap { .. } => Counter::InService(0),
            })
    }
}

impl Counter {
    /// `None` when a request now would be accepted; else how long until it would be.
    fn wait(&mut self, model: Model, now: Instant) -> Option<Duration> {
        let secs = |s: f64| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX);
        match (self, model) {
            (Counter::Bucket { tokens, at }, Model::TokenBucket { rate, burst }) => {
                let elapsed = now.saturating_duration_since(*at).as_secs_f64();
                *tokens = (*tokens + elapsed * rate).min(f64::from(burst));
                *at = now;
                (*tokens < 1.0).then(|| secs((1.0 - *tokens) / rate))
            }
            (Counter::Fixed { start, index, used }, Model::FixedWindow { limit, window }) => {
                let width = window.as_nanos().max(1);
                let current = (now.saturating_duration_since(*start).as_nanos() / width) as u64;
                if current != *index {
                    (*index, *used) = (current, 0);
                }
                let end = Duration::from_nanos(
                    u64::try_from(width * u128::from(current + 1)).unwrap_or(u64::MAX),
                );
                (*used >= limit).then(|| {
                    start
                        .checked_add(end)
                        .map_or(Duration::MAX, |end| end.saturating_duration_since(now))
                })
            }
            (Counter::Sliding(accepted), Model::SlidingWindow { limit, window }) => {
                while accepted
                    .front()
                    .is_some_and(|&at| now.saturating_duration_since(at) >= window)
                {
                    accepted.pop_front();
                }
                (accepted.len() >= limit as usize).then(|| {
                    accepted[0]
                        .checked_add(window)
                        .map_or(Duration::MAX, |free| free.saturating_duration_since(now))
                })
            }
            (Counter::InService(n), Model::ConcurrencyCap { limit, service }) => {
                (*n >= limit).then_some(service)
            }
            _ => None,
        }
    }

    fn take(&mut self, now: Instant) {
        match self {
            Counter::Bucket { tokens, .. } => *tokens -= 1.0,
            Counter::Fixed { used, .. } => *used += 1,
            Counter::Sliding(accepted) => accepted.push_back(now),
            Counter::InService(n) => *n += 1,
        }
    }
}

/// `(tenant, app)` of a bearer token: `tenant:app`, or the whole token for both.
fn identity(token: &str) -> (&str, &str) {
    token.split_once(':').unwrap_or((token, token))
}

/// Intune's throttling answer, with the pause hint in the configured form.
pub(super) fn throttled(hint: PauseHint, wait: Duration) -> Reply {
    let reply = Reply::status(429);
    let reply = match hint {
        PauseHint::Seconds => {
            let seconds = wait
                .as_secs()
                .saturating_add(u64::from(wait.subsec_nanos() > 0));
            reply.header("Retry-After", seconds.max(1).to_string())
        }
        PauseHint::HttpDate => {
            // HTTP-dates end in year 9999: a wait beyond a year says a year.
            const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
            let now = SystemTime::now();
            let at = now.checked_add(wait.min(YEAR)).unwrap_or(now);
            // An HTTP-date has whole seconds: round up so that the client never comes back early.
            let sub = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let at = if sub > 0 {
                at + Duration::from_nanos(1_000_000_000 - u64::from(sub))
            } else {
                at
            };
            reply.header("Retry-After", httpdate::fmt_http_date(at))
        }
        PauseHint::Absent => reply,
    };
    reply.odata(
        "TooManyRequests",
        "Too many requests. Please retry after the time in the Retry-After header.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn state(throttling: Throttling) -> (ThrottleState, Instant) {
        let state = ThrottleState::new(throttling);
        let t0 = state.since;
        (state, t0)
    }

    async fn retry_after(reply: Reply) -> Option<String> {
        let response = reply.into_response(None).await.ok()?;
        let value = response.headers().get("retry-after")?;
        Some(value.to_str().ok()?.to_owned())
    }

    #[test]
    fn fixed_window_resets_at_the_boundary_and_says_how_long() {
        let window = Duration::from_secs(20);
        let (mut s, t0) = state(
            Throttling::new(PauseHint::Seconds)
                .limit(Scope::App, Model::FixedWindow { limit: 3, window }),
        );
        for _ in 0..3 {
            assert!(s.admit("a", t0).is_ok());
        }
        let refused = s.admit("a", t0 + MS(500)).unwrap_err();
        assert_eq!(refused.status_code(), 429);
        assert!(s.admit("a", t0 + MS(19_999)).is_err());
        assert!(s.admit("a", t0 + window).is_ok(), "a new window");
        // Another app has its own window.
        assert!(s.admit("b", t0 + MS(1)).is_ok());
    }

    #[test]
    fn sliding_window_frees_each_slot_one_window_after_it_was_used() {
        let window = Duration::from_secs(2);
        let (mut s, t0) = state(
            Throttling::new(PauseHint::Absent)
                .limit(Scope::App, Model::SlidingWindow { limit: 2, window }),
        );
        assert!(s.admit("a", t0).is_ok());
        assert!(s.admit("a", t0 + MS(1000)).is_ok());
        assert!(s.admit("a", t0 + MS(1500)).is_err());
        assert!(
            s.admit("a", t0 + MS(2000)).is_ok(),
            "the first slot is free"
        );
        assert!(
            s.admit("a", t0 + MS(2500)).is_err(),
            "unlike a fixed window"
        );
        assert!(s.admit("a", t0 + MS(3000)).is_ok());
    }

    #[test]
    fn concurrency_cap_counts_requests_in_service() {
        let service = MS(100);
        let (mut s, t0) = state(
            Throttling::new(PauseHint::Seconds)
                .limit(Scope::App, Model::ConcurrencyCap { limit: 2, service }),
        );
        let first = s.admit("a", t0).unwrap();
        assert_eq!(first.service, service);
        let _second = s.admit("a", t0).unwrap();
        assert!(s.admit("a", t0).is_err());
        s.release(&first.slots);
        assert!(s.admit("a", t0).is_ok());
    }

    #[test]
    fn app_and_tenant_limits_hold_at_once() {
        let window = Duration::from_secs(20);
        let (mut s, t0) = state(
            Throttling::new(PauseHint::Seconds)
                .limit(Scope::App, Model::FixedWindow { limit: 2, window })
                .limit(Scope::Tenant, Model::FixedWindow { limit: 3, window }),
        );
        assert!(s.admit("contoso:app-1", t0).is_ok());
        assert!(s.admit("contoso:app-1", t0).is_ok());
        assert!(s.admit("contoso:app-1", t0).is_err(), "the app's limit");
        assert!(s.admit("contoso:app-2", t0).is_ok());
        assert!(s.admit("contoso:app-2", t0).is_err(), "the tenant's limit");
        assert!(s.admit("fabrikam:app-1", t0).is_ok(), "another tenant");
        // The refusals took nothing: app-2 still had room of its own.
        assert!(s.admit("contoso:app-2", t0 + window).is_ok());
    }

    #[test]
    fn intune_preset_and_scaling() {
        let intune = Throttling::intune();
        assert_eq!(intune.get_hint(), PauseHint::Seconds);
        assert_eq!(intune.limits().len(), 2);
        assert_eq!(intune.ideal(400), Duration::from_secs(60));
        let fast = intune.scaled(10.0);
        assert_eq!(
            fast.limits()[0],
            (
                Scope::App,
                Model::FixedWindow {
                    limit: 100,
                    window: Duration::from_secs(2)
                }
            )
        );
        assert_eq!(fast.clone().scaled(f64::NAN), fast);
        let bucket = Model::TokenBucket {
            rate: 5.0,
            burst: 100,
        };
        assert_eq!(bucket.ideal(400), Duration::from_secs(60));
        assert_eq!(bucket.ideal(50), Duration::ZERO);
        let cap = Model::ConcurrencyCap {
            limit: 4,
            service: MS(800),
        };
        assert_eq!(cap.ideal(400), Duration::from_secs(80));
    }

    #[tokio::test]
    async fn the_hint_comes_in_each_form() {
        let wait = MS(1_200);
        assert_eq!(
            retry_after(throttled(PauseHint::Seconds, wait))
                .await
                .as_deref(),
            Some("2")
        );
        assert_eq!(
            retry_after(throttled(PauseHint::Seconds, MS(10)))
                .await
                .as_deref(),
            Some("1"),
            "never 0"
        );
        assert_eq!(retry_after(throttled(PauseHint::Absent, wait)).await, None);
        let date = retry_after(throttled(PauseHint::HttpDate, wait))
            .await
            .unwrap();
        let at = httpdate::parse_http_date(&date).unwrap();
        let ahead = at.duration_since(SystemTime::now()).unwrap();
        assert!(ahead > MS(1_000) && ahead <= MS(2_300), "{ahead:?}");
        // A wait too long for any clock still renders.
        assert!(
            retry_after(throttled(PauseHint::HttpDate, Duration::MAX))
                .await
                .is_some()
        );
        assert!(
            retry_after(throttled(PauseHint::Seconds, Duration::MAX))
                .await
                .is_some()
        );
    }

    #[test]
    fn outages_answer_503_and_504_in_turn_and_take_nothing() {
        let (mut s, t0) = state(
            Throttling::new(PauseHint::Seconds)
                .limit(
                    Scope::App,
                    Model::FixedWindow {
                        limit: 1,
                        window: Duration::from_secs(60),
                    },
                )
                .outages(Outages::new(
                    Duration::from_secs(10),
                    Duration::from_secs(1),
                )),
        );
        let first = s.admit("a", t0).unwrap_err();
        let second = s.admit("a", t0 + MS(500)).unwrap_err();
        assert_eq!((first.status_code(), second.status_code()), (503, 504));
        assert!(
            s.admit("a", t0 + MS(1500)).is_ok(),
            "the outage took nothing"
        );
        assert_eq!(s.admit("a", t0 + MS(1600)).unwrap_err().status_code(), 429);
    }
}
