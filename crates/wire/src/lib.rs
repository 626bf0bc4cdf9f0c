//! Thrift types, clients and processors generated from our trimmed, wire-compatible Doris IDL
//! in `thrift/` by `scripts/gen_thrift.sh`. Do not edit: change the IDL and rerun the script
//! (CI runs `scripts/gen_thrift.sh --check`). Only `redacted_debug.rs` and `secret.rs` are
//! hand-written.

// The generated code is not hand-edited, so its lints cannot be fixed here (today it trips
// clippy's unnecessary_unwrap and derivable_impls; newer clippy releases add more).
#[allow(clippy::all, unused_imports, unused_extern_crates)]
pub mod backend_service;
#[allow(clippy::all, unused_imports, unused_extern_crates)]
pub mod frontend_service;
mod redacted_debug;
pub mod secret;
#[allow(clippy::all, unused_imports, unused_extern_crates)]
pub mod status;
#[allow(clippy::all, unused_imports, unused_extern_crates)]
pub mod types;

pub use secret::Secret;
