//! Attaching a prefix's keys (the key named by the prefix, and every key under it) to one new lease (v2 TTLs re-created as a v3 lease),
//! without ever rewriting a value.
//!
//! The keys are read in pages at one pinned revision (keys only), and attached in batched
//! transactions, several in flight: each put is `put(key, ignore_value, lease)` guarded by
//! `mod_revision(key) == seen`. A batch whose guard fails (someone wrote or deleted one of its
//! keys meanwhile) is retried key by key with fresh revisions:
//! - a key changed concurrently still gets the lease (the TTL belongs to the key, and the
//!   put keeps the newer value because it never sends one); it is counted in `conflicts`;
//! - a key deleted concurrently stays deleted (it is never put again); it is counted in
//!   `deleted` (and in `conflicts`);
//! - a key that is on a lease when read (by then) is left alone unless `re_lease` is set.

use crate::duration::{parse_duration, DurationError};
use crate::ops::etcd::client::paging::{KeyPager, PagingError};
use etcd_client::{Compare, CompareOp, KeyValue, PutOptions, Txn, TxnOp};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// etcd's default `--max-txn-ops`: the most operations one transaction may hold.
pub const MAX_TXN_OPS: usize = 128;
/// How often one key is retried when it keeps changing under us.
const KEY_ATTEMPTS: usize = 20;

/// How `attach` works; the defaults suit clusters of any size.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// Also move keys that are already on a lease to the new one.
    pub re_lease: bool,
    /// Keys read per page (keys only, at the pinned revision).
    pub page_size: usize,
    /// Keys per transaction (at most [`MAX_TXN_OPS`]).
    pub batch_size: usize,
    /// Transactions in flight at once.
    pub concurrency: usize,
}

impl Default for AttachOptions {
    fn default() -> AttachOptions {
        AttachOptions {
            re_lease: false,
            // Large pages: etcd 3.4 walks the rest of the range for every limited read,
            // so the number of pages, not their size, dominates on big prefixes.
            page_size: 50_000,
            batch_size: MAX_TXN_OPS,
            concurrency: 16,
        }
    }
}

/// What `attach` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachReport {
    /// The new lease.
    pub lease: i64,
    /// Its TTL in seconds.
    pub ttl: i64,
    /// The revision the keys were read at.
    pub revision: i64,
    /// Keys under the prefix at that revision.
    pub keys: u64,
    /// Keys now on the new lease.
    pub attached: u64,
    /// Keys left alone because they were on another lease.
    pub skipped: u64,
    /// Keys written or deleted by someone else during the run (re-read and handled one by one).
    pub conflicts: u64,
    /// Keys deleted by someone else during the run (not recreated).
    pub deleted: u64,
}

impl AttachReport {
    fn add(&mut self, other: &BatchOutcome) {
        self.attached += other.attached;
        self.skipped += other.skipped;
        self.conflicts += other.conflicts;
        self.deleted += other.deleted;
    }
}

/// Why the leases could not be attached.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LeaseError {
    #[error("`{input}` is not a lease duration")]
    #[diagnostic(
        code(runbook::lease::duration),
        help("write whole seconds with a unit, at least 1s: `10s`, `1h`, `86400s`")
    )]
    Duration {
        input: String,
        #[source]
        source: DurationError,
    },
    #[error("lease duration `{input}` is {reason}")]
    #[diagnostic(
        code(runbook::lease::duration),
        help("etcd leases count whole seconds: use at least `1s`, for example `10s` or `1h`")
    )]
    Ttl { input: String, reason: &'static str },
    #[error("refusing to attach every key of the cluster to one lease (prefix `{prefix}`)")]
    #[diagnostic(
        code(runbook::lease::prefix),
        help("name the prefix whose keys expire, for example `/kubernetes.io/events`")
    )]
    Prefix { prefix: String },
    #[error("cannot grant a lease of {ttl}s: {reason}")]
    #[diagnostic(
        code(runbook::lease::grant),
        help("check that the cluster is healthy (`etcd.health()`); a member that just started with force-new-cluster may need a moment")
    )]
    Grant { ttl: i64, reason: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Paging(#[from] PagingError),
    #[error("attaching keys under {prefix} to lease {lease:x} failed at {key}: {reason}")]
    #[diagnostic(
        code(runbook::lease::attach),
        help("keys already attached keep the lease; running lease.attach again finishes the rest (add #{{re_lease: true}} only to move keys that are on another lease)")
    )]
    Write {
        prefix: String,
        lease: i64,
        key: String,
        reason: String,
    },
    #[error("lease.attach under {prefix} was interrupted")]
    #[diagnostic(
        code(runbook::lease::cancelled),
        help("keys already attached keep the lease; run lease.attach again to finish")
    )]
    Cancelled { prefix: String },
}

/// Reads a lease duration: whole seconds, at least one (`"1h"`, `"10s"`, `"86400s"`).
pub fn parse_ttl(input: &str) -> Result<i64, LeaseError> {
    let duration = parse_duration(input).map_err(|source| LeaseError::Duration {
        input: input.to_string(),
        source,
    })?;
    if duration < Duration::from_secs(1) {
        return Err(LeaseError::Ttl {
            input: input.to_string(),
            reason: "shorter than one second",
        });
    }
    if duration.subsec_nanos() != 0 {
        return Err(LeaseError::Ttl {
            input: input.to_string(),
            reason: "not a whole number of seconds",
        });
    }
    i64::try_from(duration.as_secs()).map_err(|_| LeaseError::Ttl {
        input: input.to_string(),
        reason: "too long",
    })
}

/// Grants one lease of `ttl` seconds (never kept alive) and attaches the key `prefix` and
/// every key under `prefix/` to it. `progress(done, total)` is called as batches finish.
pub async fn attach(
    client: &etcd_client::Client,
    prefix: &str,
    ttl: i64,
    options: &AttachOptions,
    cancel: &CancellationToken,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<AttachReport, LeaseError> {
    if prefix.trim_matches('/').is_empty() {
        return Err(LeaseError::Prefix {
            prefix: prefix.to_string(),
        });
    }
    let granted = client
        .lease_client()
        .grant(ttl, None)
        .await
        .map_err(|e| LeaseError::Grant {
            ttl,
            reason: e.to_string(),
        })?;
    let lease = granted.id();
    let (mut pager, total) = KeyPager::pin(client, prefix, options.page_size, true).await?;
    let mut report = AttachReport {
        lease,
        ttl: granted.ttl(),
        revision: pager.revision(),
        ..AttachReport::default()
    };
    let batch_size = options.batch_size.clamp(1, MAX_TXN_OPS);
    let concurrency = options.concurrency.max(1);
    let job = Job {
        client: client.clone(),
        prefix: prefix.to_string(),
        lease,
        re_lease: options.re_lease,
    };
    let mut in_flight: JoinSet<Result<BatchOutcome, LeaseError>> = JoinSet::new();
    let mut done = 0u64;
    // The prefix itself may be a key (`/openshift.io/leases/controllers` on clusters with
    // the legacy controller lease): it belongs to the prefix as much as the keys under it.
    let bare = client
        .kv_client()
        .get(
            prefix.trim_end_matches('/'),
            Some(
                etcd_client::GetOptions::new()
                    .with_keys_only()
                    .with_revision(pager.revision()),
            ),
        )
        .await
        .map_err(|e| LeaseError::Write {
            prefix: prefix.to_string(),
            lease,
            key: prefix.trim_end_matches('/').to_string(),
            reason: e.to_string(),
        })?;
    let total = total + bare.kvs().len() as u64;
    progress(0, total);
    if !bare.kvs().is_empty() {
        report.keys += bare.kvs().len() as u64;
        let job = job.clone();
        let batch = bare.kvs().to_vec();
        in_flight.spawn(async move { job.run(batch).await });
    }
    let cancelled = || LeaseError::Cancelled {
        prefix: prefix.to_string(),
    };
    loop {
        let page = tokio::select! {
            _ = cancel.cancelled() => return Err(cancelled()),
            page = pager.next_page() => page?,
        };
        let Some(page) = page else { break };
        report.keys += page.len() as u64;
        let mut page = page.into_iter().peekable();
        while page.peek().is_some() {
            let batch: Vec<KeyValue> = page.by_ref().take(batch_size).collect();
            while in_flight.len() >= concurrency {
                let outcome = next_outcome(&mut in_flight, cancel, prefix).await?;
                done += outcome.keys;
                report.add(&outcome);
                progress(done, total.max(done));
            }
            let job = job.clone();
            in_flight.spawn(async move { job.run(batch).await });
        }
    }
    while !in_flight.is_empty() {
        let outcome = next_outcome(&mut in_flight, cancel, prefix).await?;
        done += outcome.keys;
        report.add(&outcome);
        progress(done, total.max(done));
    }
    if done < total {
        progress(total, total);
    }
    Ok(report)
}

// Waits for one batch; dropping the set on error or cancellation aborts the others.
pub(crate) async fn next_outcome<T: Default + 'static>(
    in_flight: &mut JoinSet<Result<T, LeaseError>>,
    cancel: &CancellationToken,
    prefix: &str,
) -> Result<T, LeaseError> {
    let joined = tokio::select! {
        _ = cancel.cancelled() => return Err(LeaseError::Cancelled { prefix: prefix.to_string() }),
        joined = in_flight.join_next() => joined,
    };
    match joined {
        Some(Ok(outcome)) => outcome,
        Some(Err(panic)) => Err(LeaseError::Write {
            prefix: prefix.to_string(),
            lease: 0,
            key: String::new(),
            reason: panic.to_string(),
        }),
        None => Ok(T::default()),
    }
}

/// What one batch did.
#[derive(Debug, Default)]
pub(crate) struct BatchOutcome {
    pub(crate) keys: u64,
    pub(crate) attached: u64,
    pub(crate) skipped: u64,
    pub(crate) conflicts: u64,
    pub(crate) deleted: u64,
}

/// Everything a batch needs, cheap to clone into a task: the keys of a batch go on `lease`,
/// each guarded by the mod revision it was read at (`lease.restore_ttls` uses it too).
#[derive(Clone)]
pub(crate) struct Job {
    pub(crate) client: etcd_client::Client,
    /// Names the keys' prefix in errors.
    pub(crate) prefix: String,
    pub(crate) lease: i64,
    pub(crate) re_lease: bool,
}

/// What happened to one key retried on its own.
enum KeyFate {
    Attached,
    Skipped,
    Deleted,
}

impl Job {
    fn put(&self, key: &[u8]) -> TxnOp {
        TxnOp::put(
            key,
            Vec::new(),
            Some(PutOptions::new().with_ignore_value().with_lease(self.lease)),
        )
    }

    fn error(&self, key: &[u8], reason: impl std::fmt::Display) -> LeaseError {
        LeaseError::Write {
            prefix: self.prefix.clone(),
            lease: self.lease,
            key: String::from_utf8_lossy(key).into_owned(),
            reason: reason.to_string(),
        }
    }

    fn wants(&self, kv: &KeyValue) -> bool {
        self.re_lease || kv.lease() == 0
    }

    pub(crate) async fn run(self, batch: Vec<KeyValue>) -> Result<BatchOutcome, LeaseError> {
        let mut outcome = BatchOutcome {
            keys: batch.len() as u64,
            ..BatchOutcome::default()
        };
        let (wanted, leased): (Vec<KeyValue>, Vec<KeyValue>) =
            batch.into_iter().partition(|kv| self.wants(kv));
        outcome.skipped = leased.len() as u64;
        if wanted.is_empty() {
            return Ok(outcome);
        }
        let compares: Vec<Compare> = wanted
            .iter()
            .map(|kv| Compare::mod_revision(kv.key(), CompareOp::Equal, kv.mod_revision()))
            .collect();
        let puts: Vec<TxnOp> = wanted.iter().map(|kv| self.put(kv.key())).collect();
        let answer = self
            .client
            .kv_client()
            .txn(Txn::new().when(compares).and_then(puts))
            .await
            .map_err(|e| self.error(wanted[0].key(), e))?;
        if answer.succeeded() {
            outcome.attached = wanted.len() as u64;
            return Ok(outcome);
        }
        // Someone changed at least one key of the batch since the pinned revision.
        for kv in &wanted {
            let (fate, changed) = self.attach_one(kv).await?;
            if changed {
                outcome.conflicts += 1;
            }
            match fate {
                KeyFate::Attached => outcome.attached += 1,
                KeyFate::Skipped => outcome.skipped += 1,
                KeyFate::Deleted => outcome.deleted += 1,
            }
        }
        Ok(outcome)
    }

    /// Attaches one key at its current revision; says whether it changed since `seen`.
    async fn attach_one(&self, seen: &KeyValue) -> Result<(KeyFate, bool), LeaseError> {
        let key = seen.key();
        let mut kv_client = self.client.kv_client();
        let mut changed = false;
        for _ in 0..KEY_ATTEMPTS {
            let current = kv_client
                .get(key, Some(etcd_client::GetOptions::new().with_keys_only()))
                .await
                .map_err(|e| self.error(key, e))?;
            let Some(now) = current.kvs().first() else {
                return Ok((KeyFate::Deleted, true));
            };
            changed |= now.mod_revision() != seen.mod_revision();
            if !self.wants(now) {
                return Ok((KeyFate::Skipped, changed));
            }
            let guarded = Txn::new()
                .when([Compare::mod_revision(
                    key,
                    CompareOp::Equal,
                    now.mod_revision(),
                )])
                .and_then([self.put(key)]);
            let answer = kv_client
                .txn(guarded)
                .await
                .map_err(|e| self.error(key, e))?;
            if answer.succeeded() {
                return Ok((KeyFate::Attached, changed));
            }
            changed = true;
        }
        Err(self.error(
            key,
            format!("the key changed {KEY_ATTEMPTS} times in a row while attaching it"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_whole_seconds_of_at_least_one() {
        assert_eq!(parse_ttl("1h").unwrap(), 3600);
        assert_eq!(parse_ttl("10s").unwrap(), 10);
        assert_eq!(parse_ttl("86400s").unwrap(), 86400);
        for bad in ["1x", "-5s", "0s", "10", "500ms", "1500ms", ""] {
            assert!(parse_ttl(bad).is_err(), "{bad} should be refused");
        }
    }
}
