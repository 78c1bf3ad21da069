//! The keys of a v2 store as v3 sees them: every leaf under `/1`, its path without that
//! prefix, its value and indexes, the moment it expires (its own expiry or the earliest of
//! the directories above it, which take it with them), and whether a listing hides it.

use super::tree::{Node, Tree};

/// One v2 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// `/kubernetes.io/...`, as `etcdctl migrate` names the v3 key.
    pub key: String,
    pub value: Vec<u8>,
    pub created: u64,
    pub modified: u64,
    /// Unix nanoseconds when v2 deletes it; `None`: never.
    pub expires: Option<i64>,
    /// A segment of its path starts with `_`: recursive listings, and so `etcdctl
    /// migrate`, leave it out.
    pub hidden: bool,
}

/// Whether a v2 listing hides `key` (some segment starts with `_`).
pub fn is_hidden(key: &str) -> bool {
    key.split('/').any(|segment| segment.starts_with('_'))
}

/// Every leaf under `/1`, sorted by the bytes of the key (v3's order). The tree is consumed:
/// values move into the leaves rather than being copied.
pub fn collect(tree: Tree) -> Vec<Leaf> {
    let mut out = Vec::new();
    let keys = tree
        .root
        .children
        .and_then(|mut children| children.remove("1"));
    if let Some(keys) = keys {
        let mut path = String::new();
        walk(keys, &mut path, None, false, &mut out);
    }
    out.sort_unstable_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    out
}

fn walk(node: Node, path: &mut String, expiry: Option<i64>, hidden: bool, out: &mut Vec<Leaf>) {
    let Some(children) = node.children else {
        return;
    };
    for (name, child) in children {
        let length = path.len();
        path.push('/');
        path.push_str(&name);
        let expires = match (expiry, child.expire) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let hidden = hidden || name.starts_with('_');
        if child.is_dir() {
            walk(child, path, expires, hidden, out);
        } else {
            out.push(Leaf {
                key: path.clone(),
                value: child.value,
                created: child.created,
                modified: child.modified,
                expires,
                hidden,
            });
        }
        path.truncate(length);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::etcd::v2store::tree::MIN_EXPIRE_NS;

    #[test]
    fn leaves_in_v3_order_with_hidden_paths_and_inherited_expiry() {
        let mut tree = Tree::new();
        let t = MIN_EXPIRE_NS;
        tree.set("/1/a/b", false, b"1".to_vec(), false, None)
            .unwrap();
        tree.set("/1/a-c", false, b"2".to_vec(), false, None)
            .unwrap();
        tree.set("/1/t/_tok", false, b"3".to_vec(), false, Some(t + 50))
            .unwrap();
        tree.create("/1/_d", true, Vec::new(), false, Some(t + 10))
            .unwrap();
        tree.set("/1/_d/x", false, b"4".to_vec(), false, Some(t + 90))
            .unwrap();
        tree.set(
            "/0/members/1/raftAttributes",
            false,
            b"{}".to_vec(),
            false,
            None,
        )
        .unwrap();
        let leaves = collect(tree);
        let keys: Vec<&str> = leaves.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, ["/_d/x", "/a-c", "/a/b", "/t/_tok"]);
        let hidden: Vec<bool> = leaves.iter().map(|l| l.hidden).collect();
        assert_eq!(hidden, [true, false, false, true]);
        assert_eq!(
            leaves[0].expires,
            Some(t + 10),
            "the directory expires first"
        );
        assert_eq!(leaves[3].expires, Some(t + 50));
        assert!(is_hidden("/openshift.io/oauth/accesstokens/_abc"));
        assert!(!is_hidden("/openshift.io/oauth/accesstokens/a_bc"));
    }
}
