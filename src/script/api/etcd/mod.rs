//! The `etcd` and `lease` globals, and their methods in the same groups as `ops::etcd`:
//! one Rhai module of functions on these types per concern.

pub mod backup;
pub mod certs;
pub mod cluster;
pub mod data;
pub mod embedded;
pub mod etcdctl;
pub mod host;
pub mod lease;
pub mod maintenance;
pub mod membership;
pub mod migrate;
pub mod relocate;
pub mod rollback;

use crate::script::context::RunContext;
use std::sync::Arc;

/// The `etcd` global: the inventory's etcd cluster.
#[derive(Clone)]
pub struct ScriptEtcd {
    pub ctx: Arc<RunContext>,
}

/// The `lease` global: TTLs as v3 leases.
#[derive(Clone)]
pub struct ScriptLease {
    pub ctx: Arc<RunContext>,
}
