//! spec/openapi.json → progenitor (settings in codegen.rs) → prettyplease → `$OUT_DIR/generated.rs`.
//!
//! The spec and codegen.rs are the only inputs, so cargo reruns this step only when they change.
//! Errors are printed as one readable line and the build fails without a backtrace.

use std::path::Path;
use std::process::ExitCode;

// The generator settings and the request-body constructors, shared with the xtask.
include!("codegen.rs");

const SPEC: &str = "spec/openapi.json";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=codegen.rs");
    println!("cargo:rerun-if-changed=build.rs");
    match generate() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // `cargo:warning` keeps the message visible even when cargo hides build output.
            println!("cargo:warning={message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn generate() -> Result<(), String> {
    let text = std::fs::read_to_string(SPEC).map_err(|e| format!("cannot read {SPEC}: {e}"))?;
    let spec: openapiv3::OpenAPI = serde_json::from_str(&text)
        .map_err(|e| format!("{SPEC} is not a valid OpenAPI 3.0 document: {e}"))?;
    let file = generate_client(&spec).map_err(|e| format!("{SPEC}: {e}"))?;
    let source = prettyplease::unparse(&file);

    let out_dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set (run through cargo)")?;
    let out = Path::new(&out_dir).join("generated.rs");
    std::fs::write(&out, source).map_err(|e| format!("cannot write {}: {e}", out.display()))
}
