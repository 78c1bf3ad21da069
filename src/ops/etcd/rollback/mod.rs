//! Going back to the pre-migration backups: restoring a member, comparing the live data with a backup, moving migration records aside.

pub mod compare;
pub mod record_clear;
pub mod restore;
