//! Issue 9's "done when", end to end: a copy of the repository regenerated from the future text
//! (the module texts spec/ is cut from, plus an optional body property `deviceName`) with no hand edit prints `semver: minor`,
//! builds all targets and passes `cargo test --workspace --all-features`.
//!
//! It builds a whole second workspace (several minutes, in a target dir of its own that later
//! runs reuse), so it is ignored by default and `.ci/run` runs it as its own step:
//! `cargo test -p xtask --test regenerate_future -- --ignored`. The copy lives in a temporary
//! directory, removed afterwards; the working tree is not touched.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The repository's files (tracked and untracked-but-not-ignored) copied into `to`.
fn copy_repository(to: &Path) {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root())
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git ls-files: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for rel in out.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).unwrap());
        let from = root().join(rel);
        if !from.is_file() {
            continue; // deleted in the work tree
        }
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&from, &dest).unwrap();
    }
}

/// A target dir of the copy's own, inside the one this test was built in (CARGO_TARGET_TMPDIR
/// is `<target>/tmp`). Not that one itself: cargo gives a workspace member the same unit hash
/// wherever the workspace lies, so the copy's build script output (code generated from the
/// future text) replaced the repository's, and later builds of the repository compiled the
/// future code and failed its snapshot tests.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("regenerate-future")
}

/// `cargo …` in `dir` as a fresh invocation would run it: none of this test's CARGO_* variables,
/// but the caller's build settings (CI trims debug info and incremental artifacts to save disk).
fn cargo(dir: &Path, args: &[&str]) {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let build_setting = k.starts_with("CARGO_PROFILE_") || k == "CARGO_INCREMENTAL";
        if k.starts_with("CARGO_") && k != "CARGO_HOME" && k != "CARGO_TERM_COLOR" && !build_setting
        {
            cmd.env_remove(&k);
        }
    }
    let status = cmd
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CI", "true")
        .env("INSTA_UPDATE", "no")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cargo {} failed in the regenerated copy",
        args.join(" ")
    );
}

#[test]
#[ignore = "builds a second workspace (minutes)"]
fn future_text_regenerates_to_a_crate_that_builds_and_passes_its_tests() {
    let t = TempDir::new("regenerate-future");
    let copy = t.path().join("repo");
    copy_repository(&copy);
    // spec/ is cut from four module texts (tests/modules_2025.rs): the same four, the action's
    // with the new property.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(["spec", "update"]);
    for (name, text) in future_modules() {
        let from = t.path().join(name);
        std::fs::write(&from, text).unwrap();
        cmd.arg("--from").arg(from);
    }
    let out = cmd
        .arg("--spec-dir")
        .arg(copy.join("spec"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("semver: minor — ")),
        "{stdout}"
    );
    let source = std::fs::read_to_string(
        copy.join("tests/snapshots/generated_surface__generated_source.snap"),
    )
    .unwrap();
    assert!(
        source.contains("pub fn with_device_name("),
        "snapshot rewritten"
    );

    cargo(
        &copy,
        &[
            "build",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--locked",
        ],
    );
    cargo(
        &copy,
        &["test", "--workspace", "--all-features", "--locked"],
    );
}
