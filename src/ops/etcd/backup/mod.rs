//! The pre-migration backups: where they go, taking them (with the free-space check), their
//! sha256 manifests, and verifying them.

pub mod disk_space;
pub mod location;
pub mod manifest;
pub mod stopped;
pub mod take;
pub mod verify;
pub mod working_copy;
