//! The v2 store of a member, read from etcd's own files rather than through the v2 API:
//! the newest snapshot the WAL names, then every WAL entry after it, replayed as etcd 3.4
//! applies them. Unlike a recursive v2 listing (and `etcdctl migrate`, which exports
//! through one), this sees every key: hidden ones (a `_` segment), their values, indexes
//! and expiry. It asks etcd for nothing, so it reads a stopped member, a backup, or a
//! running member up to the last entry written, at no cost to etcd.

pub mod cache;
pub mod leaves;
pub mod proto;
pub mod replay;
pub mod snap_file;
pub mod source;
pub mod tree;
pub mod wal;

pub use cache::V2StoreCache;
pub use leaves::{is_hidden, Leaf};
pub use replay::ReplayStats;
pub use source::{read_member_dir, V2StoreError};

use serde::Serialize;

/// A member's v2 store: every key under the keys namespace (`/1`), in key order.
#[derive(Debug, Clone, Serialize)]
pub struct V2Store {
    /// Where it was read: `host:dir`.
    pub source: String,
    /// The snapshot file it started from (none for a log that starts at index 0).
    pub snapshot: Option<String>,
    /// Raft index of that snapshot.
    pub snapshot_index: u64,
    /// Raft index of the last entry replayed.
    pub last_index: u64,
    /// The store's own index (`etcdIndex` of the v2 API).
    pub store_index: u64,
    pub replay: ReplayStats,
    #[serde(skip)]
    pub leaves: Vec<Leaf>,
}

impl V2Store {
    /// Keys a recursive listing leaves out.
    pub fn hidden(&self) -> usize {
        self.leaves.iter().filter(|l| l.hidden).count()
    }

    /// Keys with an expiry (their own or a directory's above them).
    pub fn expiring(&self) -> usize {
        self.leaves.iter().filter(|l| l.expires.is_some()).count()
    }

    /// The key, if the store has it.
    pub fn leaf(&self, key: &str) -> Option<&Leaf> {
        self.leaves
            .binary_search_by(|l| l.key.as_bytes().cmp(key.as_bytes()))
            .ok()
            .map(|i| &self.leaves[i])
    }
}
