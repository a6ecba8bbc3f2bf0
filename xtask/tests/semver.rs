//! The semver verdict on constructed documents (each a small edit of S1's adjusted document,
//! not of the committed spec/, which the weekly job may have regenerated from a text that
//! already has the edit), and `spec update` printing it for texts derived from S1.

mod common;

use std::process::Command;

use serde_json::{Value, json};
use xtask::semver::Level;
use xtask::surface;

use common::*;

/// The verdict of editing S1's document with `edit`.
fn verdict_of(edit: impl FnOnce(&mut Value)) -> xtask::semver::Verdict {
    let old = s1_openapi();
    let mut new = old.clone();
    edit(&mut new);
    assert_ne!(old, new, "the edit changes the document");
    surface::compare(Some(&old), &new).unwrap().verdict
}

fn body_props(d: &mut Value) -> &mut serde_json::Map<String, Value> {
    d["components"]["schemas"]["ResourceAccountAssignment"]["properties"]
        .as_object_mut()
        .unwrap()
}

fn first_path(d: &Value) -> String {
    d["paths"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone()
}

fn says(v: &xtask::semver::Verdict, level: Level, reason: &str) {
    assert_eq!(v.level, level, "{v}");
    assert!(
        v.reasons.iter().any(|(_, r)| r == reason),
        "{v}\nexpected reason: {reason}"
    );
    assert!(
        v.to_string().starts_with(&format!("semver: {level} — ")),
        "{v}"
    );
}

#[test]
fn removed_property_is_major() {
    let v = verdict_of(|d| {
        body_props(d).shift_remove("resourceAccountName");
    });
    says(
        &v,
        Level::Major,
        "property ResourceAccountAssignment.resource_account_name removed",
    );
    // Its setter goes with it.
    assert!(
        v.reasons.iter().any(|(l, r)| *l == Level::Major
            && r == "function ResourceAccountAssignment::with_resource_account_name removed"),
        "{v}"
    );
}

#[test]
fn retyped_property_is_major() {
    let v = verdict_of(|d| {
        body_props(d)["userPrincipalName"] = json!({"type": "integer", "nullable": true});
    });
    says(
        &v,
        Level::Major,
        "property ResourceAccountAssignment.user_principal_name retyped: Option<String> -> Option<i64>",
    );
}

#[test]
fn new_optional_property_is_minor() {
    let v = verdict_of(|d| {
        body_props(d).insert(
            "deviceName".into(),
            json!({"type": "string", "nullable": true}),
        );
    });
    says(
        &v,
        Level::Minor,
        "property ResourceAccountAssignment.device_name added (optional)",
    );
    says(
        &v,
        Level::Minor,
        "function ResourceAccountAssignment::with_device_name added",
    );
    assert!(v.reasons.iter().all(|(l, _)| *l == Level::Minor), "{v}");
}

#[test]
fn new_required_property_is_major() {
    let v = verdict_of(|d| {
        body_props(d).insert("deviceName".into(), json!({"type": "string"}));
        d["components"]["schemas"]["ResourceAccountAssignment"]["required"] = json!(["deviceName"]);
    });
    says(
        &v,
        Level::Major,
        "property ResourceAccountAssignment.device_name added (required)",
    );
    // new() now takes it, and Default is gone.
    assert!(
        v.to_string().contains(
            "function ResourceAccountAssignment::new: parameter device_name added (required)"
        ),
        "{v}"
    );
    assert!(
        v.to_string()
            .contains("type ResourceAccountAssignment no longer implements Default"),
        "{v}"
    );
}

#[test]
fn new_operation_is_minor() {
    let v = verdict_of(|d| {
        let p = first_path(d);
        let mut item = d["paths"][&p].clone();
        item["post"]["operationId"] = json!("assign_resource_account_to_device_v2");
        d["paths"]
            .as_object_mut()
            .unwrap()
            .insert(format!("{p}V2"), item);
    });
    says(
        &v,
        Level::Minor,
        "operation assign_resource_account_to_device_v2 added",
    );
    assert!(v.reasons.iter().all(|(l, _)| *l == Level::Minor), "{v}");
}

#[test]
fn removed_operation_is_major() {
    let v = verdict_of(|d| {
        let p = first_path(d);
        d["paths"].as_object_mut().unwrap().shift_remove(&p);
    });
    says(
        &v,
        Level::Major,
        "operation assign_resource_account_to_device removed",
    );
}

#[test]
fn removed_parameter_and_response_are_major() {
    // The deployment-profile operation loses its profile id (the path loses the segment).
    let v = verdict_of(|d| {
        let paths = d["paths"].as_object_mut().unwrap();
        let (p, mut item) = paths
            .iter()
            .find(|(p, _)| p.contains("windowsAutopilotDeploymentProfiles"))
            .map(|(p, i)| (p.clone(), i.clone()))
            .unwrap();
        let params = item["post"]["parameters"].as_array_mut().unwrap();
        params.retain(|x| x["name"] != "windowsAutopilotDeploymentProfile-id");
        let new_path = p.replace("/{windowsAutopilotDeploymentProfile-id}", "/current");
        paths.shift_remove(&p);
        paths.insert(new_path, item);
    });
    says(
        &v,
        Level::Major,
        "operation assign_resource_account_to_deployment_profile_device: parameter windows_autopilot_deployment_profile_id removed",
    );

    // Success now has a body: the response type changes.
    let v = verdict_of(|d| {
        let p = first_path(d);
        d["paths"][&p]["post"]["responses"]["2XX"] = json!({
            "description": "Success",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ResourceAccountAssignment"}}}
        });
    });
    assert_eq!(v.level, Level::Major, "{v}");
    assert!(
        v.to_string()
            .contains("operation assign_resource_account_to_device: response type changed: Result<ResponseValue<()>, Error<ODataError>> -> Result<ResponseValue<ResourceAccountAssignment>, Error<ODataError>>"),
        "{v}"
    );
}

#[test]
fn new_enum_value_is_minor_and_removed_one_major() {
    // A body property that is an enum (its own schema, so #[non_exhaustive] applies).
    let with_enum = |values: Value| {
        move |d: &mut Value| {
            body_props(d).insert(
                "kind".into(),
                json!({"$ref": "#/components/schemas/AssignmentKind"}),
            );
            d["components"]["schemas"]["AssignmentKind"] =
                json!({"type": "string", "enum": values});
        }
    };
    let base = {
        let mut d = s1_openapi();
        with_enum(json!(["room", "board"]))(&mut d);
        d
    };
    let vs = |values: Value| {
        let mut new = s1_openapi();
        with_enum(values)(&mut new);
        surface::compare(Some(&base), &new).unwrap().verdict
    };
    says(
        &vs(json!(["room", "board", "display"])),
        Level::Minor,
        "variant AssignmentKind.Display added",
    );
    says(
        &vs(json!(["room"])),
        Level::Major,
        "variant AssignmentKind.Board removed",
    );
}

#[test]
fn description_change_is_patch() {
    let v = verdict_of(|d| {
        let p = first_path(d);
        d["paths"][&p]["post"]["description"] =
            json!("Assigns a resource account to an Autopilot device.");
    });
    assert_eq!(v.to_string(), "semver: patch — documentation only", "{v}");
    // And the surface signal agrees: docs are not surface.
    let old = s1_openapi();
    let mut new = old.clone();
    let p = first_path(&new);
    new["paths"][&p]["post"]["description"] = json!("Something else.");
    assert!(!surface::compare(Some(&old), &new).unwrap().surface_changed);
}

#[test]
fn no_change_is_patch_with_nothing_changed() {
    let d = s1_openapi();
    let c = surface::compare(Some(&d), &d).unwrap();
    assert_eq!(
        c.verdict.to_string(),
        "semver: patch — no change to the generated Rust"
    );
    assert!(!c.surface_changed);
}

fn update_from(text: &str, tag: &str) -> (i32, String, TempDir) {
    // From S1's spec/, not the committed one: the verdicts below are relative to S1, and the
    // weekly job may have regenerated spec/ from another text.
    let t = s1_spec(tag);
    let sd = t.path().join("spec");
    // The name S1 has, so provenance records the same `retrieved_as`.
    let from = t.path().join(S1);
    std::fs::write(&from, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec", "update", "--from"])
        .arg(&from)
        .arg("--spec-dir")
        .arg(&sd)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), stdout, t)
}

fn verdict_line(stdout: &str) -> &str {
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("semver: "))
        .collect();
    assert_eq!(lines.len(), 1, "one verdict line:\n{stdout}");
    lines[0]
}

#[test]
fn update_prints_minor_for_the_future_text() {
    let (code, stdout, _t) = update_from(&future_text(), "semver-future");
    assert_eq!(code, 3, "{stdout}");
    assert_eq!(
        verdict_line(&stdout),
        "semver: minor — property ResourceAccountAssignment.device_name added (optional); function ResourceAccountAssignment::with_device_name added",
        "{stdout}"
    );
}

#[test]
fn update_prints_major_for_a_removed_body_property() {
    let text = s1().replace(
        "                addressableUserName:\n                  type: string\n                  nullable: true\n                resourceAccountName:\n",
        "                resourceAccountName:\n",
    );
    let (code, stdout, _t) = update_from(&text, "semver-removed");
    assert_eq!(code, 3, "{stdout}");
    let line = verdict_line(&stdout);
    assert!(
        line.starts_with(
            "semver: major — property ResourceAccountAssignment.addressable_user_name removed"
        ),
        "{stdout}"
    );
}

#[test]
fn update_prints_patch_for_a_description_change() {
    let text = s1().replace(
        "      description: Assigns resource account to Autopilot devices.\n",
        "      description: Assigns a resource account to an Autopilot device.\n",
    );
    assert_ne!(text, s1());
    let (code, stdout, _t) = update_from(&text, "semver-docs");
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        verdict_line(&stdout),
        "semver: patch — documentation only",
        "{stdout}"
    );
}

#[test]
fn update_from_the_same_text_says_none() {
    let (code, stdout, _t) = update_from(&s1(), "semver-same");
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        verdict_line(&stdout),
        "semver: none — spec/ is unchanged",
        "{stdout}"
    );
}
