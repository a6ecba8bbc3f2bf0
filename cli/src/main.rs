//! `autopilot-ra`: link Teams Rooms resource accounts to Windows Autopilot devices from a CSV
//! file — plan, apply, verify, resume — on top of the `autopilot-resource-account` library.
//!
//! One module per job: [`args`] (the command line), [`rows`] (the CSV file), [`connect`]
//! (client and sign-in), [`plan`] (what would happen to each row), [`apply`] (the writes),
//! [`journal`] (what was done, bound to endpoint and tenant), [`output`] (text or JSON lines),
//! [`device`] (`show`, `unassign`), [`demo`] (the loopback stand-in).

/// `println!` that never panics: a closed stdout (`autopilot-ra plan | head -1`) must not end a
/// run half-way; the journal, not the terminal, is the record.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that never panics.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod apply;
mod args;
mod connect;
mod demo;
mod device;
mod journal;
mod output;
mod plan;
mod rows;
mod signin;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::output::Output;

/// How a command ended, when it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every row done (exit 0).
    AllDone,
    /// Some row failed, was blocked, bad, or stayed unverified (exit 1).
    SomeFailed,
}

/// Why a command could not run (one line on stderr).
#[derive(Debug)]
pub enum Failure {
    /// Bad input or usage: nothing was sent (exit 2).
    Usage(String),
    /// Sign-in or the environment failed (exit 1).
    Run(String),
}

impl From<connect::ConnectError> for Failure {
    fn from(e: connect::ConnectError) -> Self {
        match e {
            connect::ConnectError::Usage(m) => Failure::Usage(m),
            connect::ConnectError::SignIn(m) => Failure::Run(m),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // clap prints usage errors itself and exits 2; --help and --version exit 0.
    let cli = Cli::parse();
    let out = Output {
        format: cli.global.output,
    };
    let result = match &cli.command {
        Command::Plan(args) => plan::run(&cli.global, args, out).await,
        Command::Apply(args) => apply::run(&cli.global, args, out).await,
        Command::Unassign(args) => device::unassign(&cli.global, args, out).await,
        Command::Show(args) => device::show(&cli.global, args, out).await,
        Command::Demo => demo::run(out).await,
    };
    match result {
        Ok(Status::AllDone) => ExitCode::SUCCESS,
        Ok(Status::SomeFailed) => ExitCode::from(1),
        Err(Failure::Usage(message)) => {
            tell!("autopilot-ra: {}", output::escape(&message));
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            tell!("autopilot-ra: {}", output::escape(&message));
            ExitCode::from(1)
        }
    }
}
