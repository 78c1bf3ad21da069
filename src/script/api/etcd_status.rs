//! Rhai methods of `etcd`/`lease`: health, status, convergence, key counts, hashkv, member list.

use rhai::plugin::*;

#[export_module]
pub mod etcd_status_api {}
