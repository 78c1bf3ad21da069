//! A `member/snap/<term>-<index>.snap` file: a CRC-32C over raft's snapshot, whose data is
//! the v2 store as JSON (`{"Root": ..., "CurrentIndex": ...}`), and which etcd 3.4 picks:
//! the newest file that decodes and that the WAL names (`LoadNewestAvailable`).

use super::proto::{RaftSnapshot, SnapFile, WalSnapshot};
use super::tree::{Node, Tree};
use prost::Message;
use serde::Deserialize;

/// Why a snapshot file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapError {
    #[error("{name}: {reason}")]
    Corrupt { name: String, reason: String },
    #[error("{name}: the v2 store in it cannot be read: {reason}")]
    Store { name: String, reason: String },
}

/// A decoded snapshot: where it sits in the raft log and the store JSON.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub name: String,
    pub index: u64,
    pub term: u64,
    pub voters: Vec<u64>,
    /// The store as JSON.
    pub data: bytes::Bytes,
}

/// `<term>-<index>.snap` -> (term, index).
pub fn parse_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".snap")?;
    let (term, index) = stem.split_once('-')?;
    if term.len() != 16 || index.len() != 16 {
        return None;
    }
    Some((
        u64::from_str_radix(term, 16).ok()?,
        u64::from_str_radix(index, 16).ok()?,
    ))
}

/// Decodes a snapshot file, checking its CRC as etcd's `Read` does. The store's JSON is a
/// slice of `bytes`, not a copy.
pub fn decode(name: &str, bytes: bytes::Bytes) -> Result<Snapshot, SnapError> {
    let corrupt = |reason: String| SnapError::Corrupt {
        name: name.to_string(),
        reason,
    };
    let file = SnapFile::decode(bytes).map_err(|e| corrupt(format!("undecodable: {e}")))?;
    if file.data.is_empty() || file.crc == 0 {
        return Err(corrupt("empty snapshot".into()));
    }
    if crc32c::crc32c(&file.data) != file.crc {
        return Err(corrupt("CRC mismatch".into()));
    }
    let snapshot = RaftSnapshot::decode(file.data)
        .map_err(|e| corrupt(format!("undecodable raft snapshot: {e}")))?;
    let metadata = snapshot.metadata.unwrap_or_default();
    Ok(Snapshot {
        name: name.to_string(),
        index: metadata.index,
        term: metadata.term,
        voters: metadata.conf_state.map(|c| c.voters).unwrap_or_default(),
        data: snapshot.data,
    })
}

/// The names worth trying, newest first (etcd sorts names in reverse).
pub fn newest_first(names: &[String]) -> Vec<String> {
    let mut snaps: Vec<String> = names
        .iter()
        .filter(|n| parse_name(n).is_some())
        .cloned()
        .collect();
    snaps.sort_by(|a, b| b.cmp(a));
    snaps
}

/// Whether the WAL names this snapshot (same index and term).
pub fn named_by(snapshot: &Snapshot, wal: &[WalSnapshot]) -> bool {
    wal.iter()
        .any(|w| w.index == snapshot.index && w.term == snapshot.term)
}

#[derive(Deserialize)]
struct StoreJson {
    #[serde(rename = "Root")]
    root: Node,
    #[serde(rename = "CurrentIndex")]
    current_index: u64,
}

/// The store the snapshot holds.
pub fn store(snapshot: &Snapshot) -> Result<Tree, SnapError> {
    let parsed: StoreJson =
        serde_json::from_slice(&snapshot.data).map_err(|e| SnapError::Store {
            name: snapshot.name.clone(),
            reason: e.to_string(),
        })?;
    Ok(Tree::recovered(parsed.root, parsed.current_index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::etcd::v2store::proto::{ConfState, SnapshotMetadata};

    pub(crate) fn encode(index: u64, term: u64, json: &str) -> Vec<u8> {
        let data = RaftSnapshot {
            data: json.as_bytes().to_vec().into(),
            metadata: Some(SnapshotMetadata {
                conf_state: Some(ConfState {
                    voters: vec![1, 2],
                    learners: vec![],
                }),
                index,
                term,
            }),
        }
        .encode_to_vec();
        SnapFile {
            crc: crc32c::crc32c(&data),
            data: data.into(),
        }
        .encode_to_vec()
    }

    #[test]
    fn decodes_and_checks_the_crc() {
        let json = r#"{"Root":{"Children":{"1":{"Children":{"a":{"CreatedIndex":3,"ModifiedIndex":3,"ExpireTime":"0001-01-01T00:00:00Z","Value":"x","Children":null}}}}},"CurrentIndex":3}"#;
        let bytes = encode(12, 2, json);
        let snapshot = decode(
            "0000000000000002-000000000000000c.snap",
            bytes.clone().into(),
        )
        .unwrap();
        assert_eq!(
            (snapshot.index, snapshot.term, snapshot.voters.clone()),
            (12, 2, vec![1, 2])
        );
        let tree = store(&snapshot).unwrap();
        assert_eq!(tree.index, 3);
        assert_eq!(tree.get("/1/a").unwrap().value, b"x");
        let mut broken = bytes.clone();
        let at = broken.len() - 5;
        broken[at] ^= 1;
        assert!(matches!(
            decode("x.snap", broken.into()),
            Err(SnapError::Corrupt { .. })
        ));
        assert_eq!(
            parse_name("0000000000000002-000000000000000c.snap"),
            Some((2, 12))
        );
        assert_eq!(
            newest_first(&[
                "0000000000000002-0000000000000006.snap".into(),
                "db".into(),
                "0000000000000002-000000000000000c.snap".into()
            ]),
            [
                "0000000000000002-000000000000000c.snap",
                "0000000000000002-0000000000000006.snap"
            ]
        );
    }
}
