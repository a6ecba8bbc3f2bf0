//! Shared by the benchmarks: items, and a check that every item ended exactly once.

#![allow(dead_code)]

use autopilot_resource_account::{BulkItem, Outcome, ResourceAccountAssignment, Target};
use autopilot_resource_account_stand_in::StandIn;

pub fn items(n: usize) -> Vec<BulkItem<usize>> {
    items_from(0, n)
}

/// `n` items keyed `start..start + n`, each for its own device.
pub fn items_from(start: usize, n: usize) -> Vec<BulkItem<usize>> {
    (start..start + n)
        .map(|i| {
            BulkItem::new(
                i,
                Target::device(format!("device-{i:05}").parse().expect("an allowed id")),
                ResourceAccountAssignment::new()
                    .with_user_principal_name(format!("room-{i}@contoso.com"))
                    .with_addressable_user_name(format!("Room {i}"))
                    .with_resource_account_name(format!("room-{i}")),
            )
        })
        .collect()
}

/// What the stand-in and the outcomes say about a run.
#[derive(Debug, Default)]
pub struct Tally {
    pub outcomes: usize,
    pub keys_missing: usize,
    pub keys_repeated: usize,
    pub ok: usize,
    pub failed: usize,
    /// An `Ok` outcome whose device the stand-in never accepted.
    pub lost: usize,
    /// Devices the stand-in accepted more than once.
    pub duplicated: usize,
    /// A failed outcome whose device the stand-in accepted anyway.
    pub accepted_but_failed: usize,
    pub requests: usize,
    pub throttled: usize,
}

pub fn tally(graph: &StandIn, n: usize, outcomes: &[Outcome<usize>]) -> Tally {
    let counters = graph.counters();
    let mut seen = vec![0u32; n];
    let mut t = Tally {
        outcomes: outcomes.len(),
        requests: counters.requests,
        throttled: counters.throttled,
        duplicated: counters.duplicated().len(),
        ..Tally::default()
    };
    for o in outcomes {
        seen[*o.key()] += 1;
        let accepted = counters
            .succeeded
            .get(o.item.target.path_device_id().as_str())
            .copied()
            .unwrap_or(0);
        match &o.result {
            Ok(()) => {
                t.ok += 1;
                if accepted == 0 {
                    t.lost += 1;
                }
            }
            Err(_) => {
                t.failed += 1;
                if accepted > 0 {
                    t.accepted_but_failed += 1;
                }
            }
        }
    }
    t.keys_missing = seen.iter().filter(|&&c| c == 0).count();
    t.keys_repeated = seen.iter().filter(|&&c| c > 1).count();
    t
}
