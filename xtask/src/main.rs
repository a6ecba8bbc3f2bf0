use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::provenance::SourceInfo;
use xtask::slice::Mode;
use xtask::spec;
use xtask::{EXIT_SURFACE_CHANGED, bench, fixture, one_line, yaml};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Project tasks for autopilot-resource-account"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Regenerate or check spec/ from Microsoft's OpenAPI text.
    Spec {
        #[command(subcommand)]
        cmd: SpecCmd,
    },
    /// Time `spec update` on the 88 MB fixture against a full-parse baseline.
    Bench {
        /// The fixture (built with `cargo xtask fixture` when absent).
        #[arg(long)]
        fixture: Option<PathBuf>,
        /// Optional extra: a folder holding `beta-modules-2023-01-04.tar.xz` (all 38 module
        /// slices of 2023) for a wider differential check; without it, only the vendored texts.
        #[arg(long)]
        upstream: Option<PathBuf>,
    },
    /// Write a document of the size and shape of Graph's beta description (deterministic).
    Fixture {
        /// Smallest size wanted (e.g. 88MB, 3MB, 500kB); the fewest replicas that reach it.
        #[arg(long, value_parser = xtask::fixture::parse_size, conflicts_with = "replicas")]
        size: Option<u64>,
        /// Exactly this many renamed copies of every path item and component instead.
        #[arg(long)]
        replicas: Option<usize>,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// Upstream texts to merge (default: the vendored texts in xtask/upstream-texts/).
        inputs: Vec<PathBuf>,
    },
    /// Internal (bench baseline): one conforming YAML event pass over a file, no tree.
    #[command(hide = true)]
    YamlEvents {
        #[arg(long)]
        from: PathBuf,
    },
    /// Internal (bench baseline): read and hash a file.
    #[command(hide = true)]
    ReadHash {
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Subcommand)]
enum SpecCmd {
    /// Slice, adjust and write spec/ from an upstream file or https URL.
    Update {
        /// Local file or https URL of Microsoft's OpenAPI text (openapi.yaml or a module slice).
        /// Repeat it to slice across several texts (e.g. the PowerShell SDK's modules): each
        /// selected path must be in exactly one of them. Default: Microsoft's published beta
        /// description (msgraph-metadata's openapi/beta/openapi.yaml), with its repository and
        /// path recorded as provenance.
        #[arg(long)]
        from: Vec<String>,
        /// The spec directory (default: spec/ at the workspace root).
        #[arg(long)]
        spec_dir: Option<PathBuf>,
        /// Skip the fast path; parse the whole text with the conforming parser.
        #[arg(long)]
        full_parse: bool,
        /// Provenance: source repository (owner/name).
        #[arg(long)]
        source_repo: Option<String>,
        /// Provenance: path of the text in that repository.
        #[arg(long)]
        source_path: Option<String>,
        /// Provenance: commit of the text.
        #[arg(long)]
        source_commit: Option<String>,
        /// Provenance: date of that commit (never the current time: output stays reproducible).
        #[arg(long)]
        source_date: Option<String>,
        /// Pin: fail (writing nothing) unless the input's sha256 is this (64 hex digits).
        #[arg(long, value_parser = xtask::fetch::parse_sha256)]
        sha256: Option<String>,
    },
    /// Rewrite openapi.json from the committed slice after editing adjustments.yaml.
    Apply {
        #[arg(long)]
        spec_dir: Option<PathBuf>,
    },
    /// Re-derive openapi.json from the committed slice + adjustments; fail with a diff.
    Check {
        #[arg(long)]
        spec_dir: Option<PathBuf>,
    },
    /// Write only the slice of a text (fast path unless --full-parse) to a file.
    Slice {
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        full_parse: bool,
        #[arg(long)]
        spec_dir: Option<PathBuf>,
    },
    /// Differential test: the fast path and the full parse must agree on each file.
    Differential {
        files: Vec<PathBuf>,
        #[arg(long)]
        spec_dir: Option<PathBuf>,
    },
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("error: {}", one_line(msg));
    ExitCode::FAILURE
}

fn report(r: Result<spec::UpdateReport, String>) -> ExitCode {
    match r {
        Err(e) => fail(&e),
        Ok(r) => {
            if let Some(reason) = &r.fallback {
                eprintln!(
                    "note: fast path not used ({}); read the whole text with the conforming parser",
                    one_line(reason)
                );
            }
            if r.changed_files.is_empty() {
                println!("spec/ is up to date");
            } else {
                println!("rewrote {}", r.changed_files.join(", "));
            }
            for line in &r.summary {
                println!("  {line}");
            }
            if !r.snapshots.is_empty() {
                println!(
                    "rewrote {} (review them in the diff)",
                    r.snapshots.join(", ")
                );
            }
            if r.changed_files.is_empty() {
                println!("semver: none — spec/ is unchanged");
            } else {
                println!("{}", r.verdict);
            }
            if r.surface_changed {
                println!("the generated Rust surface changed (exit {EXIT_SURFACE_CHANGED})");
                ExitCode::from(EXIT_SURFACE_CHANGED)
            } else {
                println!("the generated Rust surface is unchanged");
                ExitCode::SUCCESS
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Spec { cmd } => match cmd {
            SpecCmd::Update {
                from,
                spec_dir,
                full_parse,
                source_repo,
                source_path,
                source_commit,
                source_date,
                sha256,
            } => {
                let dir = spec_dir.unwrap_or_else(spec::default_spec_dir);
                let mode = if full_parse { Mode::Full } else { Mode::Auto };
                let upstream = from.is_empty();
                let from = if upstream {
                    vec![xtask::UPSTREAM_BETA_URL.to_owned()]
                } else {
                    from
                };
                let source = SourceInfo {
                    repository: source_repo
                        .or_else(|| upstream.then(|| xtask::UPSTREAM_REPOSITORY.to_owned())),
                    path: source_path.or_else(|| upstream.then(|| xtask::UPSTREAM_PATH.to_owned())),
                    commit: source_commit,
                    date: source_date,
                    sha256,
                };
                report(spec::update_many(&from, &dir, mode, source))
            }
            SpecCmd::Apply { spec_dir } => {
                let dir = spec_dir.unwrap_or_else(spec::default_spec_dir);
                report(spec::apply_committed(&dir))
            }
            SpecCmd::Check { spec_dir } => {
                let dir = spec_dir.unwrap_or_else(spec::default_spec_dir);
                match spec::check(&dir) {
                    Ok(()) => {
                        println!("spec check: spec/openapi.json matches the slice + adjustments");
                        ExitCode::SUCCESS
                    }
                    Err((msg, diff)) => {
                        if let Some(d) = diff {
                            eprint!("{d}");
                            match spec::check_verdict(&dir) {
                                Ok(v) => println!("{v}"),
                                Err(e) => eprintln!("note: no semver verdict: {}", one_line(&e)),
                            }
                        }
                        fail(&msg)
                    }
                }
            }
            SpecCmd::Slice {
                from,
                out,
                full_parse,
                spec_dir,
            } => {
                let dir = spec_dir.unwrap_or_else(spec::default_spec_dir);
                let mode = if full_parse { Mode::Full } else { Mode::Auto };
                match bench::slice_file(&from, &dir, mode) {
                    Ok(text) => match std::fs::write(&out, text) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => fail(&format!("cannot write {}: {e}", out.display())),
                    },
                    Err(e) => fail(&e),
                }
            }
            SpecCmd::Differential { files, spec_dir } => {
                let dir = spec_dir.unwrap_or_else(spec::default_spec_dir);
                match bench::differential(&files, &dir) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(&e),
                }
            }
        },
        Cmd::Bench { fixture, upstream } => match bench::run(fixture, upstream) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Cmd::Fixture {
            size,
            replicas,
            out,
            inputs,
        } => {
            let target = match replicas {
                Some(r) => fixture::Target::Replicas(r),
                None => fixture::Target::Size(size.unwrap_or(fixture::DEFAULT_SIZE)),
            };
            let inputs = if inputs.is_empty() {
                fixture::default_inputs()
            } else {
                inputs
            };
            match fixture::write_file(&inputs, target, &out) {
                Ok(s) => {
                    println!(
                        "wrote {} ({} bytes, {} replicas, {} paths, {} schemas)",
                        out.display(),
                        s.bytes,
                        s.replicas,
                        s.paths,
                        s.schemas
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Cmd::YamlEvents { from } => match std::fs::read_to_string(&from) {
            Ok(text) => match yaml::count_events(&text) {
                Ok(n) => {
                    println!("{n} events");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            },
            Err(e) => fail(&format!("cannot read {}: {e}", from.display())),
        },
        Cmd::ReadHash { from } => match std::fs::read(&from) {
            Ok(b) => {
                println!("{}", xtask::fetch::sha256_hex(&b));
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("cannot read {}: {e}", from.display())),
        },
    }
}
