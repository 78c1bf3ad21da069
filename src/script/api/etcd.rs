//! The `etcd` and `lease` globals. Their methods live in one file per concern
//! (`etcd_status`, `etcd_data`, `etcd_membership`, `lease`), each a Rhai module
//! of functions taking these types.

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

/// Registers the two types and every module of methods on them.
pub fn register(engine: &mut rhai::Engine) {
    engine.register_type_with_name::<ScriptEtcd>("Etcd");
    engine.register_type_with_name::<ScriptLease>("Lease");
    engine
        .register_global_module(rhai::exported_module!(super::etcd_status::etcd_status_api).into());
    engine.register_global_module(rhai::exported_module!(super::etcd_data::etcd_data_api).into());
    engine.register_global_module(
        rhai::exported_module!(super::etcd_membership::etcd_membership_api).into(),
    );
    engine.register_global_module(rhai::exported_module!(super::lease::lease_api).into());
    engine.register_global_module(
        rhai::exported_module!(super::etcd_restore::etcd_restore_api).into(),
    );
}
