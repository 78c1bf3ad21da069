//! The v2 -> v3 migration itself: its guards and record, the v3 key count, the v2 snapshot check, the copy of the v2 store it migrates, `etcdctl migrate` and its garbage collection, the keys it leaves out, the verification, and dropping the v2 copies after it.

pub mod capture;
pub mod facts;
pub mod gc_room;
pub mod guards;
pub mod key_count;
pub mod migrated_store;
pub mod missing;
pub mod record;
pub mod run;
pub mod snapshot_check;
pub mod v2_drop;
pub mod verify;
