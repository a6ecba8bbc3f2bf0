//! `cargo xtask`: regenerate and check the crate's OpenAPI spec from Microsoft's text.
//!
//! See `xtask/README.md` for the commands, the adjustments format and the exit codes.

pub mod adjust;
pub mod bench;
/// How spec/openapi.json becomes Rust: the crate root's codegen.rs, the file build.rs includes.
pub mod codegen {
    include!("../../codegen.rs");
}
pub mod doc_comments;
pub mod fetch;
pub mod fixture;
pub mod layout;
pub mod multi;
pub mod provenance;
pub mod replace;
pub mod scan;
pub mod semver;
pub mod slice;
pub mod snapshots;
pub mod spec;
pub mod surface;
pub mod yaml;

/// Microsoft's published beta OpenAPI description: what `spec update` reads without `--from`.
pub const UPSTREAM_BETA_URL: &str = "https://raw.githubusercontent.com/microsoftgraph/msgraph-metadata/master/openapi/beta/openapi.yaml";
/// Provenance of [`UPSTREAM_BETA_URL`]: the repository and the path in it.
pub const UPSTREAM_REPOSITORY: &str = "microsoftgraph/msgraph-metadata";
/// See [`UPSTREAM_REPOSITORY`].
pub const UPSTREAM_PATH: &str = "openapi/beta/openapi.yaml";

/// Exit code of `spec update` when the generated Rust surface changed (spec/ was rewritten).
pub const EXIT_SURFACE_CHANGED: u8 = 3;

/// Errors are one line: anything multi-line is joined.
pub fn one_line(s: &str) -> String {
    s.split('\n')
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join(" ")
}
