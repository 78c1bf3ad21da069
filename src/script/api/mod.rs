//! Rhai-facing objects, one file each.
