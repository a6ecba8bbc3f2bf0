//! The command line: global flags and one struct per command.

use std::path::PathBuf;
use std::time::Duration;

use autopilot_resource_account::{Cloud, DEFAULT_CONCURRENCY};
use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::OutputFormat;

/// Plan, apply, verify and undo Teams Rooms resource-account assignments on Windows Autopilot
/// devices.
///
/// Exit status: 0 when every row is done (and verified), 1 when some row failed, was blocked or
/// stayed unverified, 2 for bad input or usage (nothing was sent for it).
#[derive(Parser)]
#[command(name = "autopilot-ra", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes. No `Debug`: the token must never be printed.
#[derive(Args)]
pub struct Global {
    /// National cloud: picks Graph's root URL and the token scope.
    #[arg(long, global = true, value_enum, default_value_t = CloudArg::Global)]
    pub cloud: CloudArg,
    /// Bearer token for Graph (DeviceManagementServiceConfig.ReadWrite.All). Prefer the
    /// environment variable: a command-line argument is visible to other local users.
    #[arg(long, global = true, env = "GRAPH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Send requests here instead of the cloud's root: https, or plain http to a loopback host.
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// `text` for people, `json` for scripts (one JSON object per line on stdout).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Most Graph calls in flight at once (the client paces the rate under throttling).
    #[arg(long, global = true, default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..=64).map(usize::from))]
    pub concurrency: usize,
    /// Sign in instead of passing a token (then `--token` and `GRAPH_TOKEN` are not used):
    /// `device-code` in any build, Azure SDK credentials with the `azure-identity` feature.
    #[arg(long, global = true, value_enum)]
    pub auth: Option<AuthArg>,
    /// Tenant (id or domain) for `--auth device-code` and `--auth client-secret`.
    #[arg(long, global = true, env = "AZURE_TENANT_ID")]
    pub tenant_id: Option<String>,
    /// Application (client) id: your public client for `--auth device-code`, the app for
    /// `--auth client-secret` (secret from `AZURE_CLIENT_SECRET` only), or a user-assigned
    /// identity for `--auth managed-identity`.
    #[arg(long, global = true, env = "AZURE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Sign in at this authority instead of the cloud's (`--auth device-code`): https, or plain
    /// http to a loopback host.
    #[arg(long, global = true, value_name = "URL")]
    pub authority: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Resolve, read and check every row of a CSV file; print what `apply` would do. Writes nothing.
    #[command(after_help = PLAN_HELP)]
    Plan(CsvArgs),
    /// The plan, then the assignments, then their verification, with a journal for `--resume`.
    #[command(after_help = APPLY_HELP)]
    Apply(ApplyArgs),
    /// Remove the resource account from one device, or from every device of a CSV file that
    /// still reports its row's account, and wait until each device shows it.
    #[command(after_help = UNASSIGN_HELP)]
    Unassign(UnassignArgs),
    /// Read one device: serial, group tag, profile and enrollment states, linked account.
    #[command(after_help = SHOW_HELP)]
    Show(DeviceArgs),
    /// The whole job against a loopback stand-in of Graph: no credentials, nothing leaves the machine.
    #[command(after_help = DEMO_HELP)]
    Demo,
    /// Print a shell completion script (bash, zsh, fish, powershell) on stdout.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const PLAN_HELP: &str = "\
Examples:
  autopilot-ra plan --csv rooms.csv
  autopilot-ra plan --csv rooms.csv --report plan.csv      # a CSV file to hand on for review
  autopilot-ra plan --csv rooms.csv --force --output json  # lists re-arms, one JSON line per row
  autopilot-ra plan --csv rooms.csv --no-account-checks    # the device side only: no user reads

Graph permissions: DeviceManagementServiceConfig.Read.All (or .ReadWrite.All); for the account
check (exists, enabled, Teams Rooms license) also User.Read.All and Organization.Read.All
(without them it is skipped with one notice; --no-account-checks turns it off).";

const APPLY_HELP: &str = "\
Examples:
  autopilot-ra apply --csv rooms.csv --allow-next-enrollment --report racked.csv
  autopilot-ra apply --csv rooms.csv --resume              # after a crash or a refused token
  autopilot-ra apply --csv rooms.csv --force               # re-arm reset devices (links last up to 90 days)

Graph permissions: DeviceManagementServiceConfig.ReadWrite.All; for the account check also
User.Read.All and Organization.Read.All (without them it is skipped with one notice).";

const UNASSIGN_HELP: &str = "\
Examples:
  autopilot-ra unassign --serial PF3ABC101
  autopilot-ra unassign --csv rooms.csv                    # only where the row's account is linked
  autopilot-ra unassign --csv rooms.csv --force            # whatever account is linked

Graph permission: DeviceManagementServiceConfig.ReadWrite.All.";

const SHOW_HELP: &str = "\
Examples:
  autopilot-ra show --serial PF3ABC101
  autopilot-ra show --device 7f9b6c1e-0000-4000-8000-000000000101 --output json

Graph permission: DeviceManagementServiceConfig.Read.All (or .ReadWrite.All).";

const DEMO_HELP: &str = "\
Examples:
  autopilot-ra demo
  autopilot-ra demo --output json

Graph permission: none (a loopback stand-in; nothing leaves the machine).";

const COMPLETIONS_HELP: &str = "\
Examples:
  autopilot-ra completions bash > ~/.local/share/bash-completion/completions/autopilot-ra
  autopilot-ra completions zsh > \"${fpath[1]}/_autopilot-ra\"
  autopilot-ra completions powershell >> $PROFILE";

#[derive(Args)]
pub struct CsvArgs {
    /// Header row, then one device per row: `serial_number` or `device_id`, and
    /// `user_principal_name`, `addressable_user_name`, `resource_account_name` (any order).
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// Write the final outcome of every row to this CSV file (atomically). An existing file is
    /// replaced only if it is a report of ours; a symbolic link is refused.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Rows whose device already reports the account: `plan` lists them as `rearm`, `apply`
    /// sends the assignment again (a link lasts up to 90 days; a reset device needs it again).
    #[arg(long)]
    pub force: bool,
    /// Let through a row whose account another device read by the plan already has (`plan`
    /// warns, `apply` links it here too), and (`apply`) replace a different resource account
    /// already linked to a device.
    #[arg(long)]
    pub reassign: bool,
    /// Do not check the accounts (exists, enabled, Teams Rooms license): no user or license
    /// request is sent. Without it a token lacking User.Read.All and Organization.Read.All
    /// skips the check with one notice.
    #[arg(long)]
    pub no_account_checks: bool,
}

#[derive(Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub csv: CsvArgs,
    /// JSON-lines journal of outcomes, bound to the endpoint. Default: `<csv>.journal.jsonl`.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Skip the rows the journal records as verified for this endpoint and tenant.
    #[arg(long)]
    pub resume: bool,
    /// Call `allowNextEnrollment` first on devices whose userless enrollment is blocked.
    #[arg(long)]
    pub allow_next_enrollment: bool,
    /// How long to wait for each written assignment to show on its device.
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds)]
    pub verify_timeout: Duration,
}

#[derive(Args)]
pub struct UnassignArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Every device of a CSV file in the format `apply` reads (checked the same way),
    /// `--concurrency` at a time, one line per row. A device is unassigned only while it
    /// reports its row's account (compared as `plan` does); one that reports none is
    /// `already-unassigned` and one that reports another is `blocked`: nothing is sent to either.
    // In DeviceArgs' group: exactly one of --serial, --device, --csv.
    #[arg(long, value_name = "FILE", group = "DeviceArgs")]
    pub csv: Option<PathBuf>,
    /// With `--csv`: unassign every device of the file, whatever account it reports.
    // Not `requires = "csv"`: clap waives a requirement that conflicts with an argument given,
    // and `--csv` conflicts with `--serial` and `--device` through the group.
    #[arg(long, conflicts_with_all = ["serial", "device"])]
    pub force: bool,
    /// How long to wait for the device to show that no account is linked.
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds)]
    pub verify_timeout: Duration,
}

/// One device, by serial number or by id.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct DeviceArgs {
    /// The device's serial number (matched exactly, ignoring case).
    #[arg(long, value_name = "S")]
    pub serial: Option<String>,
    /// The Autopilot device identity id.
    #[arg(long, value_name = "ID")]
    pub device: Option<String>,
}

/// Sign-in methods of `--auth` (the Azure SDK ones with feature `azure-identity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// Delegated sign-in on any browser with a code (`--client-id` of your public client,
    /// `--tenant-id`); tokens are refreshed during the run.
    DeviceCode,
    /// The account of `az login` (run `az cloud set` for a national cloud).
    #[cfg(feature = "azure-identity")]
    AzureCli,
    /// An app registration: `--tenant-id`, `--client-id` and `AZURE_CLIENT_SECRET`.
    #[cfg(feature = "azure-identity")]
    ClientSecret,
    /// The managed identity of the VM or service (`--client-id` for a user-assigned one).
    #[cfg(feature = "azure-identity")]
    ManagedIdentity,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CloudArg {
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

fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&value) {
        return Err("must be between 0 and 86400 seconds".into());
    }
    Ok(Duration::from_secs_f64(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn verify_timeout_is_bounded() {
        assert_eq!(seconds("1.5").unwrap(), Duration::from_millis(1500));
        for bad in ["-1", "NaN", "1e30", "x", "inf"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }
}
