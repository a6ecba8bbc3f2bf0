//! What `spec/` holds and how its JSON is written: the names of the four files the xtask owns,
//! and the one layout of `openapi.json` and `provenance.json`. Both `spec` (which writes them)
//! and `provenance` (which names the slice) read it here.

use serde_json::Value;

/// The crate's changes to the slice (hand-written).
pub const ADJUSTMENTS: &str = "adjustments.yaml";
/// The operations cut from Microsoft's text, verbatim.
pub const SLICE: &str = "upstream-slice.yaml";
/// Slice plus adjustments: what build.rs reads.
pub const OPENAPI: &str = "openapi.json";
/// Where the upstream text(s) came from.
pub const PROVENANCE: &str = "provenance.json";

/// `v` as the spec files hold it: pretty-printed, with a final newline.
pub fn to_json(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
    s.push('\n');
    s
}
