//! Assign a Teams Rooms resource account to a Windows Autopilot device, or to a whole fleet
//! from a CSV file.
//!
//! With no token this runs against an in-process loopback stand-in of Graph and prints what
//! the endpoint received and answered. With a token (`--token` or `GRAPH_TOKEN`) it calls the
//! real Graph.
//!
//! ```text
//! cargo run --example assign
//! GRAPH_TOKEN=… cargo run --example assign -- --device <id> --upn room@contoso.com \
//!     --addressable-name "Room 101" --resource-account-name room-101
//! cargo run --example assign -- --csv examples/devices.csv            # stand-in, no token
//! cargo run --example assign -- --csv examples/devices.csv --dry-run  # print the requests only
//! GRAPH_TOKEN=… cargo run --example assign -- --csv devices.csv --resume
//! ```
//!
//! **CSV.** A header row, then one device per row: device id, user principal name,
//! addressable user name, resource account name. A bad row (wrong number of fields, an empty
//! device id or UPN, a device listed twice, unreadable text) is reported with its line number
//! and skipped; it is never sent and never silently dropped.
//!
//! **Journal.** Every outcome is appended to a JSON-lines journal (`--journal`, default
//! `<csv>.journal.jsonl`) and flushed line by line, so after a crash or Ctrl-C, `--resume`
//! skips the devices the journal records as succeeded (failed ones are tried again).
//!
//! The summary counts succeeded, failed and skipped (already done, or bad rows); the exit
//! status is non-zero when any device failed or any row was bad.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use autopilot_resource_account::stand_in::{RateLimit, Reply, StandIn};
use autopilot_resource_account::{
    BulkItem, BulkOptions, Cloud, GraphClient, Outcome, ResourceAccountAssignment, RetryPolicy,
    Target,
};
use clap::{Parser, ValueEnum};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser, Debug)]
#[command(about = "Assign a Teams Rooms resource account to Windows Autopilot devices")]
struct Args {
    /// Bearer token for Graph (needs DeviceManagementServiceConfig.ReadWrite.All). Without one,
    /// the example runs against a loopback stand-in.
    #[arg(long, env = "GRAPH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Autopilot device identity id.
    #[arg(
        long,
        env = "AUTOPILOT_DEVICE_ID",
        default_value = "7f9b6c1e-0000-4000-8000-000000000001"
    )]
    device: String,
    /// Deployment profile id: assign through the profile's assignedDevices instead.
    #[arg(long, env = "AUTOPILOT_PROFILE_ID")]
    profile: Option<String>,
    /// The resource account's user principal name.
    #[arg(long, default_value = "room-101@contoso.com")]
    upn: String,
    /// The name shown on the console.
    #[arg(long, default_value = "Room 101")]
    addressable_name: String,
    /// The resource account name.
    #[arg(long, default_value = "room-101")]
    resource_account_name: String,
    /// National cloud.
    #[arg(long, value_enum, default_value_t = CloudArg::Global)]
    cloud: CloudArg,
    /// Assign every device of this CSV file (header row; device id, UPN, addressable name,
    /// resource account name).
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Print the exact requests (token redacted) instead of sending them to Graph.
    #[arg(long, requires = "csv")]
    dry_run: bool,
    /// JSON-lines journal of outcomes. Default: `<csv>.journal.jsonl`.
    #[arg(long, value_name = "FILE", requires = "csv")]
    journal: Option<PathBuf>,
    /// Skip the devices the journal records as succeeded.
    #[arg(long, requires = "csv")]
    resume: bool,
    /// Most calls in flight at once (the client paces the rate under throttling).
    #[arg(long, default_value_t = autopilot_resource_account::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Stand-in only: limit it to this many requests per second (burst: one second's worth).
    #[arg(long, value_name = "PER_SECOND", hide = true)]
    stand_in_rate: Option<f64>,
    /// Stand-in only: answer 403 for this device (repeatable).
    #[arg(long, value_name = "DEVICE", hide = true)]
    stand_in_forbid: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CloudArg {
    Global,
    UsGovL4,
    UsGovL5Dod,
    China,
}

impl From<CloudArg> for Cloud {
    fn from(c: CloudArg) -> Self {
        match c {
            CloudArg::Global => Cloud::Global,
            CloudArg::UsGovL4 => Cloud::UsGovL4,
            CloudArg::UsGovL5Dod => Cloud::UsGovL5Dod,
            CloudArg::China => Cloud::China,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(csv) = &args.csv {
        return match run_csv(&args, csv).await {
            Ok(summary) => summary.exit_code(),
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let assignment = ResourceAccountAssignment::new()
        .with_user_principal_name(args.upn.clone())
        .with_addressable_user_name(args.addressable_name.clone())
        .with_resource_account_name(args.resource_account_name.clone());
    let result = match &args.token {
        Some(token) => real_graph(&args, token, &assignment).await,
        None => demo(&args, &assignment).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn real_graph(
    args: &Args,
    token: &str,
    assignment: &ResourceAccountAssignment,
) -> Result<(), String> {
    let client = GraphClient::builder()
        .cloud(args.cloud.into())
        .bearer_token(token)
        .build()
        .map_err(|e| e.to_string())?;
    send(&client, args, assignment)
        .await
        .map_err(|e| e.to_string())?;
    println!("assigned {} to device {}", args.upn, args.device);
    Ok(())
}

async fn send(
    client: &GraphClient,
    args: &Args,
    assignment: &ResourceAccountAssignment,
) -> Result<(), autopilot_resource_account::Error> {
    match &args.profile {
        Some(profile) => {
            client
                .assign_resource_account_to_deployment_profile_device(
                    profile,
                    &args.device,
                    assignment,
                )
                .await
        }
        None => {
            client
                .assign_resource_account_to_device(&args.device, assignment)
                .await
        }
    }
}

/// Runs the same call against a loopback stand-in, then shows a scripted Graph error too.
async fn demo(args: &Args, assignment: &ResourceAccountAssignment) -> Result<(), String> {
    let graph = StandIn::start()
        .await
        .map_err(|e| format!("cannot start the stand-in: {e}"))?;
    println!(
        "No token given: using a loopback stand-in of Microsoft Graph at {}",
        graph.base_url()
    );
    println!("(pass --token or set GRAPH_TOKEN to call the real Graph)\n");
    let client = GraphClient::builder()
        .base_url(&graph.base_url())
        .bearer_token("demo-token")
        .build()
        .map_err(|e| e.to_string())?;

    let result = send(&client, args, assignment).await;
    show(&graph, result.as_ref().err());

    let refused = "device-without-intune-license";
    graph.script(
        refused,
        [Reply::status(403).odata(
            "Forbidden",
            "Insufficient privileges to complete the operation.",
        )],
    );
    let result = client
        .assign_resource_account_to_device(refused, assignment)
        .await;
    show(&graph, result.as_ref().err());
    Ok(())
}

fn show(graph: &StandIn, error: Option<&autopilot_resource_account::Error>) {
    let request = graph
        .requests()
        .pop()
        .expect("the stand-in saw the request");
    println!("→ {} {}", request.method, request.target);
    for (name, value) in &request.headers {
        let value = if name == "authorization" {
            "Bearer <redacted>"
        } else {
            value
        };
        println!("  {name}: {value}");
    }
    println!("  body: {}", String::from_utf8_lossy(&request.body));
    match (request.answered, error) {
        (Some(status), None) => println!("← {status}: assignment accepted\n"),
        (_, Some(error)) => println!("← {error}\n"),
        (None, None) => println!("← connection reset\n"),
    }
}

// ---------------------------------------------------------------------------------------------
// The CSV run.

/// One good CSV row.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    device_id: String,
    assignment: ResourceAccountAssignment,
}

/// A row that cannot be sent: its line number, and why.
type BadRow = (u64, String);

/// Reads the CSV: good rows, and bad rows.
fn read_csv(path: &Path) -> Result<(Vec<Row>, Vec<BadRow>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (mut rows, mut bad) = (Vec::new(), Vec::new());
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                bad.push((line, format!("unreadable: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != 4 {
            bad.push((
                line,
                format!(
                    "{} fields; expected 4 (device id, user principal name, addressable user \
                     name, resource account name)",
                    record.len()
                ),
            ));
            continue;
        }
        let field = |i: usize| record.get(i).unwrap_or_default().to_owned();
        let (device_id, upn) = (field(0), field(1));
        if device_id.is_empty() {
            bad.push((line, "empty device id".into()));
            continue;
        }
        if upn.is_empty() {
            bad.push((line, "empty user principal name".into()));
            continue;
        }
        if let Some(first) = first_line.get(&device_id) {
            bad.push((
                line,
                format!("device {device_id} is already on line {first}"),
            ));
            continue;
        }
        first_line.insert(device_id.clone(), line);
        let optional = |s: String| (!s.is_empty()).then_some(s);
        // Fields stay public: an optional column is assigned as the Option it is.
        let mut assignment = ResourceAccountAssignment::new().with_user_principal_name(upn);
        assignment.addressable_user_name = optional(field(2));
        assignment.resource_account_name = optional(field(3));
        rows.push(Row {
            line,
            device_id,
            assignment,
        });
    }
    Ok((rows, bad))
}

/// One journal line.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Entry {
    device_id: String,
    line: u64,
    /// `succeeded` or `failed`.
    outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    /// Seconds since the Unix epoch.
    at: u64,
}

/// Devices the journal records as succeeded; a torn last line (a crash mid-write) is ignored.
fn journal_done(path: &Path) -> Result<HashSet<String>, String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(format!("cannot read the journal {}: {e}", path.display())),
    };
    let mut done = HashSet::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("cannot read the journal: {e}"))?;
        if let Ok(entry) = serde_json::from_str::<Entry>(&line)
            && entry.outcome == "succeeded"
        {
            done.insert(entry.device_id);
        }
    }
    Ok(done)
}

/// Appends entries, one flushed line each.
struct Journal {
    file: std::fs::File,
}

impl Journal {
    fn open(path: &Path) -> Result<Self, String> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the journal {}: {e}", path.display()))?;
        // A torn last line from a crash must not swallow the next entry.
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len > 0 && !ends_with_newline(path) {
            let _ = file.write_all(b"\n");
        }
        Ok(Self { file })
    }

    fn record(&mut self, row: &Row, outcome: &Outcome<u64>) -> Result<(), String> {
        let error = outcome.result.as_ref().err();
        let entry = Entry {
            device_id: row.device_id.clone(),
            line: row.line,
            outcome: if error.is_none() {
                "succeeded"
            } else {
                "failed"
            }
            .into(),
            status: error.and_then(|e| e.status()),
            error: error.map(|e| e.to_string()),
            request_id: error.and_then(|e| e.request_id()).map(str::to_owned),
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        let mut line = serde_json::to_vec(&entry).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|e| format!("cannot write the journal: {e}"))
    }
}

fn ends_with_newline(path: &Path) -> bool {
    std::fs::read(path).map_or(true, |bytes| bytes.ends_with(b"\n"))
}

#[derive(Debug, Default)]
struct Summary {
    succeeded: usize,
    failed: usize,
    already_done: usize,
    bad_rows: usize,
}

impl Summary {
    fn exit_code(&self) -> ExitCode {
        if self.failed == 0 && self.bad_rows == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

async fn run_csv(args: &Args, csv: &Path) -> Result<Summary, String> {
    let (rows, bad) = read_csv(csv)?;
    for (line, why) in &bad {
        eprintln!("{}: line {line}: {why}; skipped", csv.display());
    }
    let journal_path = args.journal.clone().unwrap_or_else(|| {
        let mut name = csv.as_os_str().to_owned();
        name.push(".journal.jsonl");
        PathBuf::from(name)
    });
    let done = if args.resume {
        journal_done(&journal_path)?
    } else {
        HashSet::new()
    };
    let (todo, skipped): (Vec<Row>, Vec<Row>) = rows
        .into_iter()
        .partition(|row| !done.contains(&row.device_id));
    let mut summary = Summary {
        already_done: skipped.len(),
        bad_rows: bad.len(),
        ..Summary::default()
    };

    // The real Graph with a token; otherwise (and for a dry run) a loopback stand-in.
    let stand_in = match (&args.token, args.dry_run) {
        (Some(_), false) => None,
        _ => Some(start_stand_in(args).await?),
    };
    let mut builder = GraphClient::builder()
        .cloud(args.cloud.into())
        .bearer_token(
            args.token
                .clone()
                .unwrap_or_else(|| "stand-in-token".into()),
        );
    if let Some(graph) = &stand_in {
        builder = builder.base_url(&graph.base_url());
        if args.dry_run {
            builder = builder.retry_policy(RetryPolicy::none());
        }
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    match (&stand_in, args.dry_run) {
        (Some(_), true) => println!(
            "Dry run: {} request(s) would go to {}; nothing is sent to Graph.\n",
            todo.len(),
            Cloud::from(args.cloud).base_url()
        ),
        (Some(graph), false) => eprintln!(
            "No token given: assigning {} device(s) against a loopback stand-in of Graph at {}",
            todo.len(),
            graph.base_url()
        ),
        (None, _) => {}
    }

    let rows_by_line: HashMap<u64, Row> = todo.iter().map(|r| (r.line, r.clone())).collect();
    let items = todo.into_iter().map(|row| {
        let target = match &args.profile {
            Some(profile) => Target::DeploymentProfileDevice {
                profile_id: profile.clone(),
                device_id: row.device_id.clone(),
            },
            None => Target::device(row.device_id.clone()),
        };
        BulkItem::new(row.line, target, row.assignment)
    });
    let items: Vec<_> = items.collect();
    let concurrency = if args.dry_run { 1 } else { args.concurrency };
    let mut journal = match args.dry_run {
        true => None,
        false => Some(Journal::open(&journal_path)?),
    };
    let progress = if args.dry_run {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(items.len() as u64)
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]")
            .map_err(|e| e.to_string())?,
    );
    let mut outcomes = client.assign_many(items, BulkOptions::default().concurrency(concurrency));
    while let Some(outcome) = outcomes.next().await {
        let row = &rows_by_line[outcome.key()];
        if args.dry_run {
            if let Some(graph) = &stand_in {
                print_request(graph, args.cloud.into());
            }
            continue;
        }
        if let Some(journal) = journal.as_mut() {
            journal.record(row, &outcome)?;
        }
        match &outcome.result {
            Ok(()) => summary.succeeded += 1,
            Err(error) => {
                summary.failed += 1;
                let message = format!("line {}: device {}: {error}", row.line, row.device_id);
                // A hidden bar (not a terminal) prints nothing: use stderr directly.
                match progress.is_hidden() {
                    true => eprintln!("{message}"),
                    false => progress.println(message),
                }
            }
        }
        progress.inc(1);
        progress.set_message(format!("{} failed", summary.failed));
    }
    progress.finish_and_clear();
    if !args.dry_run {
        println!(
            "succeeded: {}, failed: {}, skipped: {} ({} already done, {} bad rows); journal: {}",
            summary.succeeded,
            summary.failed,
            summary.already_done + summary.bad_rows,
            summary.already_done,
            summary.bad_rows,
            journal_path.display()
        );
    } else {
        println!(
            "dry run: {} request(s) shown; skipped: {} ({} already done, {} bad rows)",
            rows_by_line.len(),
            summary.already_done + summary.bad_rows,
            summary.already_done,
            summary.bad_rows
        );
    }
    Ok(summary)
}

async fn start_stand_in(args: &Args) -> Result<StandIn, String> {
    let graph = StandIn::start()
        .await
        .map_err(|e| format!("cannot start the stand-in: {e}"))?;
    if let Some(rate) = args.stand_in_rate {
        graph.rate_limit(RateLimit::per_second(rate));
    }
    for device in &args.stand_in_forbid {
        // Enough refusals for any retry policy.
        let forbidden = Reply::status(403).odata(
            "Forbidden",
            "Insufficient privileges to complete the operation.",
        );
        graph.script(device.clone(), std::iter::repeat_n(forbidden, 16));
    }
    Ok(graph)
}

/// Prints the request the stand-in just received as it would go to the cloud's Graph.
fn print_request(graph: &StandIn, cloud: Cloud) {
    let Some(request) = graph.requests().pop() else {
        return;
    };
    let path = request
        .target
        .strip_prefix("/beta")
        .unwrap_or(&request.target);
    println!("{} {}{path}", request.method, cloud.base_url());
    for (name, value) in &request.headers {
        match name.as_str() {
            "authorization" => println!("{name}: Bearer <redacted>"),
            // Connection details of the loopback hop, not of the request to Graph.
            "host" => println!("{name}: {}", host_of(cloud.base_url())),
            _ => println!("{name}: {value}"),
        }
    }
    println!("\n{}\n", String::from_utf8_lossy(&request.body));
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}
