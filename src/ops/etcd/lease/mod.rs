//! v2 TTLs as v3 leases: one lease per prefix (`lease.attach`), and each key its own expiry (`lease.restore_ttls`: the plan, then the restore).

pub mod attach;
pub mod plan;
pub mod restore;
