//! `apply`: the plan, then the writes through `assign_many`, then the verification of each
//! written row (bounded, concurrent), every outcome journalled.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use autopilot_resource_account::{BulkItem, BulkOptions, Error, GraphClient, Target};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{ApplyArgs, Global};
use crate::journal::{Binding, Entry, Journal, Outcome};
use crate::output::{Output, RowReport};
use crate::plan::{self, Decision, Planned};
use crate::rows::Row;
use crate::{Failure, Status, connect, rows};

/// What `apply` may do beyond assigning.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub allow_next_enrollment: bool,
    pub reassign: bool,
    pub verify_timeout: Duration,
    pub concurrency: usize,
}

/// How many rows ended how.
#[derive(Debug, Default)]
pub struct Counts {
    pub verified: usize,
    pub already_assigned: usize,
    pub unverified: usize,
    pub failed: usize,
    pub blocked: usize,
}

impl Counts {
    pub fn not_done(&self) -> usize {
        self.unverified + self.failed + self.blocked
    }

    /// The counts as the summary names them (one list for `apply` and `demo`).
    pub fn named(&self) -> [(&'static str, usize); 5] {
        [
            ("verified", self.verified),
            ("already_assigned", self.already_assigned),
            ("unverified", self.unverified),
            ("failed", self.failed),
            ("blocked", self.blocked),
        ]
    }
}

pub async fn run(global: &Global, args: &ApplyArgs, out: Output) -> Result<Status, Failure> {
    let csv = &args.csv.csv;
    let rows::Sheet { rows, bad, notes } = rows::read(csv).map_err(Failure::Usage)?;
    let connection = connect::connect(global).await?;
    let journal_path = args.journal.clone().unwrap_or_else(|| default_journal(csv));
    // Locked from here to the end of the run: what it reads stays true while it writes.
    let mut journal = Journal::open(&journal_path).map_err(Failure::Usage)?;
    let last = journal
        .load(&connection.binding)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    out.notes(&csv.display().to_string(), &notes);
    for row in &bad {
        out.bad_row(&csv.display().to_string(), row.line, &row.why);
    }
    let (todo, done): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|row| {
        !args.resume
            || !last
                .get(&row.fingerprint())
                .is_some_and(|entry| entry.outcome == Outcome::Verified)
    });
    for row in &done {
        out.row(&RowReport {
            line: Some(row.line),
            serial_number: row.serial().map(str::to_owned),
            result: "done",
            detail: Some("the journal records it as verified".into()),
            ..RowReport::default()
        });
    }
    let options = Options {
        allow_next_enrollment: args.allow_next_enrollment,
        reassign: args.reassign,
        verify_timeout: args.verify_timeout,
        concurrency: global.concurrency,
    };
    let planned = plan::plan(&connection.client, todo, global.concurrency).await;
    let mut record = Recorder {
        journal: Some((&mut journal, &connection.binding)),
    };
    let counts = execute(&connection.client, planned, options, &mut record, out).await?;
    out.summary(
        &[
            counts.named().as_slice(),
            &[("already_done", done.len()), ("bad_rows", bad.len())],
        ]
        .concat(),
        Some(&format!("journal: {}", journal_path.display())),
    );
    Ok(match counts.not_done() + bad.len() {
        0 => Status::AllDone,
        _ => Status::SomeFailed,
    })
}

/// Journals outcomes, when there is a journal (the demo has none).
pub struct Recorder<'a> {
    pub journal: Option<(&'a mut Journal, &'a Binding)>,
}

impl Recorder<'_> {
    fn record(
        &mut self,
        planned: &Planned,
        outcome: Outcome,
        detail: Option<String>,
        error: Option<&Error>,
    ) -> Result<(), Failure> {
        let Some((journal, binding)) = self.journal.as_mut() else {
            return Ok(());
        };
        let mut entry = Entry::new(
            binding,
            planned.row.fingerprint(),
            planned.row.line,
            outcome,
        );
        entry.serial_number = planned.row.serial().map(str::to_owned);
        entry.device_id = planned.device_id.clone();
        entry.detail = detail;
        entry.status = error.and_then(Error::status);
        entry.request_id = error.and_then(Error::request_id).map(str::to_owned);
        journal.record(&entry).map_err(Failure::Run)
    }
}

/// Runs a plan: unblocks userless enrollment when allowed, writes, verifies. One printed line
/// and one journal entry per row at the end of its path (plus `assigned` in the journal between
/// the write and its verification, so a crash there leaves evidence).
pub async fn execute(
    client: &GraphClient,
    planned: Vec<Planned>,
    options: Options,
    record: &mut Recorder<'_>,
    out: Output,
) -> Result<Counts, Failure> {
    let mut counts = Counts::default();
    let mut writes: Vec<Planned> = Vec::new();
    for p in planned {
        let mut unblocked = false;
        if options.allow_next_enrollment
            && p.userless_blocked
            && p.blockers.is_empty()
            && let Some(device) = &p.device_id
        {
            match client.allow_next_enrollment(device).await {
                Ok(()) => unblocked = true,
                Err(e) => {
                    let why = format!("allowNextEnrollment failed: {e}");
                    finish(
                        &mut counts,
                        record,
                        out,
                        &p,
                        "failed",
                        Outcome::Failed,
                        Some(why),
                        Some(&e),
                    )?;
                    continue;
                }
            }
        }
        // Rows that are not written end here, with what the plan found.
        let settled = match p.decision(unblocked) {
            Decision::Assign => None,
            Decision::Reassign { .. } if options.reassign => None,
            Decision::Reassign { current } => Some((
                "blocked",
                Outcome::Blocked,
                Some(format!(
                    "{current} is linked now; apply --reassign replaces it"
                )),
            )),
            Decision::AlreadyAssigned => Some(("already-assigned", Outcome::Verified, None)),
            Decision::Blocked(why) => Some(("blocked", Outcome::Blocked, Some(why))),
        };
        match settled {
            None => writes.push(p),
            Some((status, outcome, why)) => {
                finish(&mut counts, record, out, &p, status, outcome, why, None)?
            }
        }
    }

    let progress = if out.json() || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(2 * writes.len() as u64)
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed_precise}]")
    {
        progress.set_style(style);
    }
    progress.set_message("assigning");

    // The writes.
    let by_index: HashMap<usize, Planned> = writes.into_iter().enumerate().collect();
    let items: Vec<_> = by_index
        .iter()
        .filter_map(|(index, p)| {
            let device = p.device_id.clone()?;
            Some(BulkItem::new(
                *index,
                Target::device(device),
                p.row.assignment(),
            ))
        })
        .collect();
    let mut written = Vec::new();
    let mut outcomes = client.assign_many(
        items,
        BulkOptions::default().concurrency(options.concurrency),
    );
    while let Some(outcome) = outcomes.next().await {
        let p = &by_index[outcome.key()];
        progress.inc(1);
        match &outcome.result {
            Ok(()) => {
                record.record(p, Outcome::Assigned, None, None)?;
                written.push(*outcome.key());
            }
            Err(e) => {
                progress.inc(1);
                progress.suspend(|| {
                    finish(
                        &mut counts,
                        record,
                        out,
                        p,
                        "failed",
                        Outcome::Failed,
                        Some(e.to_string()),
                        Some(e),
                    )
                })?;
            }
        }
    }

    // The verification: each written row until the device reports it, or the timeout.
    progress.set_message("verifying");
    let mut verifications = futures_util::stream::iter(written)
        .map(|index| {
            let p = &by_index[&index];
            async move {
                let device = p.device_id.as_deref().unwrap_or_default();
                let result = client
                    .verify_assignment(device, &p.row.assignment(), options.verify_timeout)
                    .await;
                (p, result)
            }
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some((p, result)) = verifications.next().await {
        progress.inc(1);
        progress.suspend(|| match result {
            Ok(_) => finish(
                &mut counts,
                record,
                out,
                p,
                "verified",
                Outcome::Verified,
                None,
                None,
            ),
            Err(e) => finish(
                &mut counts,
                record,
                out,
                p,
                "unverified",
                Outcome::Unverified,
                Some(e.to_string()),
                Some(&e),
            ),
        })?;
    }
    progress.finish_and_clear();
    Ok(counts)
}

/// A row's last step: counted, journalled, printed.
#[allow(clippy::too_many_arguments)]
fn finish(
    counts: &mut Counts,
    record: &mut Recorder<'_>,
    out: Output,
    p: &Planned,
    result: &'static str,
    outcome: Outcome,
    why: Option<String>,
    error: Option<&Error>,
) -> Result<(), Failure> {
    match (result, outcome) {
        ("already-assigned", _) => counts.already_assigned += 1,
        (_, Outcome::Verified) => counts.verified += 1,
        (_, Outcome::Unverified) => counts.unverified += 1,
        (_, Outcome::Blocked) => counts.blocked += 1,
        (_, Outcome::Failed | Outcome::Assigned) => counts.failed += 1,
    }
    record.record(p, outcome, why.clone(), error)?;
    let mut report = p.report();
    report.result = result;
    let mut detail: Vec<String> = why.into_iter().collect();
    if outcome != Outcome::Blocked {
        detail.extend(p.warnings.iter().map(|w| format!("warn: {w}")));
    }
    report.detail = (!detail.is_empty()).then(|| detail.join("; "));
    if let Some(status) = error.and_then(Error::status) {
        report.extra.insert("status".into(), status.into());
    }
    out.row(&report);
    Ok(())
}

/// `<csv>.journal.jsonl`, next to the CSV file.
fn default_journal(csv: &std::path::Path) -> PathBuf {
    let mut name = csv.as_os_str().to_owned();
    name.push(".journal.jsonl");
    PathBuf::from(name)
}
