//! Verdicts the other semver tests do not reach (issue 21: surviving mutants in semver.rs).
//! Each test names the mutation or the case it guards. The levels follow the Rust API
//! evolution rules (RFC 1105) as cargo's SemVer compatibility chapter states them.

mod common;

use serde_json::{Value, json};
use xtask::semver::{Level, Verdict, verdict};
use xtask::surface;

use common::*;

fn verdict_of(edit: impl FnOnce(&mut Value)) -> Verdict {
    let old = s1_openapi();
    let mut new = old.clone();
    edit(&mut new);
    assert_ne!(old, new, "the edit changes the document");
    surface::compare(Some(&old), &new).unwrap().verdict
}

fn body(d: &mut Value) -> &mut Value {
    &mut d["components"]["schemas"]["ResourceAccountAssignment"]
}

/// The verdict of two hand-written files (for shapes the generator never emits).
fn verdict_of_rust(old: &str, new: &str) -> Verdict {
    verdict(
        &syn::parse_file(old).unwrap(),
        &syn::parse_file(new).unwrap(),
    )
}

fn has(v: &Verdict, level: Level, reason: &str) -> bool {
    v.reasons
        .iter()
        .any(|(l, r)| *l == level && r.contains(reason))
}

/// Guards `.max()` → `.min()` over the reasons' levels: a change with reasons of two levels
/// (a property removed, major; another added as optional, minor) is the higher one, and the
/// deciding reasons come first.
#[test]
fn reasons_of_two_levels_give_the_higher() {
    let v = verdict_of(|d| {
        let props = body(d)["properties"].as_object_mut().unwrap();
        props.shift_remove("resourceAccountName");
        props.insert(
            "deviceName".into(),
            json!({"type": "string", "nullable": true}),
        );
    });
    assert_eq!(v.level, Level::Major, "{v}");
    assert!(
        has(
            &v,
            Level::Major,
            "property ResourceAccountAssignment.resource_account_name removed"
        ),
        "{v}"
    );
    assert!(
        has(
            &v,
            Level::Minor,
            "property ResourceAccountAssignment.device_name added (optional)"
        ),
        "{v}"
    );
    assert!(v.to_string().starts_with("semver: major — "), "{v}");
    assert_eq!(v.reasons[0].0, Level::Major, "{v}");
    assert_eq!(v.reasons.last().unwrap().0, Level::Minor, "{v}");
}

/// An optional property that became required is major: a caller must now supply it
/// (`new()` takes it; `Default` goes), and the field's type loses its `Option`.
#[test]
fn optional_property_that_became_required_is_major() {
    let v = verdict_of(|d| {
        let b = body(d);
        b["required"] = json!(["userPrincipalName"]);
        b["properties"]["userPrincipalName"] = json!({"type": "string"});
    });
    assert_eq!(v.level, Level::Major, "{v}");
    assert!(
        has(
            &v,
            Level::Major,
            "property ResourceAccountAssignment.user_principal_name"
        ),
        "{v}"
    );
    assert!(
        has(
            &v,
            Level::Major,
            "function ResourceAccountAssignment::new: parameter user_principal_name added"
        ),
        "{v}"
    );
}

/// The same when only the "may be left out" changes (a serde default removed, type kept):
/// guards the `became required` arm, which the generator reaches for array properties.
#[test]
fn a_field_that_lost_its_default_is_major() {
    let old = "pub mod types { #[non_exhaustive] pub struct T { #[serde(default)] pub tags: Vec<String> } }";
    let new = "pub mod types { #[non_exhaustive] pub struct T { pub tags: Vec<String> } }";
    let v = verdict_of_rust(old, new);
    assert_eq!(v.level, Level::Major, "{v}");
    assert!(
        has(&v, Level::Major, "property T.tags became required"),
        "{v}"
    );
    // And back: minor.
    let v = verdict_of_rust(new, old);
    assert_eq!(v.level, Level::Minor, "{v}");
    assert!(
        has(&v, Level::Minor, "property T.tags became optional"),
        "{v}"
    );
}

/// A parameter added to a public fn is major, even an `Option` one: every call site must pass
/// one more argument (cargo's SemVer chapter: "Major: adding/removing function parameters").
/// Here an optional query parameter added to an operation of the generated client.
#[test]
fn a_parameter_added_to_an_operation_is_major() {
    let v = verdict_of(|d| {
        let (_, item) = d["paths"]
            .as_object_mut()
            .unwrap()
            .iter_mut()
            .find(|(p, _)| p.ends_with("/{windowsAutopilotDeviceIdentity-id}"))
            .unwrap();
        item["get"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "name": "$expand", "in": "query", "schema": {"type": "string"}
            }));
    });
    assert_eq!(v.level, Level::Major, "{v}");
    assert!(
        has(
            &v,
            Level::Major,
            "operation get_autopilot_device: parameter expand added (an Option, still one more argument)"
        ),
        "{v}"
    );
}

/// The same for a plain public fn (a method outside the client).
#[test]
fn a_parameter_added_to_a_public_fn_is_major() {
    let v = verdict_of_rust(
        "pub struct S; impl S { pub fn f(&self, a: u8) {} }",
        "pub struct S; impl S { pub fn f(&self, a: u8, b: Option<u8>) {} }",
    );
    assert_eq!(v.level, Level::Major, "{v}");
    assert!(
        has(
            &v,
            Level::Major,
            "function S::f: parameter b added (an Option, still one more argument)"
        ),
        "{v}"
    );
}

/// A type that became `#[non_exhaustive]` is major: callers can no longer build it with a
/// struct literal or match it exhaustively (cargo's SemVer chapter: "Major: adding
/// non_exhaustive to an existing struct, enum, or variant without private fields").
#[test]
fn a_type_that_became_non_exhaustive_is_major() {
    for (old, new, name) in [
        (
            "pub struct P { pub a: u8 }",
            "#[non_exhaustive] pub struct P { pub a: u8 }",
            "type P became #[non_exhaustive]",
        ),
        (
            "pub enum E { A, B }",
            "#[non_exhaustive] pub enum E { A, B }",
            "type E became #[non_exhaustive]",
        ),
    ] {
        let v = verdict_of_rust(old, new);
        assert_eq!(v.level, Level::Major, "{v}");
        assert!(has(&v, Level::Major, name), "{v}");
        // The reverse removes a restriction: minor.
        let v = verdict_of_rust(new, old);
        assert_eq!(v.level, Level::Minor, "{v}");
    }
}
