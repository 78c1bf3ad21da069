//! The protobuf messages of etcd 3.4's data dir that the v2 store reader needs: the snapshot
//! file (`snappb`), raft's snapshot, entry, hard state and configuration change (`raftpb`), the
//! WAL record (`walpb`) and the requests carried by entries (`etcdserverpb`). Field numbers are
//! etcd's; fields the reader does not use are left out (prost skips them).

/// `snappb.snapshot`: what a `member/snap/*.snap` file holds.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SnapFile {
    #[prost(uint32, tag = "1")]
    pub crc: u32,
    // `Bytes`, so that decoding a file read into `Bytes` slices it instead of copying
    // (a large store's snapshot is hundreds of MiB).
    #[prost(bytes = "bytes", tag = "2")]
    pub data: bytes::Bytes,
}

/// `raftpb.Snapshot`: the v2 store as JSON, and where in the raft log it was taken.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RaftSnapshot {
    #[prost(bytes = "bytes", tag = "1")]
    pub data: bytes::Bytes,
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<SnapshotMetadata>,
}

/// `raftpb.SnapshotMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SnapshotMetadata {
    #[prost(message, optional, tag = "1")]
    pub conf_state: Option<ConfState>,
    #[prost(uint64, tag = "2")]
    pub index: u64,
    #[prost(uint64, tag = "3")]
    pub term: u64,
}

/// `raftpb.ConfState`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfState {
    #[prost(uint64, repeated, packed = "false", tag = "1")]
    pub voters: Vec<u64>,
    #[prost(uint64, repeated, packed = "false", tag = "2")]
    pub learners: Vec<u64>,
}

/// `walpb.Record`: one frame of a WAL segment.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WalRecord {
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(uint32, tag = "2")]
    pub crc: u32,
    #[prost(bytes = "vec", tag = "3")]
    pub data: Vec<u8>,
}

/// `walpb.Snapshot`: a WAL record naming a snapshot that was saved.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WalSnapshot {
    #[prost(uint64, tag = "1")]
    pub index: u64,
    #[prost(uint64, tag = "2")]
    pub term: u64,
}

/// `raftpb.Entry`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Entry {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(uint64, tag = "2")]
    pub term: u64,
    #[prost(uint64, tag = "3")]
    pub index: u64,
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
}

/// `raftpb.EntryType` values.
pub const ENTRY_NORMAL: i32 = 0;
pub const ENTRY_CONF_CHANGE: i32 = 1;

/// `raftpb.HardState`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HardState {
    #[prost(uint64, tag = "1")]
    pub term: u64,
    #[prost(uint64, tag = "2")]
    pub vote: u64,
    #[prost(uint64, tag = "3")]
    pub commit: u64,
}

/// `raftpb.ConfChange`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfChange {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int32, tag = "2")]
    pub r#type: i32,
    #[prost(uint64, tag = "3")]
    pub node_id: u64,
    #[prost(bytes = "vec", tag = "4")]
    pub context: Vec<u8>,
}

/// `raftpb.ConfChangeType` values.
pub const CONF_ADD_NODE: i32 = 0;
pub const CONF_REMOVE_NODE: i32 = 1;
pub const CONF_UPDATE_NODE: i32 = 2;
pub const CONF_ADD_LEARNER_NODE: i32 = 3;

/// `etcdserverpb.Request`: a v2 request as the server proposes it. Strings are Go strings,
/// any bytes, so they are read as bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct V2Request {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(bytes = "vec", tag = "2")]
    pub method: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub path: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    pub val: Vec<u8>,
    #[prost(bool, tag = "5")]
    pub dir: bool,
    #[prost(bytes = "vec", tag = "6")]
    pub prev_value: Vec<u8>,
    #[prost(uint64, tag = "7")]
    pub prev_index: u64,
    #[prost(bool, optional, tag = "8")]
    pub prev_exist: Option<bool>,
    #[prost(int64, tag = "9")]
    pub expiration: i64,
    #[prost(bool, tag = "10")]
    pub wait: bool,
    #[prost(uint64, tag = "11")]
    pub since: u64,
    #[prost(bool, tag = "12")]
    pub recursive: bool,
    #[prost(bool, tag = "13")]
    pub sorted: bool,
    #[prost(bool, tag = "14")]
    pub quorum: bool,
    #[prost(int64, tag = "15")]
    pub time: i64,
    #[prost(bool, tag = "16")]
    pub stream: bool,
    #[prost(bool, optional, tag = "17")]
    pub refresh: Option<bool>,
}

/// `etcdserverpb.InternalRaftRequest`, as far as telling a v2 request from a v3 one goes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InternalRaftRequest {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(message, optional, tag = "2")]
    pub v2: Option<V2Request>,
}

/// `etcdserverpb.Metadata`: the first record of a WAL.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WalMetadata {
    #[prost(uint64, tag = "1")]
    pub node_id: u64,
    #[prost(uint64, tag = "2")]
    pub cluster_id: u64,
}
