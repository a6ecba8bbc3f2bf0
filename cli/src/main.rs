//! `autopilot-ra`: link Teams Rooms resource accounts to Windows Autopilot devices from a CSV
//! file — plan, apply, verify, resume — on top of the `autopilot-resource-account` library.
//!
//! One module per job, in layers that import only downwards. At the bottom: [`characters`]
//! (what is escaped, [`characters::escape`]), [`exit`] (how a command ends), [`token`] (a
//! token's tenant), [`output`] (text or JSON lines), [`journal`] (what was done, bound to
//! endpoint and tenant), [`rows`] (the CSV file), [`refusal`] (a refused token stops the run),
//! [`report`] (`--report`, the summary table), [`planned`] (a planned row and its decision).
//! Above them: [`args`] (the command line), [`signin`] and [`connect`] (client and sign-in),
//! [`device`] (the one device a command names), [`account_check`] (the resource account:
//! exists, enabled, licensed). Then the commands: [`plan`], [`apply`], [`show`], [`unassign`],
//! [`demo`] (the loopback stand-in); this file dispatches to them.

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

mod account_check;
mod apply;
mod args;
mod characters;
mod connect;
mod demo;
mod device;
mod exit;
mod journal;
mod output;
mod plan;
mod planned;
mod refusal;
mod report;
mod rows;
mod show;
mod signin;
mod token;
mod unassign;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::exit::{Failure, Status};
use crate::output::Output;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let out = Output {
        format: cli.global.output,
    };
    let result = match &cli.command {
        Command::Plan(args) => plan::run(&cli.global, args, out).await,
        Command::Apply(args) => apply::run(&cli.global, args, out).await,
        Command::Unassign(args) => unassign::unassign(&cli.global, args, out).await,
        Command::Show(args) => show::show(&cli.global, args, out).await,
        Command::Demo => demo::run(out).await,
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "autopilot-ra",
                &mut std::io::stdout(),
            );
            Ok(Status::AllDone)
        }
    };
    match result {
        Ok(Status::AllDone) => ExitCode::SUCCESS,
        Ok(Status::SomeFailed) => ExitCode::from(1),
        Err(Failure::Usage(message)) => {
            out.failure("usage", &message);
            ExitCode::from(2)
        }
        Err(Failure::Refused(message)) => {
            out.failure("token", &message);
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            out.failure("run", &message);
            ExitCode::from(1)
        }
    }
}

/// clap's verdict on the command line, with clap's exit code: `--help` and `--version` as clap
/// prints them; an error as one JSON line when `--output json` was asked for, else clap's text.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let code = u8::try_from(e.exit_code()).unwrap_or(2);
    let informational = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
    if informational || !json_asked() {
        let _ = e.print();
        return ExitCode::from(code);
    }
    let message = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // clap would print the whole help here: one line says the same to a script.
        "no command given (plan, apply, unassign, show, demo, completions); see --help".to_owned()
    } else {
        // clap's first line is the error; the rest is usage and a `--help` hint.
        let rendered = e.render().to_string();
        rendered
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_owned()
    };
    Output {
        format: output::OutputFormat::Json,
    }
    .failure("usage", &message);
    ExitCode::from(code)
}

/// Whether the raw command line asks for `--output json` (clap could not parse it, so it is
/// read by hand: `--output json` or `--output=json`, before a `--` that ends the flags).
fn json_asked() -> bool {
    let args: Vec<String> = std::env::args().skip(1).take_while(|a| a != "--").collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--output=json" || (a == "--output" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}
