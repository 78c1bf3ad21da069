//! runbook: an interpreter for operational runbooks written in Rhai, with etcd primitives.
//!
//! Data flows one way: CLI -> script engine -> primitives (Rhai adapters) ->
//! operations (plain async Rust) -> transports and etcd clients.

pub mod cli;
pub mod commands;
pub mod debug;
pub mod duration;
pub mod exit;
pub mod interrupt;
pub mod inventory;
pub mod journal;
pub mod lab;
pub mod ops;
pub mod repl;
pub mod report;
pub mod script;
pub mod state_dir;
pub mod status_line;
pub mod transport;
