//! `apply`: the plan, then the writes through `assign_many`, each outcome journalled.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use autopilot_resource_account::{BulkItem, BulkOptions, Target};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{ApplyArgs, Global};
use crate::journal::{self, Entry, Journal, Outcome};
use crate::output::{Output, RowReport};
use crate::plan::{self, Planned};
use crate::{Failure, Status, connect, rows};

pub async fn run(global: &Global, args: &ApplyArgs, out: Output) -> Result<Status, Failure> {
    let csv = &args.csv.csv;
    let (rows, bad) = rows::read(csv).map_err(Failure::Usage)?;
    let connection = connect::connect(global).await?;
    let journal_path = args.journal.clone().unwrap_or_else(|| default_journal(csv));
    let last = journal::load(&journal_path, &connection.binding)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    for row in &bad {
        out.bad_row(&csv.display().to_string(), row.line, &row.why);
    }

    let (todo, done): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| {
        !args.resume
            || !last
                .get(&row.fingerprint())
                .is_some_and(|entry| matches!(entry.outcome, Outcome::Verified | Outcome::Assigned))
    });
    for row in &done {
        out.row(&RowReport {
            line: Some(row.line),
            serial_number: row.serial().map(str::to_owned),
            result: "done",
            detail: Some("the journal records it as done".into()),
            ..RowReport::default()
        });
    }
    let mut journal = Journal::open(&journal_path).map_err(Failure::Usage)?;
    let mut counts = Counts {
        already_done: done.len(),
        bad_rows: bad.len(),
        ..Counts::default()
    };

    let planned = plan::plan(&connection.client, todo, global.concurrency).await;
    let mut writes = Vec::new();
    for planned in planned {
        if planned.decision.writes() {
            writes.push(planned);
            continue;
        }
        out.row(&planned.report());
        counts.blocked += 1;
        let mut entry = entry_for(&connection.binding, &planned, Outcome::Blocked);
        entry.detail = planned.decision.detail();
        journal.record(&entry).map_err(Failure::Run)?;
    }

    let progress = if out.json() || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(writes.len() as u64)
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]")
    {
        progress.set_style(style);
    }
    let by_index: HashMap<usize, Planned> = writes.into_iter().enumerate().collect();
    let items: Vec<_> = by_index
        .iter()
        .filter_map(|(index, planned)| {
            let device = planned.device_id.clone()?;
            Some(BulkItem::new(
                *index,
                Target::device(device),
                planned.row.assignment(),
            ))
        })
        .collect();
    let mut outcomes = connection.client.assign_many(
        items,
        BulkOptions::default().concurrency(global.concurrency),
    );
    while let Some(outcome) = outcomes.next().await {
        let planned = &by_index[outcome.key()];
        let mut report = planned.report();
        let entry = match &outcome.result {
            Ok(()) => {
                counts.assigned += 1;
                report.result = "assigned";
                entry_for(&connection.binding, planned, Outcome::Assigned)
            }
            Err(error) => {
                counts.failed += 1;
                report.result = "failed";
                report.detail = Some(error.to_string());
                if let Some(status) = error.status() {
                    report.extra.insert("status".into(), status.into());
                }
                let mut entry = entry_for(&connection.binding, planned, Outcome::Failed);
                entry.detail = Some(error.to_string());
                entry.status = error.status();
                entry.request_id = error.request_id().map(str::to_owned);
                entry
            }
        };
        journal.record(&entry).map_err(Failure::Run)?;
        progress.suspend(|| out.row(&report));
        progress.inc(1);
        progress.set_message(format!("{} failed", counts.failed));
    }
    progress.finish_and_clear();

    out.summary(
        &[
            ("assigned", counts.assigned),
            ("failed", counts.failed),
            ("blocked", counts.blocked),
            ("already_done", counts.already_done),
            ("bad_rows", counts.bad_rows),
        ],
        Some(&format!("journal: {}", journal.path().display())),
    );
    Ok(match counts.failed + counts.blocked + counts.bad_rows {
        0 => Status::AllDone,
        _ => Status::SomeFailed,
    })
}

#[derive(Debug, Default)]
struct Counts {
    assigned: usize,
    failed: usize,
    blocked: usize,
    already_done: usize,
    bad_rows: usize,
}

/// `<csv>.journal.jsonl`, next to the CSV file.
fn default_journal(csv: &std::path::Path) -> PathBuf {
    let mut name = csv.as_os_str().to_owned();
    name.push(".journal.jsonl");
    PathBuf::from(name)
}

fn entry_for(binding: &journal::Binding, planned: &Planned, outcome: Outcome) -> Entry {
    let mut entry = Entry::new(
        binding,
        planned.row.fingerprint(),
        planned.row.line,
        outcome,
    );
    entry.serial_number = planned.row.serial().map(str::to_owned);
    entry.device_id = planned.device_id.clone();
    entry
}
