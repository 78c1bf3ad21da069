//! Rhai-facing objects, one file each: they convert between Rhai values and
//! Rust types and call the operations; the work itself lives in `ops` and `transport`.

pub mod error;
pub mod etcd;
pub mod etcd_data;
pub mod etcd_membership;
pub mod etcd_restore;
pub mod etcd_status;
pub mod host;
pub mod inventory;
pub mod lease;
pub mod master;
pub mod service;
pub mod step;
