// The progenitor-generated client and types (documented where `lib.rs` declares the module). A
// file of its own, so that every layer can name it without importing the crate root.
include!(concat!(env!("OUT_DIR"), "/generated.rs"));
