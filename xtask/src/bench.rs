//! `cargo xtask bench` and the differential check of the fast path.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::adjust::Adjustments;
use crate::fixture;
use crate::layout;
use crate::slice::{self, Mode};
use crate::spec;
use crate::yaml;

fn adjustments(spec_dir: &Path) -> Result<Adjustments, String> {
    let p = spec_dir.join(layout::ADJUSTMENTS);
    Adjustments::parse(
        &std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
    )
}

fn read(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{} is not UTF-8 text (offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// The slice of one file, as written to spec/ (without the header comment).
pub fn slice_file(from: &Path, spec_dir: &Path, mode: Mode) -> Result<String, String> {
    let adj = adjustments(spec_dir)?;
    let text = read(from)?;
    let out = slice::slice(&text, &adj.wanted_paths(), mode)?;
    Ok(yaml::emit(&out.slice))
}

/// Fast path versus full parse on each file: equal slices, or the same error.
pub fn differential(files: &[PathBuf], spec_dir: &Path) -> Result<(), String> {
    let adj = adjustments(spec_dir)?;
    let wanted = adj.wanted_paths();
    let mut bad = Vec::new();
    for f in files {
        let text = read(f)?;
        let fast = slice::slice(&text, &wanted, Mode::Auto);
        let full = slice::slice(&text, &wanted, Mode::Full);
        let how = match &fast {
            Ok(o) => match &o.fallback {
                None => "fast path".to_owned(),
                Some(r) => format!("fallback ({r})"),
            },
            Err(_) => match crate::scan::index(&text) {
                Ok(_) => "fast path".into(),
                Err(r) => format!("fallback ({r})"),
            },
        };
        let same = match (&fast, &full) {
            (Ok(a), Ok(b)) => a.slice == b.slice,
            (Err(a), Err(b)) => a == b,
            _ => false,
        };
        let what = match &fast {
            Ok(o) => format!(
                "{} paths",
                o.slice["paths"].as_object().map_or(0, |p| p.len())
            ),
            Err(e) => format!("error: {e}"),
        };
        println!(
            "{} {} [{how}] {what}",
            if same { "same" } else { "DIFFERENT" },
            f.display()
        );
        if !same {
            bad.push(f.display().to_string());
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fast path and full parse disagree on {}",
            bad.join(", ")
        ))
    }
}

struct Run {
    wall: f64,
    max_rss_mb: f64,
    code: i32,
}

#[cfg(unix)]
fn measure(cmd: &mut Command) -> Result<Run, String> {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = start.elapsed().as_secs_f64();
    if r != pid {
        return Err(format!("wait4 failed for {cmd:?}"));
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok(Run {
        wall,
        max_rss_mb: ru.ru_maxrss as f64 / 1024.0,
        code,
    })
}

#[cfg(not(unix))]
fn measure(cmd: &mut Command) -> Result<Run, String> {
    let start = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    Ok(Run {
        wall: start.elapsed().as_secs_f64(),
        max_rss_mb: f64::NAN,
        code: st.code().unwrap_or(-1),
    })
}

pub fn run(fixture: Option<PathBuf>, upstream: Option<PathBuf>) -> Result<(), String> {
    let root = spec::workspace_root();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let work = target.join("xtask-bench");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let fixture = match fixture {
        Some(f) => f,
        None => {
            let f = work.join(format!(
                "fixture-{}MB.yaml",
                fixture::DEFAULT_SIZE / 1_000_000
            ));
            if !f.exists() {
                eprintln!("building the fixture {} ...", f.display());
                fixture::write_file(
                    &fixture::default_inputs(),
                    fixture::Target::Size(fixture::DEFAULT_SIZE),
                    &f,
                )?;
            }
            f
        }
    };
    eprintln!("building xtask (release) ...");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let st = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--package", "xtask"])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !st.success() {
        return Err("cargo build --release -p xtask failed".into());
    }
    let bin = target
        .join("release")
        .join(format!("xtask{}", std::env::consts::EXE_SUFFIX));

    // A scratch copy of spec/, so the benchmark never touches the real one.
    let spec_dir = work.join("spec");
    let _ = std::fs::remove_dir_all(&spec_dir);
    std::fs::create_dir_all(&spec_dir)
        .map_err(|e| format!("cannot create {}: {e}", spec_dir.display()))?;
    for entry in
        std::fs::read_dir(root.join("spec")).map_err(|e| format!("cannot read spec/: {e}"))?
    {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().is_file() {
            std::fs::copy(entry.path(), spec_dir.join(entry.file_name()))
                .map_err(|e| e.to_string())?;
        }
    }
    let size_mb = std::fs::metadata(&fixture)
        .map_err(|e| e.to_string())?
        .len() as f64
        / 1e6;
    let fx = fixture.to_string_lossy().into_owned();
    let sd = spec_dir.to_string_lossy().into_owned();
    let fast_out = work.join("slice-fast.yaml");
    let full_out = work.join("slice-full.yaml");

    let mut rows: Vec<(String, Run)> = Vec::new();
    let mut go = |label: &str, args: &[&str], ok: &[i32]| -> Result<(), String> {
        let r = measure(Command::new(&bin).args(args))?;
        if !ok.contains(&r.code) {
            return Err(format!("{label}: exit code {}", r.code));
        }
        rows.push((label.to_owned(), r));
        Ok(())
    };
    go("read + sha256 (floor)", &["read-hash", "--from", &fx], &[0])?;
    for i in 1..=3 {
        go(
            &format!("spec update, run {i}"),
            &["spec", "update", "--from", &fx, "--spec-dir", &sd],
            &[0, 3],
        )?;
    }
    go(
        "fast slice only",
        &[
            "spec",
            "slice",
            "--from",
            &fx,
            "--out",
            &fast_out.to_string_lossy(),
            "--spec-dir",
            &sd,
        ],
        &[0],
    )?;
    go(
        "baseline: YAML event pass (no tree)",
        &["yaml-events", "--from", &fx],
        &[0],
    )?;
    go(
        "baseline: full-parse slice (fallback)",
        &[
            "spec",
            "slice",
            "--full-parse",
            "--from",
            &fx,
            "--out",
            &full_out.to_string_lossy(),
            "--spec-dir",
            &sd,
        ],
        &[0],
    )?;

    println!("fixture: {} ({size_mb:.1} MB)", fixture.display());
    println!("{:<40} {:>9} {:>12}", "", "wall (s)", "peak RSS (MB)");
    for (label, r) in &rows {
        println!("{label:<40} {:>9.3} {:>12.1}", r.wall, r.max_rss_mb);
    }
    let best = rows
        .iter()
        .filter(|(l, _)| l.starts_with("spec update"))
        .map(|(_, r)| (r.wall, r.max_rss_mb))
        .fold((f64::MAX, 0f64), |a, b| (a.0.min(b.0), a.1.max(b.1)));
    println!(
        "spec update: best {:.3} s, peak RSS {:.1} MB (target <= 0.5 s, <= 150 MB): {}",
        best.0,
        best.1,
        if best.0 <= 0.5 && best.1 <= 150.0 {
            "met"
        } else {
            "NOT met"
        }
    );

    let same = std::fs::read(&fast_out).ok() == std::fs::read(&full_out).ok();
    println!(
        "differential (fixture): fast-path slice {} full-parse slice",
        if same { "==" } else { "!=" }
    );
    if !same {
        return Err("the fast path and the full parse disagree on the fixture".into());
    }

    // Differential on the real texts: the vendored ones, and (optional extra, only when
    // `--upstream DIR` names it) every module slice of 2023. Nothing outside the repository is
    // read unless asked for.
    let mut files: Vec<String> = fixture::default_inputs()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let tarball = upstream.map(|u| u.join("beta-modules-2023-01-04.tar.xz"));
    match tarball.filter(|t| t.is_file()) {
        None => println!(
            "note: no beta-modules-2023-01-04.tar.xz (--upstream DIR): differential on the vendored texts only"
        ),
        Some(tarball) => {
            let modules = work.join("modules-2023");
            if !modules.exists() {
                std::fs::create_dir_all(&modules).map_err(|e| e.to_string())?;
                let st = Command::new("tar")
                    .arg("-C")
                    .arg(&modules)
                    .arg("-xJf")
                    .arg(&tarball)
                    .status()
                    .map_err(|e| format!("cannot run tar: {e}"))?;
                if !st.success() {
                    let _ = std::fs::remove_dir_all(&modules);
                    return Err(format!("cannot extract {}", tarball.display()));
                }
            }
            let mut mods: Vec<String> = std::fs::read_dir(&modules)
                .map_err(|e| e.to_string())?
                .filter_map(|e| e.ok().map(|e| e.path().to_string_lossy().into_owned()))
                .filter(|p| p.ends_with(".yml"))
                .collect();
            mods.sort();
            files.extend(mods);
        }
    }
    let mut args = vec![
        "spec".to_owned(),
        "differential".to_owned(),
        "--spec-dir".to_owned(),
        sd.clone(),
    ];
    args.extend(files.iter().cloned());
    let out = Command::new(&bin)
        .args(&args)
        .output()
        .map_err(|e| e.to_string())?;
    let report = String::from_utf8_lossy(&out.stdout);
    let same_count = report.lines().filter(|l| l.starts_with("same ")).count();
    println!(
        "differential (real texts): {same_count} of {} files agree",
        files.len()
    );
    for l in report
        .lines()
        .filter(|l| !l.starts_with("same ") || !l.contains("not in the document"))
    {
        println!("  {l}");
    }
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(())
}
