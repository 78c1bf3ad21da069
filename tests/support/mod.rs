//! Shared helpers for the integration tests: the binary, real sshd, real etcd.

pub mod ansible;
pub mod command;
pub mod etcd;
pub mod files;
pub mod lab;
pub mod link_fault;
pub mod migration;
pub mod process;
pub mod running;
pub mod sshd;
pub mod terminal;
pub mod user;
