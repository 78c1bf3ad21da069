//! Shared helpers for the integration tests: the binary, real sshd, real etcd.
#![allow(dead_code)]

pub mod command;
pub mod etcd;
pub mod lab;
pub mod migration;
pub mod running;
pub mod sshd;
pub mod terminal;
