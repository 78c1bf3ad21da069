//! Keeping a cluster in shape: alarms (list, disarm), defragmenting a member, compacting the
//! history, and v3 snapshots written on a member's host and read back from there.

pub mod alarms;
pub mod compact;
pub mod defrag;
pub mod error;
pub mod snapshot;
