//! Rhai methods of `etcd`/`lease`: backup, backup verification, v2 snapshot check, migrate.

use rhai::plugin::*;

#[export_module]
pub mod etcd_data_api {}
