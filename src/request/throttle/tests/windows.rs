//! Reopened windows, bursts and window-like servers.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_reopened_window_gets_a_part_at_full_speed_then_two_at_a_time_at_a_bounded_rate() {
    // 48 at once, then a 429 asking for 1 s: a window (or a bucket emptied at once).
    let throttle = Throttle::default();
    burst_then_429(&throttle, 48, S(1)).await;
    let start = Instant::now();
    // A quarter of what the last burst got goes at once, with all of it in flight.
    let mut burst = Vec::new();
    for _ in 0..12 {
        burst.push(throttle.admit(None).await);
    }
    assert_eq!(start.elapsed(), S(1), "the gate, then at once");
    // Beyond it, not paced, but two in flight at most: a third waits for an answer.
    let too_many = tokio::time::timeout(S(5), throttle.admit(None)).await;
    assert!(
        too_many.is_err(),
        "a third beyond the burst went out with 12 in flight"
    );
    for ticket in burst {
        throttle.succeeded(ticket.sent_at);
    }
    let first = throttle.admit(None).await;
    let second = throttle.admit(None).await;
    let third = tokio::time::timeout(S(5), throttle.admit(None)).await;
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
        let sent = throttle.admit(None).await.sent_at;
        throttle.succeeded(sent);
        tokio::time::sleep(Duration::from_millis(1000 / 15)).await;
    }
    let sent = throttle.admit(None).await.sent_at;
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
async fn a_run_after_a_window_of_48(left: usize) -> (Throttle, RunPacing) {
    let throttle = Throttle::default();
    let run = RunPacing::Adaptive {
        hint: None,
        left: Some(AtomicUsize::new(left)),
    };
    burst_then_429_in_run(&throttle, Some(&run), 48, S(1)).await;
    (throttle, run)
}

#[tokio::test(start_paused = true)]
async fn a_run_with_more_windows_left_sends_a_reopened_windows_rest_faster() {
    // Apps of a tenant that share a window finish together only if one that fell behind
    // (more windows left at its share) takes more of the rest: four times the rate of one
    // that has its last window left.
    async fn rest_takes(left: usize) -> Duration {
        let (throttle, run) = a_run_after_a_window_of_48(left).await;
        accept_in_run(&throttle, Some(&run), 12).await;
        let start = Instant::now();
        accept_in_run(&throttle, Some(&run), 200).await;
        start.elapsed()
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
        let reopened = Instant::now() + S(1);
        let mut tickets = Vec::new();
        while tickets.len() < left {
            match tokio::time::timeout_at(reopened + S(1), throttle.admit(Some(&run))).await {
                Ok(ticket) => tickets.push(ticket),
                Err(_) => break,
            }
        }
        tickets.len()
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
    let sent = throttle.admit(None).await.sent_at;
    throttle.throttled(sent, None);
    let start = Instant::now();
    loop {
        let sent = throttle.admit(None).await.sent_at;
        if start.elapsed() >= S(1) {
            throttle.succeeded(sent);
            break;
        }
        throttle.throttled(sent, None);
    }
    let resumed = Instant::now();
    accept_at_once(&throttle, 47).await;
    assert_eq!(resumed.elapsed(), Duration::ZERO, "the burst at once");
    let ticket = throttle.admit(None).await;
    throttle.succeeded(ticket.sent_at);
    assert!(resumed.elapsed() > Duration::ZERO, "paced beyond the burst");
}
