//! The pre-migration backups: taking them (with the free-space check), their sha256 manifests, and verifying them.

pub mod disk_space;
pub mod manifest;
pub mod take;
pub mod verify;
