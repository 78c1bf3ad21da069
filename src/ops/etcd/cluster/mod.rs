//! Read-only views of the cluster: health, status, hashkv agreement, raft convergence, and their tables.

pub mod converge;
pub mod hashkv;
pub mod health;
pub mod silent;
pub mod status;
pub mod table;
pub mod wait_healthy;
