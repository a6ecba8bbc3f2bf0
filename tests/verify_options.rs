//! `VerifyOptions` (issue 25): a custom poll schedule's reads arrive at the stated times and the
//! timeout ends the wait with `Error::NotVerified` after the stated wait; the defaults are
//! `verify_assignment`'s; schedules that cannot work are refused before anything is sent.
//!
//! On tokio's paused clock: reads are counted at the stand-in at chosen instants, so the test
//! measures the client's schedule, not the machine's speed.

mod support;

use std::time::Duration;

use autopilot_resource_account::{Error, GraphClient, InputErrorKind, VerifyOptions};
use autopilot_resource_account_stand_in::{Device, StandIn};
use support::{DEVICE, assignment, client, device};
use tokio::time::Instant;

/// A stand-in whose device never reports the assignment, and a client of it.
async fn never_assigned() -> (StandIn, GraphClient) {
    let graph = StandIn::start().await.unwrap();
    graph.add_devices([Device::new(DEVICE, "PF1")]);
    let client = client(&graph);
    (graph, client)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test(start_paused = true)]
async fn a_custom_schedule_reads_at_the_stated_times() {
    let (graph, client) = never_assigned().await;
    let options = VerifyOptions::default()
        .with_timeout(secs(20))
        .with_first_poll(secs(1))
        .with_max_poll(secs(4));
    let start = Instant::now();
    let wait = tokio::spawn(async move {
        client
            .verify_assignment_with(&device(), &assignment(), &options)
            .await
    });
    // Pauses 1, 2, 4 (the cap), 4, 4, 4, then the last second of the timeout.
    let reads_at = [0, 1, 3, 7, 11, 15, 19, 20];
    let margin = Duration::from_millis(10);
    for (n, at) in reads_at.into_iter().enumerate() {
        if at > 0 {
            tokio::time::sleep_until(start + secs(at) - margin).await;
            assert_eq!(graph.requests().len(), n, "before the read at {at} s");
        }
        tokio::time::sleep_until(start + secs(at) + margin).await;
        assert_eq!(graph.requests().len(), n + 1, "after the read at {at} s");
    }
    let err = wait.await.unwrap().unwrap_err();
    match err {
        Error::NotVerified { waited, .. } => assert_eq!(waited, secs(20)),
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(secs(60)).await;
    assert_eq!(
        graph.requests().len(),
        reads_at.len(),
        "no read after the timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn the_timeout_ends_the_wait_after_the_stated_time() {
    let (graph, client) = never_assigned().await;
    let options = VerifyOptions::default()
        .with_timeout(secs(12))
        .with_first_poll(secs(5))
        .with_max_poll(secs(5));
    let start = Instant::now();
    let err = client
        .verify_assignment_with(&device(), &assignment(), &options)
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), secs(12));
    match &err {
        Error::NotVerified {
            waited,
            still_reports,
            ..
        } => {
            assert_eq!(*waited, secs(12));
            assert!(
                still_reports.contains("userPrincipalName"),
                "{still_reports}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Reads at 0, 5, 10 and 12 (the pause cut to the timeout).
    assert_eq!(graph.requests().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn the_defaults_are_the_schedule_of_verify_assignment() {
    let options = VerifyOptions::default();
    assert_eq!(options.first_poll(), Duration::from_millis(200));
    assert_eq!(options.max_poll(), secs(30));
    assert_eq!(options.timeout(), secs(300));
    // The 11 reads in 100 s of tests/hardening.rs's `verify_assignment`.
    let (graph, client) = never_assigned().await;
    let start = Instant::now();
    let err = client
        .verify_assignment_with(&device(), &assignment(), &options.with_timeout(secs(100)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotVerified { .. }), "{err:?}");
    assert_eq!(start.elapsed(), secs(100));
    assert_eq!(graph.requests().len(), 11);
}

#[tokio::test(start_paused = true)]
async fn a_zero_timeout_reads_once() {
    // As `verify_assignment(…, Duration::ZERO)` always did (the CLI's `--verify-timeout 0`).
    let (graph, client) = never_assigned().await;
    let options = VerifyOptions::default().with_timeout(Duration::ZERO);
    let err = client
        .verify_assignment_with(&device(), &assignment(), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotVerified { waited, .. } if waited.is_zero()),
        "{err:?}"
    );
    assert_eq!(graph.requests().len(), 1);
}

#[tokio::test]
async fn a_schedule_that_cannot_work_is_refused_before_anything_is_sent() {
    let (graph, client) = never_assigned().await;
    let default = VerifyOptions::default();
    for (options, parameter, says) in [
        (
            default.with_first_poll(Duration::ZERO),
            "first_poll",
            "first pause must be greater than zero",
        ),
        (
            default.with_max_poll(Duration::ZERO),
            "max_poll",
            "longest pause must be greater than zero",
        ),
        (
            default.with_first_poll(secs(10)).with_max_poll(secs(5)),
            "first_poll",
            "first pause (10s) is longer than the longest (5s)",
        ),
    ] {
        let err = client
            .verify_assignment_with(&device(), &assignment(), &options)
            .await
            .unwrap_err();
        let Error::InvalidInput(input) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(input.kind(), InputErrorKind::PollSchedule);
        assert!(!input.kind().is_builder_mistake());
        assert_eq!(input.parameter(), Some(parameter));
        assert!(err.to_string().contains(says), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
        assert!(!err.is_retryable());
    }
    assert!(graph.requests().is_empty());
    // The edge that works: the first pause equal to the longest.
    let (graph, client) = never_assigned().await;
    let equal = default
        .with_timeout(Duration::ZERO)
        .with_first_poll(secs(5))
        .with_max_poll(secs(5));
    let err = client
        .verify_assignment_with(&device(), &assignment(), &equal)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotVerified { .. }), "{err:?}");
    assert_eq!(graph.requests().len(), 1);
}
