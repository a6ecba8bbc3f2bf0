//! `spec update --from A --from B …` (issue 24): the selected paths sliced across several texts,
//! as the PowerShell SDK's modules split them. Texts here are S1 cut in two at the text level
//! (each half keeps every component), so both halves share their components verbatim.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use xtask::multi::Text;
use xtask::slice::Mode;

/// Path items of the device itself and the list: the "second module".
fn is_read_path(key: &str) -> bool {
    key.ends_with("windowsAutopilotDeviceIdentities':")
        || key.ends_with("windowsAutopilotDeviceIdentities:")
        || key.ends_with("{windowsAutopilotDeviceIdentity-id}':")
}

/// `text` without the path items whose key line satisfies `drop` (converter layout: a path
/// entry is its key line at column 2 and every deeper line after it).
fn without_paths(text: &str, drop: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_paths, mut skipping) = (false, false);
    for line in text.split_inclusive('\n') {
        if !line.starts_with(' ') {
            in_paths = line.starts_with("paths:");
            skipping = false;
        } else if in_paths && line.starts_with("  ") && !line.starts_with("   ") {
            skipping = drop(line.trim_end());
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out
}

/// S1 split: the actions in one text, the reads in the other.
fn halves() -> (String, String) {
    let s1 = s1();
    let actions = without_paths(&s1, is_read_path);
    let reads = without_paths(&s1, |k| !is_read_path(k));
    assert!(actions.len() < s1.len() && reads.len() < s1.len());
    (actions, reads)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn xtask(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn two_texts_give_what_one_text_holding_both_gives() {
    let (a, b) = halves();
    let texts = [
        Text {
            name: "actions.yml",
            text: &a,
        },
        Text {
            name: "reads.yml",
            text: &b,
        },
    ];
    let many = xtask::spec::derive_many(&texts, &adjustments(), Mode::Auto).unwrap();
    assert!(many.fallback.is_none(), "{:?}", many.fallback);
    let one = s1_openapi();
    // Same paths and the same components (order is text by text), so the same Rust.
    let keys = |v: &serde_json::Value, k: &str| {
        let mut ks: Vec<String> = v[k].as_object().unwrap().keys().cloned().collect();
        ks.sort();
        ks
    };
    assert_eq!(keys(&many.adjusted, "paths"), keys(&one, "paths"));
    for section in one["components"].as_object().unwrap().keys() {
        assert_eq!(
            keys(&many.adjusted["components"], section),
            keys(&one["components"], section),
            "{section}"
        );
    }
    let c = xtask::surface::compare(Some(&one), &many.adjusted).unwrap();
    assert!(!c.surface_changed, "{}", c.verdict);
}

#[test]
fn a_path_in_two_texts_is_an_error_naming_both() {
    let (a, _) = halves();
    let s1 = s1();
    let texts = [
        Text {
            name: "S1.yml",
            text: &s1,
        },
        Text {
            name: "actions.yml",
            text: &a,
        },
    ];
    let e = xtask::spec::derive_many(&texts, &adjustments(), Mode::Auto)
        .err()
        .unwrap();
    assert!(
        e.contains("is in both S1.yml and actions.yml")
            && e.contains("assignResourceAccountToDevice"),
        "{e}"
    );
}

#[test]
fn a_path_in_no_text_is_an_error_naming_the_path() {
    let (a, _) = halves();
    // The reads without the device's own path item: the device GET is in neither text.
    let list_only = without_paths(&s1(), |k| {
        !is_read_path(k) || k.ends_with("{windowsAutopilotDeviceIdentity-id}':")
    });
    let texts = [
        Text {
            name: "actions.yml",
            text: &a,
        },
        Text {
            name: "list.yml",
            text: &list_only,
        },
    ];
    let e = xtask::spec::derive_many(&texts, &adjustments(), Mode::Auto)
        .err()
        .unwrap();
    assert!(
        e.contains("'/deviceManagement/windowsAutopilotDeviceIdentities/{windowsAutopilotDeviceIdentity-id}' (unqualified or microsoft.graph.-qualified) is in none of actions.yml, list.yml"),
        "{e}"
    );
}

#[test]
fn a_component_defined_differently_fails_naming_both_texts() {
    let (a, b) = halves();
    // The second text's MainError gains a property: both texts hold it, differently.
    let anchor = "    microsoft.graph.ODataErrors.MainError:\n";
    assert_eq!(b.matches(anchor).count(), 1);
    let b = b.replace(anchor, &format!("{anchor}      description: doctored\n"));
    let t = TempDir::new("multi-conflict");
    let sd = t.path().join("spec");
    std::fs::create_dir(&sd).unwrap();
    std::fs::write(sd.join("adjustments.yaml"), s1_adjustments_yaml()).unwrap();
    let (pa, pb) = (
        write(t.path(), "actions.yml", &a),
        write(t.path(), "reads.yml", &b),
    );
    let before = snapshot(&sd);
    let (code, out, err) = xtask(&[
        "spec".as_ref(),
        "update".as_ref(),
        "--from".as_ref(),
        pa.as_os_str(),
        "--from".as_ref(),
        pb.as_os_str(),
        "--spec-dir".as_ref(),
        sd.as_os_str(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "component schemas/microsoft.graph.ODataErrors.MainError is defined differently"
        ) && err.contains("actions.yml")
            && err.contains("reads.yml"),
        "{err}"
    );
    assert_eq!(snapshot(&sd), before, "nothing written");
}

#[test]
fn several_sources_are_all_recorded_and_regenerate_to_the_same_bytes() {
    let (a, b) = halves();
    let t = TempDir::new("multi-cli");
    let sd = t.path().join("spec");
    std::fs::create_dir(&sd).unwrap();
    std::fs::write(sd.join("adjustments.yaml"), s1_adjustments_yaml()).unwrap();
    let (pa, pb) = (
        write(t.path(), "actions.yml", &a),
        write(t.path(), "reads.yml", &b),
    );
    let run = || {
        xtask(&[
            "spec".as_ref(),
            "update".as_ref(),
            "--from".as_ref(),
            pa.as_os_str(),
            "--from".as_ref(),
            pb.as_os_str(),
            "--spec-dir".as_ref(),
            sd.as_os_str(),
        ])
    };
    let (code, out, err) = run();
    assert_eq!(code, 3, "{out}{err}");
    let prov: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sd.join("provenance.json")).unwrap())
            .unwrap();
    let sources = prov["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{prov}");
    for (s, (name, text)) in sources.iter().zip([("actions.yml", &a), ("reads.yml", &b)]) {
        assert_eq!(s["retrieved_as"], name);
        assert_eq!(
            s["input"]["sha256"],
            xtask::fetch::sha256_hex(text.as_bytes()).as_str()
        );
        assert_eq!(s["input"]["bytes"], text.len());
    }
    assert!(prov.get("source").is_none() && prov.get("input").is_none());
    // spec check holds, and a second run in place changes nothing.
    xtask::spec::check(&sd).unwrap();
    let before = snapshot(&sd);
    let (code, out, err) = run();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("spec/ is up to date"), "{out}");
    assert_eq!(snapshot(&sd), before);
}

#[test]
fn provenance_options_with_several_texts_are_refused() {
    let (a, b) = halves();
    let t = TempDir::new("multi-opts");
    let sd = t.path().join("spec");
    std::fs::create_dir(&sd).unwrap();
    std::fs::write(sd.join("adjustments.yaml"), s1_adjustments_yaml()).unwrap();
    let (pa, pb) = (
        write(t.path(), "actions.yml", &a),
        write(t.path(), "reads.yml", &b),
    );
    let (code, out, err) = xtask(&[
        "spec".as_ref(),
        "update".as_ref(),
        "--from".as_ref(),
        pa.as_os_str(),
        "--from".as_ref(),
        pb.as_os_str(),
        "--source-path".as_ref(),
        "openApiDocs/beta/Users.yml".as_ref(),
        "--spec-dir".as_ref(),
        sd.as_os_str(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );
    assert!(err.contains("describe one text"), "{err}");
}
