//! The crate's snapshots of the generated code (tests/snapshots/generated_surface__*.snap):
//! `spec update` and `spec apply` rewrite them with the new spec's generated code, so the pull
//! request shows the Rust change for review and the snapshot tests pass on the regenerated crate.

use std::path::{Path, PathBuf};

mod view {
    include!("../../tests/support/public_surface.rs");
}

/// What tests/generated_surface.rs asserts, as insta writes it (header, then the contents).
pub fn files(generated_source: &str) -> Result<Vec<(&'static str, String)>, String> {
    let snap = |expression: &str, body: &str| {
        let mut s = format!(
            "---\nsource: tests/generated_surface.rs\nexpression: {expression}\n---\n{body}"
        );
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s
    };
    Ok(vec![
        (
            "generated_surface__generated_source.snap",
            snap("GENERATED", generated_source),
        ),
        (
            "generated_surface__generated_public_surface.snap",
            snap("surface", &view::public_surface(generated_source)?),
        ),
    ])
}

/// The snapshot folder of the crate whose spec/ this is, when it has one (scratch spec dirs of
/// tests have none).
pub fn dir_for(spec_dir: &Path) -> Option<PathBuf> {
    let dir = spec_dir.parent()?.join("tests").join("snapshots");
    dir.is_dir().then_some(dir)
}

/// The snapshots that differ from the new generated code, as targets for
/// [`crate::replace::all_or_nothing`] (written with spec/, in one change), with their paths
/// relative to the crate root. A snapshot that cannot be read (absent, or not a file) differs.
pub fn pending(
    spec_dir: &Path,
    generated_source: &str,
) -> Result<Vec<(crate::replace::Target, String)>, String> {
    let Some(dir) = dir_for(spec_dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, text) in files(generated_source)? {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        out.push((
            crate::replace::Target { path, text },
            format!("tests/snapshots/{name}"),
        ));
    }
    Ok(out)
}
