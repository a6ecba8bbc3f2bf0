//! The committed spec/ from the PowerShell SDK's module texts of 2025-01-27 (issue 24): the
//! Autopilot operations, the user and the subscribed SKUs come from four texts, and
//! `spec update --from A --from B --from C --from D` gives the committed files byte for byte.
//! (After the weekly job spec/ comes from Microsoft's full description instead; then the
//! byte-for-byte part is skipped, as `spec_is_reproducible_from_its_recorded_source` does.)

mod common;

use std::path::PathBuf;

use serde_json::Value;
use xtask::slice::Mode;
use xtask::{provenance, spec};

use common::*;

const MODULES: [&str; 4] = [
    "2025-01-27-DeviceManagement.Enrollment.yml",
    "2025-01-27-DeviceManagement.Actions.yml",
    "2025-01-27-Users.yml",
    "2025-01-27-Identity.DirectoryManagement.yml",
];

/// A spec dir with the committed adjustments alone (all operations: the modules hold them all).
fn committed_scratch(tag: &str) -> TempDir {
    let t = scratch_spec(tag, false);
    std::fs::copy(
        spec_dir().join("adjustments.yaml"),
        t.path().join("spec/adjustments.yaml"),
    )
    .unwrap();
    t
}

fn modules() -> Vec<String> {
    MODULES
        .iter()
        .map(|m| upstream_texts().join(m).to_string_lossy().into_owned())
        .collect()
}

/// Where the four came from, as upstream-texts/README.md records it (one commit).
fn source() -> provenance::SourceInfo {
    provenance::SourceInfo {
        repository: Some("microsoftgraph/msgraph-sdk-powershell".into()),
        commit: Some("f43aa05b3585171922fc830fa74aabcaea897679".into()),
        date: Some("2025-01-27".into()),
        ..Default::default()
    }
}

#[test]
fn vendored_modules_are_the_recorded_ones() {
    let readme = std::fs::read_to_string(upstream_texts().join("README.md")).unwrap();
    for m in MODULES {
        let sha = xtask::fetch::sha256_hex(&std::fs::read(upstream_texts().join(m)).unwrap());
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{m}` |")))
            .unwrap_or_else(|| panic!("no README row for {m}"));
        assert!(row.contains(&format!("`{sha}`")), "{m}: sha256 {sha}");
    }
}

#[test]
fn the_modules_reproduce_the_committed_spec_byte_for_byte() {
    let prov: Value =
        serde_json::from_str(&std::fs::read_to_string(spec_dir().join("provenance.json")).unwrap())
            .unwrap();
    let recorded: Vec<&str> = prov["sources"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|x| x["input"]["sha256"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let ours: Vec<String> = MODULES
        .iter()
        .map(|m| xtask::fetch::sha256_hex(&std::fs::read(upstream_texts().join(m)).unwrap()))
        .collect();
    if recorded != ours {
        println!("spec/ is not from the 2025-01-27 modules: byte-for-byte check skipped");
        return;
    }
    let t = committed_scratch("modules-2025");
    let sd = t.path().join("spec");
    let r = spec::update_many(&modules(), &sd, Mode::Auto, source()).unwrap();
    assert!(r.fallback.is_none(), "{:?}", r.fallback);
    for f in ["upstream-slice.yaml", "openapi.json", "provenance.json"] {
        assert!(
            std::fs::read(sd.join(f)).unwrap() == std::fs::read(spec_dir().join(f)).unwrap(),
            "{f} differs from the committed one"
        );
    }
    spec::check(&sd).map_err(|(m, _)| m).unwrap();
    // The account check's operations are there, with the ids the adjustments give.
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(sd.join("openapi.json")).unwrap()).unwrap();
    assert_eq!(
        doc["paths"]["/users/{user-id}"]["get"]["operationId"],
        "get_user"
    );
    assert_eq!(
        doc["paths"]["/subscribedSkus"]["get"]["operationId"],
        "list_subscribed_skus"
    );
    let user: Vec<&str> = doc["components"]["schemas"]["User"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        user,
        [
            "id",
            "accountEnabled",
            "assignedLicenses",
            "displayName",
            "userPrincipalName"
        ]
    );
}

#[test]
fn a_doctored_module_fails_naming_both_texts_and_the_component() {
    // Users.yml's copy of the error schema differs from the device modules' copy.
    let t = committed_scratch("modules-2025-conflict");
    let sd = t.path().join("spec");
    let users = std::fs::read_to_string(upstream_texts().join(MODULES[2])).unwrap();
    let anchor = "    microsoft.graph.ODataErrors.MainError:\n";
    assert_eq!(users.matches(anchor).count(), 1);
    let doctored: PathBuf = t.path().join("Users.yml");
    std::fs::write(
        &doctored,
        users.replace(anchor, &format!("{anchor}      description: doctored\n")),
    )
    .unwrap();
    let mut froms = modules();
    froms[2] = doctored.to_string_lossy().into_owned();
    let before = snapshot(&sd);
    let e = spec::update_many(&froms, &sd, Mode::Auto, source()).unwrap_err();
    assert!(
        e.contains(
            "component schemas/microsoft.graph.ODataErrors.MainError is defined differently in"
        ) && e.contains(MODULES[0])
            && e.contains(&froms[2]),
        "{e}"
    );
    assert_eq!(snapshot(&sd), before, "nothing written");
}
