//! Checking a migrated member's v3 data against the v2 store it still holds: every v2 leaf
//! key must exist in v3 with the same value, `create_revision == createdIndex` and
//! `mod_revision == modifiedIndex` (what `etcdctl migrate` preserves).
//!
//! v2 is read in one recursive get (the v2 API has no paging); v3 is read in pages at one
//! pinned revision over the range the v2 keys span, and the two sorted lists are merged.
//! A v2 key with a TTL whose v3 key is on a lease is allowed a newer `mod_revision`:
//! `lease.attach` rewrote it (without touching its value).

use super::lease_paging::{KeyPager, PagingError};
use super::v2::{V2Client, V2Error, V2Node};
use etcd_client::KeyValue;

/// How many mismatches a report keeps to show.
pub const SHOWN_MISMATCHES: usize = 10;
/// v3 keys read per page.
pub const VERIFY_PAGE_SIZE: usize = 1000;

/// What is wrong with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MismatchKind {
    Missing,
    DifferentValue,
    DifferentRevision,
}

impl MismatchKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            MismatchKind::Missing => "missing",
            MismatchKind::DifferentValue => "different value",
            MismatchKind::DifferentRevision => "different revision",
        }
    }
}

/// One key that does not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub key: String,
    pub kind: MismatchKind,
    pub detail: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}", self.key, self.kind.as_str())?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        write!(f, ")")
    }
}

/// The outcome of a comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Leaf keys in the v2 store.
    pub v2_keys: u64,
    /// Of those, keys found in v3.
    pub v3_checked: u64,
    pub missing: u64,
    pub different_value: u64,
    pub different_revision: u64,
    /// The first few mismatches, in key order.
    pub mismatches: Vec<Mismatch>,
}

impl VerifyReport {
    pub fn passed(&self) -> bool {
        self.missing == 0 && self.different_value == 0 && self.different_revision == 0
    }

    fn record(&mut self, key: &[u8], kind: MismatchKind, detail: String) {
        match kind {
            MismatchKind::Missing => self.missing += 1,
            MismatchKind::DifferentValue => self.different_value += 1,
            MismatchKind::DifferentRevision => self.different_revision += 1,
        }
        if self.mismatches.len() < SHOWN_MISMATCHES {
            self.mismatches.push(Mismatch {
                key: String::from_utf8_lossy(key).into_owned(),
                kind,
                detail,
            });
        }
    }
}

/// Why the verification failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum VerifyError {
    #[error("cannot read the v2 store of {member}: {source}")]
    #[diagnostic(
        code(runbook::etcd::verify::v2),
        help("etcd.verify needs the member's v2 API (ETCD_ENABLE_V2=true) and its v2 store, i.e. a member migrated in place with `etcdctl migrate`")
    )]
    V2 {
        member: String,
        #[source]
        source: V2Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Paging(#[from] PagingError),
    #[error("v3 data on {member} does not match its v2 store: {missing} missing, {different_value} with a different value, {different_revision} with a different revision, of {v2_keys} v2 keys; first: {first}")]
    #[diagnostic(
        code(runbook::etcd::verify::mismatch),
        help("do not start the masters on etcd3: restore the pre-migration backup and migrate again (`etcdctl migrate` on a stopped member), then verify before attaching leases")
    )]
    Mismatch {
        member: String,
        v2_keys: u64,
        missing: u64,
        different_value: u64,
        different_revision: u64,
        first: String,
        report: Box<VerifyReport>,
    },
}

/// One v2 leaf, as compared.
struct Leaf {
    key: Vec<u8>,
    value: Vec<u8>,
    created_index: u64,
    modified_index: u64,
    had_ttl: bool,
}

/// The leaves of a v2 tree in byte order of their keys (the tree is consumed as it goes).
fn leaves(root: V2Node) -> Vec<Leaf> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.dir {
            stack.extend(node.nodes);
            continue;
        }
        let Some(key) = node.key else { continue };
        out.push(Leaf {
            key: key.into_bytes(),
            value: node.value.unwrap_or_default().into_bytes(),
            created_index: node.created_index,
            modified_index: node.modified_index,
            had_ttl: node.ttl.is_some() || node.expiration.is_some(),
        });
    }
    out.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    out
}

fn compare(leaf: &Leaf, kv: &KeyValue, report: &mut VerifyReport) {
    report.v3_checked += 1;
    if kv.value() != leaf.value.as_slice() {
        // Sizes only: values are secrets, tokens and certificates, never for a message.
        let detail = format!(
            "value: {} bytes in v2, {} bytes in v3, contents differ",
            leaf.value.len(),
            kv.value().len()
        );
        report.record(&leaf.key, MismatchKind::DifferentValue, detail);
        return;
    }
    let created = u64::try_from(kv.create_revision()).unwrap_or(0);
    let modified = u64::try_from(kv.mod_revision()).unwrap_or(0);
    let released = leaf.had_ttl && kv.lease() != 0 && modified > leaf.modified_index;
    if created != leaf.created_index || (modified != leaf.modified_index && !released) {
        let detail = format!(
            "v2 createdIndex {} modifiedIndex {}, v3 create_revision {} mod_revision {}",
            leaf.created_index, leaf.modified_index, created, modified
        );
        report.record(&leaf.key, MismatchKind::DifferentRevision, detail);
    }
}

/// Compares every v2 leaf of `v2` (one member) with `v3` (the same member); `member` names it.
/// Fails with [`VerifyError::Mismatch`] if any key is missing or different.
pub async fn verify(
    member: &str,
    v2: &V2Client,
    v3: &etcd_client::Client,
    page_size: usize,
) -> Result<VerifyReport, VerifyError> {
    let root = v2
        .get_opt("/", true)
        .await
        .map_err(|source| VerifyError::V2 {
            member: member.to_string(),
            source,
        })?
        .unwrap_or_default();
    let leaves = leaves(root);
    let mut report = VerifyReport {
        v2_keys: leaves.len() as u64,
        ..VerifyReport::default()
    };
    if let (Some(first), Some(last)) = (leaves.first(), leaves.last()) {
        let mut end = last.key.clone();
        end.push(0);
        let (mut pager, _) =
            KeyPager::pin_range(v3, "the v2 keys", first.key.clone(), end, page_size, false)
                .await?;
        let mut pending = leaves.iter().peekable();
        while let Some(page) = pager.next_page().await? {
            for kv in &page {
                while let Some(leaf) = pending.next_if(|leaf| leaf.key.as_slice() < kv.key()) {
                    report.record(&leaf.key, MismatchKind::Missing, String::new());
                }
                if let Some(leaf) = pending.next_if(|leaf| leaf.key.as_slice() == kv.key()) {
                    compare(leaf, kv, &mut report);
                }
            }
        }
        for leaf in pending {
            report.record(&leaf.key, MismatchKind::Missing, String::new());
        }
    }
    if report.passed() {
        return Ok(report);
    }
    Err(VerifyError::Mismatch {
        member: member.to_string(),
        v2_keys: report.v2_keys,
        missing: report.missing,
        different_value: report.different_value,
        different_revision: report.different_revision,
        first: report
            .mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        report: Box::new(report),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_in_byte_order_across_directories() {
        let tree: V2Node = serde_json::from_str(
            r#"{"dir":true,"nodes":[{"key":"/a","dir":true,"nodes":[{"key":"/a/b","value":"1","createdIndex":5,"modifiedIndex":6}]},{"key":"/a-c","value":"2"},{"key":"/e","dir":true}]}"#,
        )
        .unwrap();
        let keys: Vec<Vec<u8>> = leaves(tree).into_iter().map(|l| l.key).collect();
        assert_eq!(keys, vec![b"/a-c".to_vec(), b"/a/b".to_vec()]);
    }
}
