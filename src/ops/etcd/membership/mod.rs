//! Changing who is in the cluster: member add/remove, starting a member as a new cluster, joining one, waiting until it serves.

pub mod error;
pub mod force_new_cluster;
pub mod join;
pub mod members;
pub mod ready;
