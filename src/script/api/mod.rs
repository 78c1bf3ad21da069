//! Rhai-facing objects, one file each: they convert between Rhai values and
//! Rust types and call the operations; the work itself lives in `ops` and `transport`.

pub mod error;
pub mod host;
pub mod inventory;
pub mod service;
