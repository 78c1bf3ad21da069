//! The v2 store as etcd 3.4 keeps it in memory (`etcdserver/api/v2store`): a tree of
//! directories and keys under `/`, each with its created and modified index and an optional
//! expiry, and the store's `CurrentIndex`. The write operations follow etcd's one by one:
//! which paths are read-only, when missing directories are made, which failures leave the
//! store untouched, and which successes advance the index, so replaying a WAL here gives the
//! indexes etcd gave.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// `minExpireTime` (2000-01-01 UTC): a create with an earlier expiry makes a permanent node.
pub const MIN_EXPIRE_NS: i64 = 946_684_800_000_000_000;

/// One node: a key (value) or a directory (children).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "NodeJson")]
pub struct Node {
    pub created: u64,
    pub modified: u64,
    /// Unix nanoseconds; `None` is permanent.
    pub expire: Option<i64>,
    pub value: Vec<u8>,
    /// `Some` for a directory (etcd: `Children != nil`).
    pub children: Option<BTreeMap<String, Node>>,
}

impl Node {
    fn dir(index: u64, expire: Option<i64>) -> Node {
        Node {
            created: index,
            modified: index,
            expire,
            value: Vec::new(),
            children: Some(BTreeMap::new()),
        }
    }

    fn key(index: u64, value: Vec<u8>, expire: Option<i64>) -> Node {
        Node {
            created: index,
            modified: index,
            expire,
            value,
            children: None,
        }
    }

    pub fn is_dir(&self) -> bool {
        self.children.is_some()
    }

    /// etcd's `Compare`: an empty value and a zero index match anything.
    fn matches(&self, prev_value: &[u8], prev_index: u64) -> bool {
        (prev_index == 0 || self.modified == prev_index)
            && (prev_value.is_empty() || self.value == prev_value)
    }
}

/// The node as etcd's `json.Marshal` writes it into a snapshot.
#[derive(Deserialize)]
struct NodeJson {
    #[serde(rename = "CreatedIndex", default)]
    created: u64,
    #[serde(rename = "ModifiedIndex", default)]
    modified: u64,
    #[serde(rename = "ExpireTime", default, deserialize_with = "expire_time")]
    expire: Option<i64>,
    #[serde(rename = "Value", default)]
    value: String,
    #[serde(rename = "Children", default)]
    children: Option<BTreeMap<String, Node>>,
}

impl From<NodeJson> for Node {
    fn from(json: NodeJson) -> Node {
        Node {
            created: json.created,
            modified: json.modified,
            expire: json.expire,
            value: json.value.into_bytes(),
            children: json.children,
        }
    }
}

/// Go's zero `time.Time` is "permanent"; anything else is an RFC 3339 instant.
fn expire_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text = String::deserialize(d)?;
    if text.starts_with("0001-01-01T00:00:00") {
        return Ok(None);
    }
    let at = chrono::DateTime::parse_from_rfc3339(&text)
        .map_err(|e| serde::de::Error::custom(format!("ExpireTime {text:?}: {e}")))?;
    at.timestamp_nanos_opt()
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("ExpireTime {text:?} is out of range")))
}

/// Why an operation changed nothing (etcd's v2 error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpError {
    KeyNotFound,
    TestFailed,
    NotFile,
    NotDir,
    NodeExist,
    RootReadOnly,
    DirNotEmpty,
}

/// The whole store.
#[derive(Debug, Clone)]
pub struct Tree {
    pub root: Node,
    /// etcd's `CurrentIndex`.
    pub index: u64,
    /// Every node with an expiry: (expiry, path), etcd's TTL heap in expiry order.
    ttl: BTreeSet<(i64, String)>,
}

/// `path.Clean(path.Join("/", p))` for the components: `.` and `..` resolved, empties dropped.
pub fn components(path: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            name => out.push(name),
        }
    }
    out
}

fn join(components: &[&str]) -> String {
    let mut path = String::with_capacity(components.iter().map(|c| c.len() + 1).sum());
    for c in components {
        path.push('/');
        path.push_str(c);
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

/// The server's store has `/0` (cluster) and `/1` (keys) besides `/`, all read-only.
fn read_only(components: &[&str]) -> bool {
    matches!(components, [] | ["0"] | ["1"])
}

impl Tree {
    /// A new store, as `v2store.New("/0", "/1")` makes it.
    pub fn new() -> Tree {
        let mut root = Node::dir(0, None);
        if let Some(children) = root.children.as_mut() {
            children.insert("0".into(), Node::dir(0, None));
            children.insert("1".into(), Node::dir(0, None));
        }
        Tree {
            root,
            index: 0,
            ttl: BTreeSet::new(),
        }
    }

    /// A store recovered from a snapshot: the TTL index is rebuilt from the nodes.
    pub fn recovered(root: Node, index: u64) -> Tree {
        let mut tree = Tree {
            root,
            index,
            ttl: BTreeSet::new(),
        };
        let mut found = Vec::new();
        collect_expiring(&tree.root, &mut Vec::new(), &mut found);
        tree.ttl = found.into_iter().collect();
        tree
    }

    /// The node at `path`, if the whole path exists.
    pub fn get(&self, path: &str) -> Result<&Node, OpError> {
        get_in(&self.root, &components(path))
    }

    fn get_mut(&mut self, parts: &[&str]) -> Result<&mut Node, OpError> {
        let mut node = &mut self.root;
        for part in parts {
            let Some(children) = node.children.as_mut() else {
                return Err(OpError::NotDir);
            };
            node = children.get_mut(*part).ok_or(OpError::KeyNotFound)?;
        }
        Ok(node)
    }

    /// `internalCreate`: `unique` appends the next index as a 20-digit name; `replace`
    /// replaces a key (never a directory).
    fn internal_create(
        &mut self,
        path: &str,
        dir: bool,
        value: Vec<u8>,
        unique: bool,
        replace: bool,
        expire: Option<i64>,
    ) -> Result<(), OpError> {
        let next = self.index + 1;
        let path = if unique {
            format!("{path}/{next:020}")
        } else {
            path.to_string()
        };
        let parts = components(&path);
        if read_only(&parts) {
            return Err(OpError::RootReadOnly);
        }
        let expire = expire.filter(|at| *at >= MIN_EXPIRE_NS);
        let (name, parents) = parts.split_last().ok_or(OpError::RootReadOnly)?;
        // Missing directories on the way are made at once (etcd's `checkDir`).
        let mut node = &mut self.root;
        for part in parents {
            let children = node.children.as_mut().ok_or(OpError::NotDir)?;
            let child = children
                .entry((*part).to_string())
                .or_insert_with(|| Node::dir(next, None));
            if !child.is_dir() {
                return Err(OpError::NotDir);
            }
            node = child;
        }
        let children = node.children.as_mut().ok_or(OpError::NotDir)?;
        if let Some(existing) = children.get(*name) {
            if !replace {
                return Err(OpError::NodeExist);
            }
            if existing.is_dir() {
                return Err(OpError::NotFile);
            }
            if let Some(at) = existing.expire {
                self.ttl.remove(&(at, join(&parts)));
            }
        }
        let created = if dir {
            Node::dir(next, expire)
        } else {
            Node::key(next, value, expire)
        };
        children.insert((*name).to_string(), created);
        if let Some(at) = expire {
            self.ttl.insert((at, join(&parts)));
        }
        self.index = next;
        Ok(())
    }

    /// `Create` (`POST` when `unique`, `PUT ?prevExist=false` otherwise).
    pub fn create(
        &mut self,
        path: &str,
        dir: bool,
        value: Vec<u8>,
        unique: bool,
        expire: Option<i64>,
    ) -> Result<(), OpError> {
        self.internal_create(path, dir, value, unique, false, expire)
    }

    /// `Set`: create or replace a key; with `refresh`, keep its value and renew its expiry.
    pub fn set(
        &mut self,
        path: &str,
        dir: bool,
        value: Vec<u8>,
        refresh: bool,
        expire: Option<i64>,
    ) -> Result<(), OpError> {
        let value = match self.get(path) {
            Ok(existing) if refresh => existing.value.clone(),
            Ok(_) => value,
            Err(OpError::KeyNotFound) if !refresh => value,
            Err(error) => return Err(error),
        };
        self.internal_create(path, dir, value, false, true, expire)
    }

    /// `Update`: a key's value and expiry, or a directory's expiry.
    pub fn update(
        &mut self,
        path: &str,
        value: Vec<u8>,
        refresh: bool,
        expire: Option<i64>,
    ) -> Result<(), OpError> {
        let parts = components(path);
        if read_only(&parts) {
            return Err(OpError::RootReadOnly);
        }
        let next = self.index + 1;
        let node = self.get_mut(&parts)?;
        if node.is_dir() && !value.is_empty() {
            return Err(OpError::NotFile);
        }
        if !node.is_dir() {
            // A directory keeps its modified index: etcd's `Write` refuses it silently.
            if !refresh {
                node.value = value;
            }
            node.modified = next;
        }
        let old = node.expire;
        node.expire = expire;
        self.move_expiry(&parts, old, expire);
        self.index = next;
        Ok(())
    }

    /// `CompareAndSwap` on a key.
    pub fn compare_and_swap(
        &mut self,
        path: &str,
        prev_value: &[u8],
        prev_index: u64,
        value: Vec<u8>,
        refresh: bool,
        expire: Option<i64>,
    ) -> Result<(), OpError> {
        let parts = components(path);
        if read_only(&parts) {
            return Err(OpError::RootReadOnly);
        }
        let next = self.index + 1;
        let node = self.get_mut(&parts)?;
        if node.is_dir() {
            return Err(OpError::NotFile);
        }
        if !node.matches(prev_value, prev_index) {
            return Err(OpError::TestFailed);
        }
        if !refresh {
            node.value = value;
        }
        node.modified = next;
        let old = node.expire;
        node.expire = expire;
        self.move_expiry(&parts, old, expire);
        self.index = next;
        Ok(())
    }

    /// `Delete`: a key, an empty directory (`dir`), or a whole subtree (`recursive`).
    pub fn delete(&mut self, path: &str, dir: bool, recursive: bool) -> Result<(), OpError> {
        let parts = components(path);
        if read_only(&parts) {
            return Err(OpError::RootReadOnly);
        }
        let dir = dir || recursive;
        let node = get_in(&self.root, &parts)?;
        if let Some(children) = &node.children {
            if !dir {
                return Err(OpError::NotFile);
            }
            if !children.is_empty() && !recursive {
                return Err(OpError::DirNotEmpty);
            }
        }
        self.remove(&parts);
        self.index += 1;
        Ok(())
    }

    /// `CompareAndDelete` on a key (etcd checks no read-only path here).
    pub fn compare_and_delete(
        &mut self,
        path: &str,
        prev_value: &[u8],
        prev_index: u64,
    ) -> Result<(), OpError> {
        let parts = components(path);
        let node = get_in(&self.root, &parts)?;
        if node.is_dir() {
            return Err(OpError::NotFile);
        }
        if !node.matches(prev_value, prev_index) {
            return Err(OpError::TestFailed);
        }
        self.index += 1;
        self.remove(&parts);
        Ok(())
    }

    /// `DeleteExpiredKeys`: every node whose expiry is at or before `cutoff` (Unix ns), in
    /// expiry order, one index each (a directory takes its subtree with it).
    pub fn delete_expired(&mut self, cutoff: i64) -> u64 {
        let mut removed = 0;
        while let Some((at, path)) = self.ttl.first().cloned() {
            if at > cutoff {
                break;
            }
            self.index += 1;
            let owned = path.clone();
            self.remove(&components(&owned));
            // The node itself, if `remove` could not reach it (its expiry entry goes anyway).
            self.ttl.remove(&(at, path));
            removed += 1;
        }
        removed
    }

    fn move_expiry(&mut self, parts: &[&str], old: Option<i64>, new: Option<i64>) {
        let path = join(parts);
        if let Some(at) = old {
            self.ttl.remove(&(at, path.clone()));
        }
        if let Some(at) = new {
            self.ttl.insert((at, path));
        }
    }

    /// Takes the node at `parts` (and its subtree) out of the tree and the TTL index.
    fn remove(&mut self, parts: &[&str]) -> Option<Node> {
        let (name, parents) = parts.split_last()?;
        let parent = self.get_mut(parents).ok()?;
        let node = parent.children.as_mut()?.remove(*name)?;
        let mut prefix: Vec<String> = parents.iter().map(|s| s.to_string()).collect();
        prefix.push((*name).to_string());
        let mut gone = Vec::new();
        collect_expiring(&node, &mut prefix, &mut gone);
        for entry in gone {
            self.ttl.remove(&entry);
        }
        Some(node)
    }
}

impl Default for Tree {
    fn default() -> Tree {
        Tree::new()
    }
}

fn get_in<'a>(root: &'a Node, parts: &[&str]) -> Result<&'a Node, OpError> {
    let mut node = root;
    for part in parts {
        let Some(children) = &node.children else {
            return Err(OpError::NotDir);
        };
        node = children.get(*part).ok_or(OpError::KeyNotFound)?;
    }
    Ok(node)
}

fn collect_expiring(node: &Node, prefix: &mut Vec<String>, into: &mut Vec<(i64, String)>) {
    if let Some(at) = node.expire {
        let parts: Vec<&str> = prefix.iter().map(String::as_str).collect();
        into.push((at, join(&parts)));
    }
    if let Some(children) = &node.children {
        for (name, child) in children {
            prefix.push(name.clone());
            collect_expiring(child, prefix, into);
            prefix.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf<'a>(tree: &'a Tree, path: &str) -> &'a Node {
        tree.get(path).unwrap()
    }

    #[test]
    fn creates_make_missing_directories_at_the_new_index() {
        let mut tree = Tree::new();
        tree.set("/1/a/b/c", false, b"v".to_vec(), false, None)
            .unwrap();
        assert_eq!(tree.index, 1);
        for path in ["/1/a", "/1/a/b", "/1/a/b/c"] {
            assert_eq!(
                (leaf(&tree, path).created, leaf(&tree, path).modified),
                (1, 1)
            );
        }
        assert_eq!(
            tree.create("/1/a/b/c", false, b"x".to_vec(), false, None),
            Err(OpError::NodeExist)
        );
        assert_eq!(
            tree.set("/1/a/b/c/d", false, b"x".to_vec(), false, None),
            Err(OpError::NotDir)
        );
        assert_eq!(
            tree.set("/1/a", false, b"x".to_vec(), false, None),
            Err(OpError::NotFile)
        );
        assert_eq!(tree.index, 1, "failures leave the index alone");
        // A set replaces the key: both indexes are new.
        tree.set("/1/a/b/c", false, b"w".to_vec(), false, None)
            .unwrap();
        assert_eq!((leaf(&tree, "/1/a/b/c").created, tree.index), (2, 2));
        tree.create("/1/q", false, b"1".to_vec(), true, None)
            .unwrap();
        assert!(tree.get("/1/q/00000000000000000003").is_ok());
    }

    #[test]
    fn compare_and_swap_update_and_deletes_follow_etcd() {
        let mut tree = Tree::new();
        tree.set(
            "/1/k",
            false,
            b"v1".to_vec(),
            false,
            Some(MIN_EXPIRE_NS + 5),
        )
        .unwrap();
        assert_eq!(
            tree.compare_and_swap("/1/k", b"", 9, b"v2".to_vec(), false, None),
            Err(OpError::TestFailed)
        );
        tree.compare_and_swap("/1/k", b"v1", 1, b"v2".to_vec(), false, None)
            .unwrap();
        let k = leaf(&tree, "/1/k");
        assert_eq!(
            (k.created, k.modified, k.expire),
            (1, 2, None),
            "no TTL given: permanent"
        );
        tree.update("/1/k", b"v3".to_vec(), false, Some(MIN_EXPIRE_NS + 9))
            .unwrap();
        assert_eq!(leaf(&tree, "/1/k").value, b"v3");
        tree.update("/1/k", Vec::new(), true, Some(MIN_EXPIRE_NS + 20))
            .unwrap();
        assert_eq!(leaf(&tree, "/1/k").value, b"v3", "refresh keeps the value");
        tree.set("/1/d/x", false, b"1".to_vec(), false, None)
            .unwrap();
        assert_eq!(tree.delete("/1/d", false, false), Err(OpError::NotFile));
        assert_eq!(tree.delete("/1/d", true, false), Err(OpError::DirNotEmpty));
        assert_eq!(tree.delete("/1", true, true), Err(OpError::RootReadOnly));
        let before = tree.index;
        tree.delete("/1/d", false, true).unwrap();
        assert_eq!(tree.index, before + 1);
        assert_eq!(
            tree.compare_and_delete("/1/k", b"v1", 0),
            Err(OpError::TestFailed)
        );
        tree.compare_and_delete("/1/k", b"v3", 0).unwrap();
        assert_eq!(tree.get("/1/k"), Err(OpError::KeyNotFound));
    }

    #[test]
    fn expiry_takes_whole_subtrees_one_index_each() {
        let mut tree = Tree::new();
        let t = MIN_EXPIRE_NS;
        tree.set("/1/a", false, b"".to_vec(), false, Some(t + 10))
            .unwrap();
        tree.create("/1/d", true, Vec::new(), false, Some(t + 20))
            .unwrap();
        tree.set("/1/d/inner", false, b"x".to_vec(), false, Some(t + 30))
            .unwrap();
        tree.set("/1/keep", false, b"x".to_vec(), false, Some(t + 40))
            .unwrap();
        // An expiry before 2000 on create is permanent.
        tree.set("/1/old", false, b"x".to_vec(), false, Some(5))
            .unwrap();
        assert_eq!(leaf(&tree, "/1/old").expire, None);
        let before = tree.index;
        assert_eq!(tree.delete_expired(t + 30), 2, "a, then d with its child");
        assert_eq!(tree.index, before + 2);
        assert!(tree.get("/1/d/inner").is_err());
        assert!(tree.get("/1/keep").is_ok());
        assert_eq!(tree.delete_expired(t + 40), 1);
    }

    #[test]
    fn snapshot_json_reads_dirs_keys_and_expiry() {
        let json = r#"{"Path":"/","CreatedIndex":0,"ModifiedIndex":0,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
            "1":{"Path":"/1","CreatedIndex":0,"ModifiedIndex":0,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{
              "_h":{"Path":"/1/_h","CreatedIndex":4,"ModifiedIndex":6,"ExpireTime":"2026-12-01T08:38:03.08968585+01:00","Value":"tok","Children":null},
              "e":{"Path":"/1/e","CreatedIndex":5,"ModifiedIndex":5,"ExpireTime":"0001-01-01T00:00:00Z","Value":"","Children":{}}}}}}"#;
        let root: Node = serde_json::from_str(json).unwrap();
        let tree = Tree::recovered(root, 6);
        let h = leaf(&tree, "/1/_h");
        assert_eq!(
            (h.created, h.modified, h.value.as_slice()),
            (4, 6, b"tok".as_slice())
        );
        let expected = chrono::DateTime::parse_from_rfc3339("2026-12-01T07:38:03.08968585Z")
            .unwrap()
            .timestamp_nanos_opt();
        assert_eq!(h.expire, expected);
        assert!(leaf(&tree, "/1/e").is_dir());
        let mut tree = tree;
        assert_eq!(
            tree.delete_expired(i64::MAX),
            1,
            "the recovered TTL is indexed"
        );
    }

    #[test]
    fn paths_are_cleaned_as_go_cleans_them() {
        assert_eq!(components("/1//a/./b/../c/"), ["1", "a", "c"]);
        assert_eq!(components("1/../.."), Vec::<&str>::new());
        assert_eq!(join(&[]), "/");
    }
}
