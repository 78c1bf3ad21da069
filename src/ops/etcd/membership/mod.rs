//! Who is in the cluster and changing it: identifying the members, member add/remove/update, starting a member as a new cluster, joining one, waiting until it serves.

pub mod error;
pub mod force_new_cluster;
pub mod identity;
pub mod join;
pub mod members;
pub mod ready;
