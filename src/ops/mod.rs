//! The real work, as plain async Rust that knows nothing of Rhai.

pub mod etcd;
pub mod master;
pub mod service;
