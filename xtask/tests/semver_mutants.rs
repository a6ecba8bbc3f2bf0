//! Verdicts on hand-written files for the branches of `semver.rs` that cargo mutants found
//! unchecked (issue 21). Each test names the mutants it kills.

use xtask::semver::{Level, Verdict, verdict};

fn verdict_of_rust(old: &str, new: &str) -> Verdict {
    verdict(
        &syn::parse_file(old).unwrap(),
        &syn::parse_file(new).unwrap(),
    )
}

fn reasons(v: &Verdict) -> Vec<String> {
    v.reasons.iter().map(|(_, r)| r.clone()).collect()
}

/// Kills `match guard sig.asyncness.is_some()` → `true` in `fn_label`: only the client's async
/// methods are operations; a plain method of `Client` is labelled a function.
#[test]
fn a_plain_method_of_the_client_is_a_function_not_an_operation() {
    let v = verdict_of_rust(
        "pub struct Client; impl Client { pub fn baseurl(&self) -> u8 { 0 } pub async fn op(&self) {} }",
        "pub struct Client; impl Client { pub fn baseurl(&self, x: u8) -> u8 { x } pub async fn op(&self, y: u8) {} }",
    );
    let all = reasons(&v);
    assert!(
        all.iter()
            .any(|r| r.starts_with("function Client::baseurl: parameter x added")),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|r| r.starts_with("operation op: parameter y added")),
        "{all:?}"
    );
    assert!(
        !all.iter().any(|r| r.contains("operation baseurl")),
        "{all:?}"
    );
}

/// Kills the guard `t != ty` → `true` / `false` and `!=` → `==` in `compare_fn`, and `delete !`
/// before `explained`: the retyped parameter is named with both types, the unchanged one is not
/// mentioned, and an explained change adds no generic "signature changed".
#[test]
fn a_retyped_parameter_is_named_and_nothing_else() {
    let v = verdict_of_rust(
        "pub struct Client; impl Client { pub async fn op(&self, a: u8, b: u8) {} }",
        "pub struct Client; impl Client { pub async fn op(&self, a: u16, b: u8) {} }",
    );
    let all = reasons(&v);
    assert_eq!(v.level, Level::Major, "{v}");
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].starts_with("operation op: parameter a retyped"),
        "{all:?}"
    );
    assert!(all[0].contains("u8") && all[0].contains("u16"), "{all:?}");
}

/// Kills `delete !` before `explained` in `compare_fn` from the other side: a change that no
/// parameter or return type explains (here `async` dropped) is still reported, as a changed
/// signature, and is major.
#[test]
fn an_unexplained_signature_change_is_still_major() {
    let v = verdict_of_rust(
        "pub struct Client; impl Client { pub async fn op(&self, a: u8) {} }",
        "pub struct Client; impl Client { pub fn op(&self, a: u8) {} }",
    );
    let all = reasons(&v);
    assert_eq!(v.level, Level::Major, "{v}");
    assert!(
        all.iter().any(|r| r.contains("signature changed")),
        "{all:?}"
    );
}

/// Kills the guard `nm.wire != om.wire` → `false` in `compare_type`: a field whose serde
/// attributes changed (its name on the wire) is reported.
#[test]
fn a_field_renamed_on_the_wire_is_reported() {
    let v = verdict_of_rust(
        "pub struct T { #[serde(rename = \"deviceName\")] pub name: Option<String> }",
        "pub struct T { #[serde(rename = \"displayName\")] pub name: Option<String> }",
    );
    let all = reasons(&v);
    assert!(
        all.iter()
            .any(|r| r.contains("T.name: serde attributes changed")),
        "{all:?}"
    );
}

/// Kills the visibility guards of `Surface::items` → `true` (struct, enum, module, use, type
/// alias, const) and → `false` (use, type alias, const): private items never count, public ones
/// always do.
#[test]
fn only_public_items_count() {
    let private_old = "struct S { pub a: u8 } enum E { A } mod m { pub struct X; } \
                       use std::fmt as f1; type T1 = u8; const C1: u8 = 1;";
    let private_new = "struct S { pub b: u8 } enum E { B } mod m { pub struct Y; } \
                       use std::io as f1; type T1 = u16; const C1: u16 = 1;";
    let v = verdict_of_rust(private_old, private_new);
    // One reason, the body-only one (also kills `strip` → `String::new()`, which would see no
    // change at all).
    assert_eq!(v.level, Level::Patch, "{v}");
    let only = reasons(&v);
    assert_eq!(only.len(), 1, "{v}");
    assert!(only[0].contains("no public item changed"), "{v}");

    let v = verdict_of_rust(
        "pub use std::fmt; pub type T = u8; pub const C: u8 = 1;",
        "pub use std::io; pub type T = u16; pub const C: u16 = 1;",
    );
    let all = reasons(&v).join("\n");
    for seen in ["std :: fmt", "std :: io", "type T", "const C"] {
        assert!(all.contains(seen), "{seen}: {all}");
    }
}
