//! Probing after a 429 without `Retry-After`.

use super::*;

#[tokio::test(start_paused = true)]
async fn without_retry_after_it_probes_and_never_collapses() {
    let throttle = Throttle::default();
    let start = Instant::now();
    // Every request refused for 10 s, no `Retry-After`: probes, spaced at most 2 s apart.
    let mut probes = 0;
    loop {
        let sent = throttle.admit(None).await.sent_at;
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
    let sent = throttle.admit(None).await.sent_at;
    throttle.throttled(sent, None);
    let first = throttle.admit(None).await.sent_at;
    let second = throttle.admit(None).await.sent_at;
    assert!(second > first, "no answer yet: the next probe a step later");
    throttle.succeeded(first);
    let resumed = Instant::now();
    for _ in 0..8 {
        throttle.admit(None).await;
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
        let sent = throttle.admit(None).await.sent_at;
        throttle.succeeded(sent);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = throttle.admit(None).await.sent_at;
    throttle.throttled(sent, Some(Duration::from_millis(100)));
    let sent = throttle.admit(None).await.sent_at;
    throttle.succeeded(sent);
    let sent = throttle.admit(None).await.sent_at;
    throttle.throttled(sent, None);
    let probe = throttle.admit(None).await.sent_at;
    throttle.succeeded(probe);
    let accepted = Instant::now();
    throttle.admit(None).await;
    assert!(
        accepted.elapsed() >= Duration::from_millis(50),
        "{:?}",
        accepted.elapsed()
    );
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
                let ticket = throttle.admit(None).await;
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
        let sent = app.admit(None).await.sent_at;
        app.throttled(sent, None);
        let refused = Instant::now();
        let mut probes = Vec::new();
        for _ in 0..6 {
            let sent = app.admit(None).await.sent_at;
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
                    let ticket = throttle.admit(None).await;
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
