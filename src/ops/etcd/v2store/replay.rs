//! Applying WAL entries to the store as an etcd 3.4 server applies them: v2 requests (raw
//! `etcdserverpb.Request`, or wrapped in an `InternalRaftRequest`) through the v2 applier,
//! with the cluster's own writes under `/0` (member attributes, the cluster version) and the
//! configuration changes validated against the members the store holds, each advancing the
//! store's index as it does in etcd. v3 requests leave the v2 store alone.

use super::proto::{
    ConfChange, Entry, InternalRaftRequest, V2Request, CONF_ADD_LEARNER_NODE, CONF_ADD_NODE,
    CONF_REMOVE_NODE, CONF_UPDATE_NODE, ENTRY_CONF_CHANGE, ENTRY_NORMAL,
};
use super::tree::Tree;
use prost::Message;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most learners etcd 3.4 allows.
const MAX_LEARNERS: usize = 1;

/// Why an entry could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("entry {index}: {reason}")]
    Entry { index: u64, reason: String },
}

/// What the replay saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplayStats {
    pub entries: u64,
    pub v2_requests: u64,
    pub conf_changes: u64,
    pub v3_requests: u64,
    /// SYNC requests (expiring keys) among the v2 requests.
    pub syncs: u64,
    /// Keys and directories those SYNCs expired.
    pub expired: u64,
}

/// A list etcd wrote from Go, where an empty one is `null` (a promote's member has no
/// peer URLs: `"peerURLs":null`).
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// A member as the store records it (`/0/members/<id>/raftAttributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
struct RaftAttributes {
    #[serde(rename = "peerURLs", default, deserialize_with = "null_as_empty")]
    peer_urls: Vec<String>,
    #[serde(
        rename = "isLearner",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    is_learner: bool,
}

/// The context of an add (etcd 3.4's `ConfigChangeContext`: the member, flattened).
#[derive(Debug, Deserialize)]
struct AddContext {
    #[serde(rename = "peerURLs", default, deserialize_with = "null_as_empty")]
    peer_urls: Vec<String>,
    #[serde(rename = "isLearner", default)]
    is_learner: bool,
    #[serde(rename = "isPromote", default)]
    is_promote: bool,
}

/// Applies `entries` in order.
pub fn replay(tree: &mut Tree, entries: &[Entry]) -> Result<ReplayStats, ReplayError> {
    let mut stats = ReplayStats::default();
    for entry in entries {
        stats.entries += 1;
        let fail = |reason: String| ReplayError::Entry {
            index: entry.index,
            reason,
        };
        match entry.r#type {
            ENTRY_CONF_CHANGE => {
                let change = ConfChange::decode(entry.data.as_slice())
                    .map_err(|e| fail(format!("undecodable configuration change: {e}")))?;
                apply_conf_change(tree, &change).map_err(fail)?;
                stats.conf_changes += 1;
            }
            ENTRY_NORMAL => {
                if entry.data.is_empty() {
                    continue; // a leader's empty entry
                }
                // etcd's `MaybeUnmarshal`: an InternalRaftRequest if it decodes as one, else
                // the raw v2 request of older proposals (which do not decode as one).
                let request = match InternalRaftRequest::decode(entry.data.as_slice()) {
                    Ok(wrapped) => match wrapped.v2 {
                        Some(v2) => v2,
                        None => {
                            stats.v3_requests += 1;
                            continue;
                        }
                    },
                    Err(_) => V2Request::decode(entry.data.as_slice())
                        .map_err(|e| fail(format!("neither a v2 nor a v3 request: {e}")))?,
                };
                stats.v2_requests += 1;
                if request.method == b"SYNC" {
                    stats.syncs += 1;
                    stats.expired += tree.delete_expired(request.time);
                } else {
                    apply_v2(tree, &request);
                }
            }
            other => {
                return Err(fail(format!(
                    "entry type {other} is not one etcd 3.4 writes"
                )))
            }
        }
    }
    Ok(stats)
}

/// etcd's `applierV2store`: what a failed operation returns is dropped, as in etcd.
fn apply_v2(tree: &mut Tree, r: &V2Request) {
    let path = String::from_utf8_lossy(&r.path).into_owned();
    let refresh = r.refresh == Some(true);
    let expire = (r.expiration != 0).then_some(r.expiration);
    let compare = r.prev_index > 0 || !r.prev_value.is_empty();
    let _ = match r.method.as_slice() {
        b"POST" => tree.create(&path, r.dir, r.val.clone(), true, expire),
        b"PUT" => match r.prev_exist {
            Some(false) => tree.create(&path, r.dir, r.val.clone(), false, expire),
            Some(true) | None if compare => tree.compare_and_swap(
                &path,
                &r.prev_value,
                r.prev_index,
                r.val.clone(),
                refresh,
                expire,
            ),
            Some(true) => tree.update(&path, r.val.clone(), refresh, expire),
            None => put_plain(tree, &path, r, refresh, expire),
        },
        b"DELETE" if compare => tree.compare_and_delete(&path, &r.prev_value, r.prev_index),
        b"DELETE" => tree.delete(&path, r.dir, r.recursive),
        // QGET reads; anything else is refused by etcd (ErrUnknownMethod) and changes nothing.
        _ => Ok(()),
    };
}

/// A plain PUT: a member publishing its attributes and the cluster version go through the
/// cluster (which writes them only for a known member), anything else is a `Set`.
fn put_plain(
    tree: &mut Tree,
    path: &str,
    r: &V2Request,
    refresh: bool,
    expire: Option<i64>,
) -> Result<(), super::tree::OpError> {
    if let Some(id) = member_attributes_id(path) {
        let key = format!("/0/members/{id:x}");
        if tree.get(&key).is_ok() {
            return tree.set(
                &format!("{key}/attributes"),
                false,
                r.val.clone(),
                false,
                None,
            );
        }
        return Ok(());
    }
    if path == "/0/version" {
        return tree.set(path, false, r.val.clone(), false, None);
    }
    tree.set(path, r.dir, r.val.clone(), refresh, expire)
}

/// `^/0/members/[[:xdigit:]]{1,16}/attributes$` -> the member id.
fn member_attributes_id(path: &str) -> Option<u64> {
    let id = path
        .strip_prefix("/0/members/")?
        .strip_suffix("/attributes")?;
    if id.is_empty() || id.len() > 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(id, 16).ok()
}

/// The members and removed members the store holds (etcd's `membersFromStore`).
fn membership(tree: &Tree) -> (BTreeMap<u64, RaftAttributes>, Vec<u64>) {
    let mut members = BTreeMap::new();
    if let Ok(dir) = tree.get("/0/members") {
        for (name, node) in dir.children.iter().flatten() {
            let Ok(id) = u64::from_str_radix(name, 16) else {
                continue;
            };
            let attributes = node
                .children
                .as_ref()
                .and_then(|c| c.get("raftAttributes"))
                .and_then(|n| serde_json::from_slice(&n.value).ok())
                .unwrap_or_default();
            members.insert(id, attributes);
        }
    }
    let removed = tree
        .get("/0/removed_members")
        .ok()
        .and_then(|d| d.children.as_ref())
        .map(|c| {
            c.keys()
                .filter_map(|k| u64::from_str_radix(k, 16).ok())
                .collect()
        })
        .unwrap_or_default();
    (members, removed)
}

fn raft_attributes_json(attributes: &RaftAttributes) -> Vec<u8> {
    serde_json::to_vec(attributes).unwrap_or_default()
}

/// `ValidateConfigurationChange`, then the cluster's store writes for a valid change; an
/// invalid one is applied by raft as a no-op and writes nothing.
fn apply_conf_change(tree: &mut Tree, change: &ConfChange) -> Result<(), String> {
    let (members, removed) = membership(tree);
    let id = change.node_id;
    if removed.contains(&id) {
        return Ok(());
    }
    let key = format!("/0/members/{id:x}");
    let peer_urls_taken = |urls: &[String], except: Option<u64>| {
        members
            .iter()
            .filter(|(member, _)| Some(**member) != except)
            .any(|(_, m)| m.peer_urls.iter().any(|u| urls.contains(u)))
    };
    match change.r#type {
        CONF_ADD_NODE | CONF_ADD_LEARNER_NODE => {
            let context: AddContext = serde_json::from_slice(&change.context)
                .map_err(|e| format!("undecodable member in a configuration change: {e}"))?;
            if context.is_promote {
                match members.get(&id) {
                    Some(member) if member.is_learner => {
                        let promoted = RaftAttributes {
                            peer_urls: member.peer_urls.clone(),
                            is_learner: false,
                        };
                        let _ = tree.update(
                            &format!("{key}/raftAttributes"),
                            raft_attributes_json(&promoted),
                            false,
                            None,
                        );
                    }
                    _ => {}
                }
                return Ok(());
            }
            let learners = members.values().filter(|m| m.is_learner).count();
            if members.contains_key(&id)
                || peer_urls_taken(&context.peer_urls, None)
                || (context.is_learner && learners + 1 > MAX_LEARNERS)
            {
                return Ok(());
            }
            let attributes = RaftAttributes {
                peer_urls: context.peer_urls,
                is_learner: context.is_learner,
            };
            let _ = tree.create(
                &format!("{key}/raftAttributes"),
                false,
                raft_attributes_json(&attributes),
                false,
                None,
            );
        }
        CONF_REMOVE_NODE => {
            if !members.contains_key(&id) {
                return Ok(());
            }
            let _ = tree.delete(&key, true, true);
            let _ = tree.create(
                &format!("/0/removed_members/{id:x}"),
                false,
                Vec::new(),
                false,
                None,
            );
        }
        CONF_UPDATE_NODE => {
            if !members.contains_key(&id) {
                return Ok(());
            }
            // etcd stores the attributes the change carries, learner flag included.
            let update: RaftAttributes = serde_json::from_slice(&change.context)
                .map_err(|e| format!("undecodable member in a configuration change: {e}"))?;
            if peer_urls_taken(&update.peer_urls, Some(id)) {
                return Ok(());
            }
            let _ = tree.update(
                &format!("{key}/raftAttributes"),
                raft_attributes_json(&update),
                false,
                None,
            );
        }
        other => return Err(format!("configuration change type {other} is unknown")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promote_context_as_etcd_writes_it_reads() {
        // etcd 3.4's PromoteMember: a Member with only its ID, marshalled from Go.
        let context: AddContext = serde_json::from_str(
            r#"{"id":2844683594553811454,"peerURLs":null,"name":"","clientURLs":null,"isPromote":true}"#,
        )
        .unwrap();
        assert!(context.is_promote && context.peer_urls.is_empty());
        let update: RaftAttributes = serde_json::from_str(r#"{"peerURLs":null}"#).unwrap();
        assert!(update.peer_urls.is_empty());
    }

    fn v2(method: &str, path: &str, val: &str) -> V2Request {
        V2Request {
            method: method.as_bytes().to_vec(),
            path: path.as_bytes().to_vec(),
            val: val.as_bytes().to_vec(),
            ..V2Request::default()
        }
    }

    fn entry(index: u64, data: Vec<u8>) -> Entry {
        Entry {
            r#type: ENTRY_NORMAL,
            term: 1,
            index,
            data,
        }
    }

    fn conf(index: u64, kind: i32, id: u64, context: &str) -> Entry {
        Entry {
            r#type: ENTRY_CONF_CHANGE,
            term: 1,
            index,
            data: ConfChange {
                id: 0,
                r#type: kind,
                node_id: id,
                context: context.as_bytes().to_vec(),
            }
            .encode_to_vec(),
        }
    }

    #[test]
    fn raw_and_wrapped_requests_and_v3_entries() {
        let mut tree = Tree::new();
        let mut cas = v2("PUT", "/1/a", "2");
        cas.prev_index = 1;
        let wrapped = InternalRaftRequest {
            id: 5,
            v2: Some(v2("PUT", "/1/b", "w")),
        }
        .encode_to_vec();
        // A v3 put: InternalRaftRequest field 4 (PutRequest), which this reader skips.
        let v3 = vec![0x08, 0x07, 0x22, 0x04, 0x0a, 0x02, b'k', b'v'];
        let entries = vec![
            entry(1, v2("PUT", "/1/a", "1").encode_to_vec()),
            entry(2, cas.encode_to_vec()),
            entry(3, wrapped),
            entry(4, v3),
            entry(5, Vec::new()),
            entry(6, v2("QGET", "/1/a", "").encode_to_vec()),
        ];
        let stats = replay(&mut tree, &entries).unwrap();
        assert_eq!((stats.v2_requests, stats.v3_requests), (4, 1));
        let a = tree.get("/1/a").unwrap();
        assert_eq!(
            (a.value.as_slice(), a.created, a.modified),
            (b"2".as_slice(), 1, 2)
        );
        assert_eq!(tree.get("/1/b").unwrap().created, 3);
        assert_eq!(tree.index, 3);
    }

    #[test]
    fn membership_writes_advance_the_index_only_when_etcd_makes_them() {
        let mut tree = Tree::new();
        let peers = r#"{"id":16,"peerURLs":["https://10.0.0.1:2380"],"name":"","isPromote":false}"#;
        let same_peer = r#"{"id":17,"peerURLs":["https://10.0.0.1:2380"]}"#;
        let entries = vec![
            conf(1, CONF_ADD_NODE, 0x10, peers),
            // The same peer URL for another id: refused, no write.
            conf(2, CONF_ADD_NODE, 0x11, same_peer),
            entry(
                3,
                v2("PUT", "/0/members/10/attributes", "{}").encode_to_vec(),
            ),
            // Attributes of an unknown member: no write.
            entry(
                4,
                v2("PUT", "/0/members/99/attributes", "{}").encode_to_vec(),
            ),
            entry(5, v2("PUT", "/0/version", "3.4.0").encode_to_vec()),
            conf(
                6,
                CONF_UPDATE_NODE,
                0x10,
                r#"{"id":16,"peerURLs":["https://10.0.0.9:2380"]}"#,
            ),
            conf(7, CONF_REMOVE_NODE, 0x10, ""),
            conf(8, CONF_REMOVE_NODE, 0x10, ""),
            entry(9, v2("PUT", "/1/k", "v").encode_to_vec()),
        ];
        replay(&mut tree, &entries).unwrap();
        // add 1, attributes 2, version 3, update 4, remove 5 + removed_members 6, key 7.
        assert_eq!(tree.get("/1/k").unwrap().created, 7);
        assert!(tree.get("/0/members/10").is_err());
        assert!(tree.get("/0/removed_members/10").is_ok());
    }

    #[test]
    fn sync_expires_and_counts() {
        let mut tree = Tree::new();
        let t = super::super::tree::MIN_EXPIRE_NS + 1_000;
        let mut ttl = v2("PUT", "/1/t", "x");
        ttl.expiration = t;
        let mut sync = v2("SYNC", "", "");
        sync.time = t;
        let entries = vec![
            entry(1, ttl.encode_to_vec()),
            entry(2, sync.encode_to_vec()),
        ];
        let stats = replay(&mut tree, &entries).unwrap();
        assert_eq!((stats.syncs, stats.expired), (1, 1));
        assert!(tree.get("/1/t").is_err());
        assert_eq!(tree.index, 2);
    }
}
