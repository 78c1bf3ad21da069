//! Rhai methods of `etcd`/`lease`: force-new-cluster, member add/remove, join.

use rhai::plugin::*;

#[export_module]
pub mod etcd_membership_api {}
