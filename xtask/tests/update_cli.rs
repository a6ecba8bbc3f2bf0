//! `cargo xtask spec update` as a scheduled job runs it: the built binary, its exit codes, and
//! what it leaves in spec/ (a temporary copy of the repository's).

mod common;

use std::process::Command;

use common::*;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn xtask(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s1() -> String {
    upstream_texts().join(S1).to_string_lossy().into_owned()
}

#[test]
fn unchanged_surface_exits_0() {
    let t = s1_spec("cli-same");
    let sd = t.path().join("spec");
    let before = snapshot(&sd);
    let o = xtask(&[
        "spec",
        "update",
        "--from",
        &s1(),
        "--spec-dir",
        sd.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("spec/ is up to date"), "{}", o.stdout);
    assert_eq!(snapshot(&sd), before);
}

#[test]
fn changed_surface_exits_3_and_says_why() {
    // S1's document lacks one operation (as if an older text had made it): the S1 update
    // brings it back, which changes the generated surface.
    let t = s1_spec("cli-changed");
    let sd = t.path().join("spec");
    let s1_json = std::fs::read(sd.join("openapi.json")).unwrap();
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sd.join("openapi.json")).unwrap()).unwrap();
    let paths = doc["paths"].as_object_mut().unwrap();
    let first = paths.keys().next().unwrap().clone();
    paths.shift_remove(&first);
    std::fs::write(sd.join("openapi.json"), xtask::layout::to_json(&doc)).unwrap();
    let o = xtask(&[
        "spec",
        "update",
        "--from",
        &s1(),
        "--spec-dir",
        sd.to_str().unwrap(),
    ]);
    assert_eq!(
        o.code,
        i32::from(xtask::EXIT_SURFACE_CHANGED),
        "{}{}",
        o.stdout,
        o.stderr
    );
    assert!(
        o.stdout.contains("rewrote openapi.json") && o.stdout.contains("operation added: POST"),
        "{}",
        o.stdout
    );
    assert_eq!(std::fs::read(sd.join("openapi.json")).unwrap(), s1_json);
}

#[test]
fn failed_update_leaves_spec_byte_identical() {
    let t = copy_of_spec("cli-failed");
    let sd = t.path().join("spec");
    std::fs::write(sd.join("NOTES.md"), "kept\n").unwrap();
    let before = snapshot(&sd);
    // A text without the action: slicing fails after reading the input.
    let bad = t.path().join("no-action.yaml");
    std::fs::write(
        &bad,
        MINI.replace("assignResourceAccountToDevice'", "somethingElse'"),
    )
    .unwrap();
    let o = xtask(&[
        "spec",
        "update",
        "--from",
        bad.to_str().unwrap(),
        "--spec-dir",
        sd.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert_eq!(snapshot(&sd), before);
    // Nothing left beside it either (no temp directories or files).
    let beside: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside.len(), 2, "{beside:?}");
}
