//! How `spec update` replaces what it owns in spec/: in place, file by file, keeping everything
//! else, and never leaving a moment when spec/ or one of its files is missing or partial.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use xtask::slice::Mode;
use xtask::spec;

const OWNED: [&str; 3] = ["upstream-slice.yaml", "openapi.json", "provenance.json"];

fn from(name: &str) -> String {
    upstream_texts().join(name).to_string_lossy().into_owned()
}

/// Everything in `snap` but the files the update owns.
fn foreign(
    snap: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    snap.iter()
        .filter(|(k, _)| !OWNED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(unix)]
#[test]
fn foreign_files_folders_and_symlinks_survive() {
    let t = action_copy_of_spec("swap-foreign");
    let sd = t.path().join("spec");
    std::fs::write(sd.join("NOTES.md"), "mine\n").unwrap();
    std::fs::create_dir_all(sd.join("drafts/old")).unwrap();
    std::fs::write(sd.join("drafts/old/x.yaml"), "a: 1\n").unwrap();
    std::os::unix::fs::symlink("openapi.json", sd.join("current.json")).unwrap();
    std::os::unix::fs::symlink("../elsewhere", sd.join("dangling")).unwrap();
    std::os::unix::fs::symlink("drafts", sd.join("drafts-link")).unwrap();
    let before = snapshot(&sd);
    // The 2023 text changes every owned file.
    let r = spec::update(&from(M2023), &sd, Mode::Auto, Default::default()).unwrap();
    assert_eq!(r.changed_files.len(), 3, "{r:?}");
    let after = snapshot(&sd);
    assert_eq!(foreign(&after), foreign(&before));
    for f in OWNED {
        assert_ne!(after[f], before[f], "{f} was rewritten");
    }
    // No temporary files left behind.
    assert_eq!(after.len(), before.len(), "{after:?}");
}

#[cfg(unix)]
#[test]
fn spec_dir_is_the_same_directory_throughout() {
    use std::os::unix::fs::MetadataExt;
    let t = action_copy_of_spec("swap-inode");
    let sd = t.path().join("spec");
    // Start from one of the two versions the reader accepts (the action-only S1 document).
    spec::update(&from(S1), &sd, Mode::Auto, Default::default()).unwrap();
    let ino = std::fs::metadata(&sd).unwrap().ino();
    let adj_ino = std::fs::metadata(sd.join("adjustments.yaml"))
        .unwrap()
        .ino();

    // A reader polls while updates alternate between two texts: spec/ and each owned file
    // must always be there and complete (one of the two versions, never a part).
    let versions: Vec<String> = [M2023, S1]
        .iter()
        .map(|f| {
            let w = action_copy_of_spec("swap-version");
            let wd = w.path().join("spec");
            spec::update(&from(f), &wd, Mode::Auto, Default::default()).unwrap();
            std::fs::read_to_string(wd.join("openapi.json")).unwrap()
        })
        .collect();
    assert_ne!(versions[0], versions[1]);
    let stop = Arc::new(AtomicBool::new(false));
    let (stop2, sd2, v2) = (stop.clone(), sd.clone(), versions.clone());
    let reader = std::thread::spawn(move || {
        let mut reads = 0u64;
        while !stop2.load(Ordering::SeqCst) {
            assert!(sd2.is_dir(), "spec/ missing");
            for f in OWNED {
                assert!(sd2.join(f).is_file(), "{f} missing");
            }
            let doc = std::fs::read_to_string(sd2.join("openapi.json")).unwrap();
            assert!(v2.contains(&doc), "a partial or foreign openapi.json");
            reads += 1;
        }
        reads
    });
    for i in 0..6 {
        let f = if i % 2 == 0 { M2023 } else { S1 };
        spec::update(&from(f), &sd, Mode::Auto, Default::default()).unwrap();
        assert_eq!(
            std::fs::metadata(&sd).unwrap().ino(),
            ino,
            "spec/ was replaced"
        );
    }
    stop.store(true, Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(
        std::fs::metadata(sd.join("adjustments.yaml"))
            .unwrap()
            .ino(),
        adj_ino,
        "adjustments.yaml is not the update's to rewrite"
    );
}

#[test]
fn a_failure_while_replacing_leaves_spec_byte_identical() {
    // provenance.json is a folder here: it is refused before anything is written or renamed.
    let t = action_copy_of_spec("swap-fail");
    let sd = t.path().join("spec");
    std::fs::remove_file(sd.join("provenance.json")).unwrap();
    std::fs::create_dir(sd.join("provenance.json")).unwrap();
    std::fs::write(sd.join("provenance.json/keep"), "x").unwrap();
    let before = snapshot(&sd);
    let e = spec::update(&from(M2023), &sd, Mode::Auto, Default::default()).unwrap_err();
    assert!(e.contains("provenance.json") && !e.contains('\n'), "{e}");
    assert_eq!(snapshot(&sd), before);
    // Nothing beside spec/ either.
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
}
