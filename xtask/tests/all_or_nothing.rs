//! `spec update` changes spec/ and the crate's snapshots together or not at all (issue 21,
//! defect 4: it used to replace spec/ first, so a snapshot it could not write left a new
//! provenance.json behind an exit 1).

mod common;

use std::process::Command;

use common::*;

const SNAP: &str = "generated_surface__generated_public_surface.snap";

#[test]
fn a_snapshot_that_cannot_be_written_leaves_spec_and_snapshots_unchanged() {
    let t = copy_of_spec_and_snapshots("all-or-nothing");
    let sd = t.path().join("spec");
    let snaps = t.path().join("tests/snapshots");
    // A snapshot path taken by a folder: its new content cannot go there.
    std::fs::remove_file(snaps.join(SNAP)).unwrap();
    std::fs::create_dir(snaps.join(SNAP)).unwrap();
    std::fs::write(snaps.join(SNAP).join("keep"), "x").unwrap();
    // The future text changes every owned file of spec/ and both snapshots.
    let from = t.path().join("future.yml");
    std::fs::write(&from, future_text()).unwrap();
    let before = snapshot(t.path());
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec", "update", "--from"])
        .arg(&from)
        .arg("--spec-dir")
        .arg(&sd)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(SNAP), "{stderr}");
    // Byte for byte as before, and no temporary file anywhere (snapshot() lists every entry).
    assert_eq!(snapshot(t.path()), before);
}

#[test]
fn a_successful_update_rewrites_spec_and_snapshots_together() {
    let t = copy_of_spec_and_snapshots("all-or-nothing-ok");
    let sd = t.path().join("spec");
    let from = t.path().join("future.yml");
    std::fs::write(&from, future_text()).unwrap();
    let before = snapshot(t.path());
    let r = xtask::spec::update(
        from.to_str().unwrap(),
        &sd,
        xtask::slice::Mode::Auto,
        Default::default(),
    )
    .unwrap();
    assert_eq!(r.snapshots.len(), 2, "{r:?}");
    let after = snapshot(t.path());
    for f in [
        "spec/openapi.json",
        "spec/provenance.json",
        &format!("tests/snapshots/{SNAP}"),
    ] {
        assert_ne!(after[f], before[f], "{f} was rewritten");
    }
    assert_eq!(
        after.len(),
        before.len(),
        "no temporary files left: {after:?}"
    );
}
