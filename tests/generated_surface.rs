//! Guards the generated client: any change to the spec, the adjustments or progenitor that
//! alters the generated Rust shows up here as a snapshot diff to review (`cargo insta review`).

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/generated.rs"));

#[test]
fn generated_source() {
    insta::assert_snapshot!("generated_source", GENERATED);
}

/// The public items and signatures only, so a reviewer sees the API change at a glance.
#[test]
fn generated_public_surface() {
    let surface = public_surface(GENERATED).expect("generated code parses");
    insta::assert_snapshot!("generated_public_surface", surface);
}

include!("support/public_surface.rs");
