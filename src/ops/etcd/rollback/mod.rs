//! Going back to the pre-migration backups: restoring a member and its etcd.conf, comparing the live data with a backup, moving migration records aside.

pub mod compare;
pub mod conf_restore;
pub mod record_clear;
pub mod restore;
