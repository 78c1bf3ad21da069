//! Rhai methods of `etcd`/`lease`: lease.attach and etcd.verify.

use rhai::plugin::*;

#[export_module]
pub mod lease_api {}
