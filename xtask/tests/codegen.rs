//! One generator configuration: the xtask (codegen.rs through `xtask::codegen`) must generate
//! from spec/openapi.json exactly the code build.rs compiles. tests/generated_surface.rs in the
//! root crate asserts that build.rs's `$OUT_DIR/generated.rs` matches the committed snapshots;
//! this asserts that the xtask's output matches the same files, byte for byte.

mod common;

use common::*;

#[test]
fn xtask_generates_what_build_rs_generates() {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spec_dir().join("openapi.json")).unwrap())
            .unwrap();
    let source = xtask::surface::generate_source(&doc).unwrap();
    let snapshots = xtask::snapshots::dir_for(&spec_dir()).expect("tests/snapshots exists");
    for (name, expected) in xtask::snapshots::files(&source).unwrap() {
        let committed = std::fs::read_to_string(snapshots.join(name)).unwrap();
        assert!(
            committed == expected,
            "tests/snapshots/{name} differs from what the xtask generates from spec/openapi.json \
             (generator settings drifted, or the snapshot was not rewritten: run `cargo xtask spec apply`)"
        );
    }
}

#[test]
fn request_bodies_get_constructors_and_every_type_is_non_exhaustive() {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spec_dir().join("openapi.json")).unwrap())
            .unwrap();
    let source = xtask::surface::generate_source(&doc).unwrap();
    for f in [
        "pub fn new() -> Self",
        "pub fn with_user_principal_name(",
        "pub fn with_addressable_user_name(",
        "pub fn with_resource_account_name(",
    ] {
        assert!(source.contains(f), "{f} missing");
    }
    let structs = source.matches("    pub struct ").count();
    let non_exhaustive_structs = source.matches("#[non_exhaustive]\n    #[derive(").count();
    // ConversionError is progenitor's own (not a schema type) and stays as it is.
    assert_eq!(non_exhaustive_structs, structs - 1, "{source}");
}
