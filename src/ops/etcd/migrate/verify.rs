//! Checking a migrated member's v3 data against the v2 store it was migrated from (the copy
//! `etcd.migrate` keeps, read from etcd's files, hidden keys included): every v2 leaf must
//! exist in v3 with the same value, `create_revision == createdIndex` and `mod_revision ==
//! modifiedIndex` (what `etcdctl migrate` preserves).
//!
//! v3 is read in pages at one pinned revision over the range the v2 keys span, and the two
//! sorted lists are merged. Allowed differences: a key whose v2 expiry has passed may be
//! gone (v2 would have deleted it); a key a listing hides (a `_` segment) is checked for its
//! value only, since `etcdctl migrate` cannot see it and `etcd.migrate_missing` writes it
//! anew; a key on a lease may have a newer `mod_revision` (attaching the lease rewrote it,
//! without touching its value).

use crate::ops::etcd::client::paging::{join_sorted, JoinError, PagingError};
use crate::ops::etcd::v2store::{Leaf, V2Store};
use etcd_client::KeyValue;
use tokio_util::sync::CancellationToken;

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
    /// Of those, keys a v2 listing hides (checked for their value).
    pub hidden: u64,
    /// Of those, keys found in v3.
    pub v3_checked: u64,
    /// Keys missing from v3 whose v2 expiry has passed: v2 would have deleted them too.
    pub expired: u64,
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
    #[error(transparent)]
    #[diagnostic(transparent)]
    Paging(#[from] PagingError),
    #[error("the verification was interrupted")]
    #[diagnostic(
        code(runbook::etcd::verify::cancelled),
        help("it changes nothing: run the step again")
    )]
    Cancelled,
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

fn compare(leaf: &Leaf, kv: &KeyValue, report: &mut VerifyReport) {
    report.v3_checked += 1;
    if kv.value() != leaf.value.as_slice() {
        // Sizes only: values are secrets, tokens and certificates, never for a message.
        let detail = format!(
            "value: {} bytes in v2, {} bytes in v3, contents differ",
            leaf.value.len(),
            kv.value().len()
        );
        report.record(leaf.key.as_bytes(), MismatchKind::DifferentValue, detail);
        return;
    }
    if leaf.hidden {
        return;
    }
    let created = u64::try_from(kv.create_revision()).unwrap_or(0);
    let modified = u64::try_from(kv.mod_revision()).unwrap_or(0);
    let released = kv.lease() != 0 && modified > leaf.modified;
    if created != leaf.created || (modified != leaf.modified && !released) {
        let detail = format!(
            "v2 createdIndex {} modifiedIndex {}, v3 create_revision {} mod_revision {}",
            leaf.created, leaf.modified, created, modified
        );
        report.record(leaf.key.as_bytes(), MismatchKind::DifferentRevision, detail);
    }
}

fn missing(leaf: &Leaf, now_ns: i64, report: &mut VerifyReport) {
    if leaf.expires.is_some_and(|at| at <= now_ns) {
        report.expired += 1;
    } else {
        report.record(leaf.key.as_bytes(), MismatchKind::Missing, String::new());
    }
}

/// How many keys are compared between two progress reports.
const PROGRESS_EVERY: usize = 10_000;

/// Compares every leaf of `store` (what `member` was migrated from) with `v3` (the same
/// member, or the cluster) at `now_ns` (Unix ns, for expiries), until `cancel`, telling
/// `progress` how many keys of how many are done. Fails with [`VerifyError::Mismatch`] if
/// any key is missing or different.
pub async fn verify(
    member: &str,
    store: &V2Store,
    v3: &etcd_client::Client,
    page_size: usize,
    now_ns: i64,
    cancel: &CancellationToken,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<VerifyReport, VerifyError> {
    let leaves = &store.leaves;
    let mut report = VerifyReport {
        v2_keys: leaves.len() as u64,
        hidden: store.hidden() as u64,
        ..VerifyReport::default()
    };
    let keys: Vec<&[u8]> = leaves.iter().map(|l| l.key.as_bytes()).collect();
    join_sorted(
        v3,
        "the v2 keys",
        &keys,
        page_size,
        false,
        cancel,
        |i, kv| {
            match kv {
                Some(kv) => compare(&leaves[i], kv, &mut report),
                None => missing(&leaves[i], now_ns, &mut report),
            }
            if (i + 1) % PROGRESS_EVERY == 0 {
                progress((i + 1) as u64, leaves.len() as u64);
            }
        },
    )
    .await
    .map_err(|e| match e {
        JoinError::Paging(e) => VerifyError::Paging(e),
        JoinError::Cancelled => VerifyError::Cancelled,
    })?;
    progress(leaves.len() as u64, leaves.len() as u64);
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
