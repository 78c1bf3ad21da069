//! The pre-migration backups: where they go, taking them (with the free-space check), their
//! sha256 manifests, verifying them, and copying one to another host.

pub mod disk_space;
pub mod location;
pub mod manifest;
pub mod stopped;
pub mod take;
pub mod transfer;
pub mod verify;
pub mod working_copy;
