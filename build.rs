//! spec/openapi.json → progenitor → prettyplease → `$OUT_DIR/generated.rs`.
//!
//! The spec is the only input, so cargo reruns this step only when the spec changes.
//! Errors are printed as one readable line and the build fails without a backtrace.

use std::path::Path;
use std::process::ExitCode;

const SPEC: &str = "spec/openapi.json";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={SPEC}");
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

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Positional)
        .with_tag(progenitor::TagStyle::Merged)
        // Auth, request ids and retries live in our `ClientHooks` impl (src/hooks.rs).
        .with_hooks(progenitor::HooksMode::Expected)
        .with_inner_type(quote_path("crate::hooks::HookState")?)
        .with_patch(
            "ResourceAccountAssignment",
            progenitor::TypePatch::default()
                .with_derive("PartialEq")
                .with_derive("Eq"),
        );

    // progenitor panics on some inputs (e.g. `default` beside `204`): turn that into one line too.
    std::panic::set_hook(Box::new(|_| {}));
    let generated =
        std::panic::catch_unwind(|| progenitor::Generator::new(&settings).generate_tokens(&spec));
    let _ = std::panic::take_hook();
    let tokens = match generated {
        Ok(result) => {
            result.map_err(|e| format!("progenitor cannot generate a client from {SPEC}: {e}"))?
        }
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            return Err(format!(
                "progenitor panicked on {SPEC}: {}",
                why.lines().next().unwrap_or("")
            ));
        }
    };
    let file: syn::File = syn::parse2(tokens)
        .map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
    let source = prettyplease::unparse(&file);

    let out_dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set (run through cargo)")?;
    let out = Path::new(&out_dir).join("generated.rs");
    std::fs::write(&out, source).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

fn quote_path(path: &str) -> Result<proc_macro2::TokenStream, String> {
    path.parse()
        .map_err(|e| format!("bad type path {path}: {e:?}"))
}
