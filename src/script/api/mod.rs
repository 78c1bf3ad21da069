//! Rhai-facing objects: they convert between Rhai values and Rust types and call the
//! operations; the work itself lives in `ops` and `transport`. Every module a runbook can
//! call is registered here, in one list.

pub mod args;
pub mod error;
pub mod etcd;
pub mod host;
pub mod host_transfer;
pub mod inventory;
pub mod master;
pub mod options;
pub mod row;
pub mod service;
pub mod step;
pub mod summary;
pub mod utilities;
pub mod views;

use crate::script::context::RunContext;
use std::sync::Arc;

/// Every module of primitives, by the object it is called on (as the registry names it).
pub fn modules() -> Vec<(&'static str, rhai::Module)> {
    vec![
        ("host", rhai::exported_module!(host::host_api)),
        (
            "host",
            rhai::exported_module!(host_transfer::host_transfer_api),
        ),
        ("service", rhai::exported_module!(service::service_api)),
        (
            "inventory",
            rhai::exported_module!(inventory::inventory_api),
        ),
        ("master", rhai::exported_module!(master::master_api)),
        ("etcd", rhai::exported_module!(etcd::cluster::cluster_api)),
        (
            "etcd",
            rhai::exported_module!(etcd::membership::membership_api),
        ),
        ("etcd", rhai::exported_module!(etcd::host::services_api)),
        ("etcd", rhai::exported_module!(etcd::backup::backup_api)),
        ("etcd", rhai::exported_module!(etcd::migrate::migrate_api)),
        ("etcd", rhai::exported_module!(etcd::rollback::rollback_api)),
        ("etcd", rhai::exported_module!(etcd::embedded::embedded_api)),
        ("etcd", rhai::exported_module!(etcd::relocate::relocate_api)),
        ("etcd", rhai::exported_module!(etcd::certs::certs_api)),
        ("etcd", rhai::exported_module!(etcd::data::data_api)),
        (
            "etcd",
            rhai::exported_module!(etcd::maintenance::maintenance_api),
        ),
        ("etcd", rhai::exported_module!(etcd::etcdctl::etcdctl_api)),
        ("lease", rhai::exported_module!(etcd::lease::lease_api)),
    ]
}

/// Registers the types, the `step` function and every module of [`modules`].
pub fn register(engine: &mut rhai::Engine, ctx: Arc<RunContext>) {
    error::register(engine);
    row::register(engine);
    engine.register_type_with_name::<etcd::ScriptEtcd>("Etcd");
    engine.register_type_with_name::<etcd::ScriptLease>("Lease");
    step::register(engine, ctx.clone());
    let check = ctx.clone();
    engine.register_fn("is_check", move || check.changes.is_plan());
    summary::register(engine, ctx.clone());
    utilities::register(engine, ctx);
    for (_, module) in modules() {
        engine.register_global_module(module.into());
    }
}
