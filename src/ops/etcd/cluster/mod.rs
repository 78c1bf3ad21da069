//! Read-only views of the cluster: health, status, hashkv agreement, raft convergence, and their
//! tables; and whether a copy serves the same v3 data as its source.

pub mod converge;
pub mod hashkv;
pub mod health;
pub mod same_store;
pub mod silent;
pub mod status;
pub mod table;
