//! Moving a member's data to another host: the verified backup copied there through runbook,
//! the first etcd.conf of the member it becomes, and the v3 fingerprints that show the copy
//! serves the same data.

pub mod fingerprint;
pub mod new_conf;
pub mod transfer;
