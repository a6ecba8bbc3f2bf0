//! `apply`: the plan, then the writes through `assign_many`, then the verification of each
//! written row (bounded, concurrent), every outcome journalled.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use autopilot_resource_account::{BulkItem, BulkOptions, DeviceId, Error, GraphClient, Target};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{ApplyArgs, Global};
use crate::exit::{Failure, Status};
use crate::journal::{Binding, Entry, Journal, RowResult};
use crate::output::{Output, RowReport};
use crate::plan;
use crate::planned::{self, Decision, Planned};
use crate::refusal::{self, Stop};
use crate::report::{self, Sink};
use crate::rows::Row;
use crate::{connect, rows};

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
    /// Not tried: the run stopped when Graph refused the token.
    pub not_attempted: usize,
}

impl Counts {
    pub fn not_done(&self) -> usize {
        self.unverified + self.failed + self.blocked + self.not_attempted
    }

    /// The counts as the summary names them (one list for `apply` and `demo`).
    pub fn named(&self) -> Vec<(&'static str, usize)> {
        let mut named = vec![
            ("verified", self.verified),
            ("already_assigned", self.already_assigned),
            ("unverified", self.unverified),
            ("failed", self.failed),
            ("blocked", self.blocked),
        ];
        // Only after a refused token: the usual summary keeps its five counts.
        if self.not_attempted > 0 {
            named.push(("not_attempted", self.not_attempted));
        }
        named
    }
}

pub async fn run(global: &Global, args: &ApplyArgs, out: Output) -> Result<Status, Failure> {
    let csv = &args.csv.csv;
    let rows::Sheet { rows, bad, notes } = rows::read(csv).map_err(Failure::Usage)?;
    if let Some(path) = &args.csv.report {
        report::check(path).map_err(Failure::Usage)?;
    }
    let connection = connect::connect(global).await?;
    let journal_path = args.journal.clone().unwrap_or_else(|| default_journal(csv));
    // Locked from here to the end of the run: what it reads stays true while it writes.
    let mut journal = Journal::open(&journal_path).map_err(Failure::Usage)?;
    let last = journal
        .load(&connection.binding)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    out.notes(&csv.display().to_string(), &notes);
    let mut sink = Sink::new(out);
    for row in &bad {
        out.bad_row(&csv.display().to_string(), row.line, &row.why);
        sink.bad_row(row.line, &row.why);
    }
    let (todo, done): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|row| {
        !args.resume
            || !last
                .get(&row.fingerprint())
                .is_some_and(|entry| entry.outcome == RowResult::Verified)
    });
    for row in &done {
        sink.row(RowReport {
            line: Some(row.line),
            serial_number: row.serial().map(str::to_owned),
            account: Some(planned::account(row)),
            phase: Some("apply"),
            result: "done",
            detail: Some("the journal records it as verified".into()),
            ..RowReport::default()
        });
    }
    let options = Options {
        allow_next_enrollment: args.allow_next_enrollment,
        reassign: args.csv.reassign,
        verify_timeout: args.verify_timeout,
        concurrency: global.concurrency,
    };
    let stop = Stop::default();
    let plan_options = plan::PlanOptions {
        concurrency: global.concurrency,
        reassign: args.csv.reassign,
        account_checks: !args.csv.no_account_checks,
    };
    let mut planned = plan::plan(&connection.client, todo, plan_options, &stop, out).await;
    for p in &mut planned {
        p.rearm = args.csv.force;
    }
    let mut record = Recorder {
        journal: Some((&mut journal, &connection.binding)),
    };
    let counts = execute(
        &connection.client,
        planned,
        options,
        &mut record,
        &mut sink,
        &stop,
    )
    .await?;
    out.summary(
        &[
            counts.named().as_slice(),
            &[("already_done", done.len()), ("bad_rows", bad.len())],
        ]
        .concat(),
        Some(&format!("journal: {}", journal_path.display())),
    );
    sink.finish(args.csv.report.as_deref())
        .map_err(Failure::Run)?;
    if let Some(message) = stop.message(global.token.as_deref()) {
        return Err(Failure::Refused(message));
    }
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
        outcome: RowResult,
        detail: Option<String>,
        error: Option<&Error>,
    ) -> Result<(), Failure> {
        let request_id = error.and_then(Error::request_id);
        self.entry(planned, outcome, detail, error, request_id)
    }

    /// `assigned`, with the accepted write's `request-id`.
    fn record_accepted(
        &mut self,
        planned: &Planned,
        request_id: Option<&str>,
    ) -> Result<(), Failure> {
        self.entry(planned, RowResult::Assigned, None, None, request_id)
    }

    fn entry(
        &mut self,
        planned: &Planned,
        outcome: RowResult,
        detail: Option<String>,
        error: Option<&Error>,
        request_id: Option<&str>,
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
        entry.request_id = request_id.map(str::to_owned);
        journal.record(&entry).map_err(Failure::Run)
    }
}

/// Runs a plan: unblocks userless enrollment when allowed, writes, verifies. One printed line
/// and one journal entry per row at the end of its path (plus `assigned` in the journal between
/// the write and its verification, so a crash there leaves evidence). A `401` trips `stop`: what
/// was not sent yet is `not-attempted` and not journalled, so `--resume` picks it up.
pub async fn execute(
    client: &GraphClient,
    planned: Vec<Planned>,
    options: Options,
    record: &mut Recorder<'_>,
    sink: &mut Sink,
    stop: &Stop,
) -> Result<Counts, Failure> {
    let mut run = Execution {
        client,
        options,
        record,
        sink,
        stop,
        counts: Counts::default(),
    };
    let writes = run.settle(planned).await?;
    let progress = progress_bar(run.sink.out, writes.len());
    let by_index: HashMap<usize, Planned> = writes.into_iter().enumerate().collect();
    let written = run.write(&by_index, &progress).await?;
    progress.set_message("verifying");
    run.verify(&by_index, written, &progress).await?;
    progress.finish_and_clear();
    Ok(run.counts)
}

/// One run of `execute`: what every step needs, and the counts so far.
struct Execution<'a, 'r> {
    client: &'a GraphClient,
    options: Options,
    record: &'a mut Recorder<'r>,
    sink: &'a mut Sink,
    stop: &'a Stop,
    counts: Counts,
}

impl Execution<'_, '_> {
    /// Unblocks userless enrollment where allowed; ends every row that is not to be written
    /// with what the plan found; returns the rows to write.
    async fn settle(&mut self, planned: Vec<Planned>) -> Result<Vec<Planned>, Failure> {
        let mut writes = Vec::new();
        for p in planned {
            let mut unblocked = false;
            if self.options.allow_next_enrollment
                && p.userless_blocked
                && p.blockers.is_empty()
                && !p.not_attempted
                && let Some(device) = &p.device_id
            {
                if self.stop.stopped() {
                    self.not_attempted(&p, "apply");
                    continue;
                }
                // A refused id fails the call as sending it would have.
                let allowed = match device.parse::<DeviceId>() {
                    Ok(device) => self.client.allow_next_enrollment(&device).await,
                    Err(e) => Err(e),
                };
                match allowed {
                    Ok(()) => unblocked = true,
                    Err(e) if self.stop.check(&e) => {
                        self.not_attempted(&p, "apply");
                        continue;
                    }
                    Err(e) => {
                        let why =
                            format!("allowNextEnrollment failed: {}", refusal::explain(&e, true));
                        self.finish(
                            &p,
                            "apply",
                            "failed",
                            RowResult::Failed,
                            Some(why),
                            Some(&e),
                        )?;
                        continue;
                    }
                }
            }
            let settled = match p.decision(unblocked) {
                Decision::Assign | Decision::Rearm => None,
                Decision::Reassign { .. } if self.options.reassign => None,
                Decision::Reassign { current } => Some((
                    "blocked",
                    RowResult::Blocked,
                    Some(format!(
                        "{current} is linked now; apply --reassign replaces it"
                    )),
                )),
                Decision::AlreadyAssigned => Some(("already-assigned", RowResult::Verified, None)),
                Decision::Blocked(why) => Some(("blocked", RowResult::Blocked, Some(why))),
                Decision::NotAttempted => {
                    self.not_attempted(&p, "apply");
                    continue;
                }
            };
            match settled {
                None => writes.push(p),
                Some((status, outcome, why)) => {
                    self.finish(&p, "apply", status, outcome, why, None)?
                }
            }
        }
        Ok(writes)
    }

    /// The writes through `assign_many`; returns the rows written. A `401` drops the stream
    /// (cancelling what is in flight) and ends every row not written as `not-attempted`.
    async fn write(
        &mut self,
        by_index: &HashMap<usize, Planned>,
        progress: &ProgressBar,
    ) -> Result<Vec<usize>, Failure> {
        // In CSV order: with `--concurrency 1` the rows are written as the file lists them.
        let mut indices: Vec<usize> = by_index.keys().copied().collect();
        indices.sort_unstable();
        let mut written = Vec::new();
        let mut ended = std::collections::HashSet::new();
        let mut items = Vec::new();
        for index in indices {
            let p = &by_index[&index];
            let Some(device) = &p.device_id else { continue };
            match device.parse::<DeviceId>() {
                Ok(device) => items.push(BulkItem::new(
                    index,
                    Target::device(device),
                    p.row.assignment(),
                )),
                // A refused id: the row fails as its call would have, and is never sent.
                Err(e) => {
                    ended.insert(index);
                    progress.inc(2);
                    let why = refusal::explain(&e, true);
                    progress.suspend(|| {
                        self.finish(p, "apply", "failed", RowResult::Failed, Some(why), Some(&e))
                    })?;
                }
            }
        }
        let mut outcomes = self.client.assign_many(
            items,
            BulkOptions::default().with_concurrency(self.options.concurrency),
        );
        while let Some(outcome) = outcomes.next().await {
            let p = &by_index[outcome.key()];
            progress.inc(1);
            match &outcome.result {
                Ok(()) => {
                    ended.insert(*outcome.key());
                    // The write's `request-id` stays in the journal: support asks for it.
                    let id = outcome.request_id();
                    self.record.record_accepted(p, id)?;
                    written.push(*outcome.key());
                }
                // The refused row is left for the loop below, with every row not written.
                Err(e) if self.stop.check(e) => break,
                Err(e) => {
                    ended.insert(*outcome.key());
                    progress.inc(1);
                    let why = refusal::explain(e, true);
                    progress.suspend(|| {
                        self.finish(p, "apply", "failed", RowResult::Failed, Some(why), Some(e))
                    })?;
                }
            }
        }
        drop(outcomes);
        let mut left: Vec<&Planned> = by_index
            .iter()
            .filter(|(index, _)| !ended.contains(*index))
            .map(|(_, p)| p)
            .collect();
        left.sort_by_key(|p| p.row.line);
        progress.suspend(|| {
            for p in left {
                self.not_attempted(p, "apply");
            }
        });
        Ok(written)
    }

    /// Each written row until the device reports it, or the timeout.
    async fn verify(
        &mut self,
        by_index: &HashMap<usize, Planned>,
        written: Vec<usize>,
        progress: &ProgressBar,
    ) -> Result<(), Failure> {
        let (client, timeout, stop) = (self.client, self.options.verify_timeout, self.stop);
        let mut verifications = futures_util::stream::iter(written)
            .map(|index| {
                let p = &by_index[&index];
                async move {
                    if stop.stopped() {
                        return (p, None);
                    }
                    let device = p.device_id.as_deref().unwrap_or_default();
                    let result = match device.parse::<DeviceId>() {
                        Ok(device) => {
                            client
                                .verify_assignment(&device, &p.row.assignment(), timeout)
                                .await
                        }
                        Err(e) => Err(e),
                    };
                    (p, Some(result))
                }
            })
            .buffer_unordered(self.options.concurrency.max(1));
        while let Some((p, result)) = verifications.next().await {
            progress.inc(1);
            let (result, outcome, why, error) = match &result {
                Some(Ok(_)) => ("verified", RowResult::Verified, None, None),
                Some(Err(e)) if !self.stop.check(e) => (
                    "unverified",
                    RowResult::Unverified,
                    Some(e.to_string()),
                    Some(e),
                ),
                _ => (
                    "unverified",
                    RowResult::Unverified,
                    Some(
                        "written, not verified: the run stopped when Graph refused the token"
                            .into(),
                    ),
                    None,
                ),
            };
            progress.suspend(|| self.finish(p, "verify", result, outcome, why, error))?;
        }
        Ok(())
    }

    /// A row the run did not get to: printed and counted, never journalled.
    fn not_attempted(&mut self, p: &Planned, phase: &'static str) {
        self.counts.not_attempted += 1;
        let mut report = p.report();
        report.phase = Some(phase);
        report.result = "not-attempted";
        report.detail = Some("the run stopped: Graph refused the token".into());
        self.sink.row(report);
    }

    /// A row's last step: counted, journalled, printed.
    fn finish(
        &mut self,
        p: &Planned,
        phase: &'static str,
        result: &'static str,
        outcome: RowResult,
        why: Option<String>,
        error: Option<&Error>,
    ) -> Result<(), Failure> {
        let counts = &mut self.counts;
        match (result, outcome) {
            ("already-assigned", _) => counts.already_assigned += 1,
            (_, RowResult::Verified) => counts.verified += 1,
            (_, RowResult::Unverified) => counts.unverified += 1,
            (_, RowResult::Blocked) => counts.blocked += 1,
            (_, RowResult::Failed | RowResult::Assigned) => counts.failed += 1,
        }
        self.record.record(p, outcome, why.clone(), error)?;
        let mut report = p.report();
        report.phase = Some(phase);
        report.result = result;
        let mut detail: Vec<String> = why.into_iter().collect();
        if outcome != RowResult::Blocked {
            detail.extend(p.warnings.iter().map(|w| format!("warn: {w}")));
        }
        report.detail = (!detail.is_empty()).then(|| detail.join("; "));
        if let Some(status) = error.and_then(Error::status) {
            report.extra.insert("status".into(), status.into());
        }
        if let Some(id) = error.and_then(Error::request_id) {
            report.extra.insert("request_id".into(), id.into());
        }
        self.sink.row(report);
        Ok(())
    }
}

/// A bar on a terminal (two steps per written row: the write and its verification).
fn progress_bar(out: Output, writes: usize) -> ProgressBar {
    let progress = if out.json() || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(2 * writes as u64)
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed_precise}]")
    {
        progress.set_style(style);
    }
    progress.set_message("assigning");
    progress
}

/// `<csv>.journal.jsonl`, next to the CSV file.
fn default_journal(csv: &std::path::Path) -> PathBuf {
    let mut name = csv.as_os_str().to_owned();
    name.push(".journal.jsonl");
    PathBuf::from(name)
}
