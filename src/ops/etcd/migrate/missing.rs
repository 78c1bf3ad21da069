//! Writing into v3 the v2 keys `etcdctl migrate` left out. It exports the v2 store through a
//! recursive listing, and listings hide every key with a `_` segment: OAuth tokens whose
//! random name begins with `_` (about 1 in 64), anything under a `_` directory. The store
//! read from etcd's files has them all; every leaf of it that v3 lacks is written with its
//! value, only where v3 still has no such key (`create_revision == 0`), so nothing written
//! since is overwritten. A leaf whose v2 expiry has passed is not written: v2 would have
//! deleted it. The keys get new revisions (etcd assigns them); their TTLs are restored with
//! the others by `lease.restore_ttls`.

use crate::ops::etcd::client::paging::{join_sorted, JoinError, PagingError};
use crate::ops::etcd::v2store::{Leaf, V2Store};
use etcd_client::{Compare, CompareOp, Txn, TxnOp};
use tokio_util::sync::CancellationToken;

/// Keys read per page while looking for the missing ones (keys only).
pub const PAGE_SIZE: usize = 10_000;
/// Puts per transaction, at most (etcd's default `--max-txn-ops` is 128).
const BATCH_KEYS: usize = 128;
/// Bytes of values per transaction, well below etcd's default `--max-request-bytes` (1.5 MiB).
const BATCH_BYTES: usize = 1024 * 1024;
/// How many written keys a report names.
pub const SHOWN_KEYS: usize = 10;

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MissingReport {
    /// Leaves in the v2 store.
    pub v2_keys: u64,
    /// Of those, not in v3.
    pub missing: u64,
    /// Written now.
    pub written: u64,
    /// Of those written, keys a v2 listing hides (the keys `etcdctl migrate` cannot see).
    pub hidden: u64,
    /// Missing keys whose v2 expiry has passed: not written.
    pub expired: u64,
    /// Missing keys that appeared in v3 before they could be written (left as they are).
    pub appeared: u64,
    /// The first keys written (names only: values are secrets).
    pub first: Vec<String>,
}

/// Why the missing keys could not all be written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MissingError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Paging(#[from] PagingError),
    #[error("writing the v2 key {key} into v3 failed: {reason}")]
    #[diagnostic(
        code(runbook::etcd::migrate_missing::write),
        help("keys written so far stay; run the step again to write the rest (a key already in v3 is never written twice). A value larger than etcd's --max-request-bytes cannot be written through the API")
    )]
    Write { key: String, reason: String },
    #[error("writing the keys etcdctl migrate left out was interrupted")]
    #[diagnostic(
        code(runbook::etcd::migrate_missing::cancelled),
        help("keys written so far stay; run the step again to write the rest")
    )]
    Cancelled,
}

/// How often a guarded write that timed out is sent again.
const WRITE_ATTEMPTS: u32 = 3;

/// Sends `txn`, again if it timed out or etcd was briefly unavailable: its compares
/// (`create_revision == 0`) make a copy that already committed a no-op. A member that has
/// just started alone on a large store may take seconds to commit its first proposals.
async fn guarded_txn(
    kv: &mut etcd_client::KvClient,
    txn: Txn,
) -> Result<etcd_client::TxnResponse, etcd_client::Error> {
    let mut attempt = 1;
    loop {
        match kv.txn(txn.clone()).await {
            Err(error) if attempt < WRITE_ATTEMPTS && is_transient(&error) => {
                tracing::warn!(%error, attempt, "a guarded write failed; sending it again");
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            outcome => return outcome,
        }
    }
}

/// A timeout or an unavailable member, as opposed to a refused request.
fn is_transient(error: &etcd_client::Error) -> bool {
    let text = error.to_string().to_ascii_lowercase();
    ["timeout", "timed out", "unavailable", "deadline"]
        .iter()
        .any(|word| text.contains(word))
}

/// The leaves of `store` that v3 lacks, in key order.
async fn find_missing<'a>(
    store: &'a V2Store,
    v3: &etcd_client::Client,
    cancel: &CancellationToken,
) -> Result<Vec<&'a Leaf>, MissingError> {
    let keys: Vec<&[u8]> = store.leaves.iter().map(|l| l.key.as_bytes()).collect();
    let mut missing = Vec::new();
    join_sorted(
        v3,
        "the v2 keys",
        &keys,
        PAGE_SIZE,
        true,
        cancel,
        |i, kv| {
            if kv.is_none() {
                missing.push(&store.leaves[i]);
            }
        },
    )
    .await
    .map_err(|e| match e {
        JoinError::Paging(e) => MissingError::Paging(e),
        JoinError::Cancelled => MissingError::Cancelled,
    })?;
    Ok(missing)
}

/// Writes every leaf of `store` that `v3` lacks and whose expiry (if any) is after `now_ns`.
pub async fn migrate_missing(
    store: &V2Store,
    v3: &etcd_client::Client,
    now_ns: i64,
    cancel: &CancellationToken,
) -> Result<MissingReport, MissingError> {
    let missing = find_missing(store, v3, cancel).await?;
    let mut report = MissingReport {
        v2_keys: store.leaves.len() as u64,
        missing: missing.len() as u64,
        ..MissingReport::default()
    };
    let (expired, wanted): (Vec<&Leaf>, Vec<&Leaf>) = missing
        .into_iter()
        .partition(|l| l.expires.is_some_and(|at| at <= now_ns));
    report.expired = expired.len() as u64;

    let mut kv = v3.kv_client();
    let mut batch: Vec<&Leaf> = Vec::new();
    let mut bytes = 0;
    let mut wanted = wanted.into_iter().peekable();
    while wanted.peek().is_some() || !batch.is_empty() {
        if let Some(leaf) = wanted.next_if(|l| {
            batch.is_empty()
                || (batch.len() < BATCH_KEYS && bytes + l.value.len() + l.key.len() <= BATCH_BYTES)
        }) {
            bytes += leaf.value.len() + leaf.key.len();
            batch.push(leaf);
            continue;
        }
        if cancel.is_cancelled() {
            return Err(MissingError::Cancelled);
        }
        let unseen = |l: &Leaf| Compare::create_revision(l.key.as_bytes(), CompareOp::Equal, 0);
        let put = |l: &Leaf| TxnOp::put(l.key.as_bytes(), l.value.clone(), None);
        let txn = Txn::new()
            .when(batch.iter().map(|l| unseen(l)).collect::<Vec<_>>())
            .and_then(batch.iter().map(|l| put(l)).collect::<Vec<_>>());
        let fail = |key: &str, e: etcd_client::Error| MissingError::Write {
            key: key.to_string(),
            reason: e.to_string(),
        };
        let answer = guarded_txn(&mut kv, txn)
            .await
            .map_err(|e| fail(&batch[0].key, e))?;
        let written: Vec<&Leaf> = if answer.succeeded() {
            batch.clone()
        } else {
            // One of them appeared meanwhile: each on its own.
            let mut written = Vec::new();
            for leaf in &batch {
                let one = Txn::new().when([unseen(leaf)]).and_then([put(leaf)]);
                if guarded_txn(&mut kv, one)
                    .await
                    .map_err(|e| fail(&leaf.key, e))?
                    .succeeded()
                {
                    written.push(*leaf);
                } else {
                    report.appeared += 1;
                }
            }
            written
        };
        for leaf in written {
            report.written += 1;
            report.hidden += u64::from(leaf.hidden);
            if report.first.len() < SHOWN_KEYS {
                report.first.push(leaf.key.clone());
            }
        }
        batch.clear();
        bytes = 0;
    }
    Ok(report)
}
