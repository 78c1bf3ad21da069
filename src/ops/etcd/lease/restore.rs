//! Restoring v2 TTLs as v3 leases from a [`TtlPlan`]: the planned keys are looked up in v3
//! (keys only, in bounded pages at one pinned revision), each planned lease is granted with
//! the TTL that makes it end at its planned moment, and its keys are attached in guarded
//! batches (`put(key, ignore_value, lease)` if `mod_revision` is still the one read), as
//! `lease.attach` does. Keys whose expiry has passed are deleted, guarded the same way.
//!
//! Only keys as the migration left them are touched: no lease, and the `mod_revision`
//! `etcdctl migrate` gave them (their v2 `modifiedIndex`), or, for the hidden keys that
//! `etcd.migrate_missing` wrote, never modified since. A key written again since (a master
//! on etcd3 recreated it) is left as it is, neither leased with the old object's expiry nor
//! deleted; a key on a lease was attached by an earlier run of this step.

use crate::ops::etcd::client::paging::{join_sorted, JoinError};
use crate::ops::etcd::lease::attach::{next_outcome, BatchOutcome, Job, LeaseError, MAX_TXN_OPS};
use crate::ops::etcd::lease::plan::{Origin, PlannedKey, TtlPlan};
use etcd_client::{Compare, CompareOp, KeyValue, Txn, TxnOp};
use std::collections::HashMap;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

const SECOND: i64 = 1_000_000_000;

/// How the work is done; the defaults suit clusters of any size.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Keys read per page (keys only).
    pub page_size: usize,
    /// Keys per transaction (at most 128).
    pub batch_size: usize,
    /// Transactions in flight at once.
    pub concurrency: usize,
}

impl Default for RestoreOptions {
    fn default() -> RestoreOptions {
        RestoreOptions {
            page_size: 50_000,
            batch_size: MAX_TXN_OPS,
            concurrency: 16,
        }
    }
}

/// What was done for one group of the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GroupReport {
    pub prefix: String,
    pub documented_seconds: Option<u64>,
    /// Planned keys (with a future expiry) that were in v3.
    pub keys: u64,
    /// Of those, keys with no v2 expiry, given the documented duration.
    pub without_expiry: u64,
    /// Of those, keys a v2 listing hides.
    pub hidden: u64,
    pub leases: u64,
    pub attached: u64,
    /// Already on a lease: left alone.
    pub skipped: u64,
    /// Changed by someone else meanwhile (handled one by one).
    pub conflicts: u64,
    /// Planned keys v3 no longer has.
    pub gone: u64,
    /// Planned keys written again since the migration: left alone.
    pub rewritten: u64,
    /// Keys deleted because their v2 expiry had passed.
    pub expired_deleted: u64,
    /// Expired keys left in place because they were written again (or leased) since.
    pub expired_kept: u64,
    /// Granted TTLs, seconds.
    pub min_ttl: Option<i64>,
    pub max_ttl: Option<i64>,
    /// The tolerance of the group's leases, seconds.
    pub tolerance_seconds: i64,
    /// The lease IDs granted.
    pub lease_ids: Vec<i64>,
}

/// What `restore` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RestoreReport {
    pub revision: i64,
    pub groups: Vec<GroupReport>,
}

impl RestoreReport {
    pub fn leases(&self) -> u64 {
        self.groups.iter().map(|g| g.leases).sum()
    }
    pub fn expired_deleted(&self) -> u64 {
        self.groups.iter().map(|g| g.expired_deleted).sum()
    }
}

/// The current v3 entry (keys only) of every planned key that v3 has.
async fn look_up(
    client: &etcd_client::Client,
    keys: &[&str],
    page_size: usize,
    cancel: &CancellationToken,
) -> Result<(i64, HashMap<String, KeyValue>), LeaseError> {
    let mut found = HashMap::with_capacity(keys.len());
    let revision = join_sorted(
        client,
        "the keys with TTLs",
        keys,
        page_size,
        true,
        cancel,
        |i, kv| {
            if let Some(kv) = kv {
                found.insert(keys[i].to_string(), kv.clone());
            }
        },
    )
    .await
    .map_err(|e| match e {
        JoinError::Paging(e) => LeaseError::Paging(e),
        JoinError::Cancelled => cancelled(),
    })?;
    Ok((revision, found))
}

/// Whether the v3 key is still what the migration made of the planned v2 key.
fn as_migrated(kv: &KeyValue, key: &PlannedKey) -> bool {
    let unmodified = if key.hidden {
        kv.mod_revision() == kv.create_revision()
    } else {
        u64::try_from(kv.mod_revision()) == Ok(key.modified)
    };
    kv.lease() == 0 && unmodified
}

fn cancelled() -> LeaseError {
    LeaseError::Cancelled {
        prefix: "the keys with TTLs".into(),
    }
}

/// Restores the plan's leases; `now` gives the current Unix ns on the clock the plan uses,
/// `progress(done, total)` is called as keys are handled.
pub async fn restore(
    client: &etcd_client::Client,
    plan: &TtlPlan,
    now: &(dyn Fn() -> i64 + Sync),
    options: &RestoreOptions,
    cancel: &CancellationToken,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RestoreReport, LeaseError> {
    let mut keys: Vec<&str> = plan
        .groups
        .iter()
        .flat_map(|g| {
            let leased = g.leases.iter().flat_map(|l| l.keys.iter());
            leased.chain(g.expired.iter()).map(|k| k.key.as_str())
        })
        .collect();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let (revision, mut found) = look_up(client, &keys, options.page_size, cancel).await?;
    let total = keys.len() as u64;
    let mut done = 0u64;
    progress(0, total);

    let mut report = RestoreReport {
        revision,
        groups: plan
            .groups
            .iter()
            .map(|g| GroupReport {
                prefix: g.name.clone(),
                documented_seconds: g.documented,
                tolerance_seconds: g.tolerance / SECOND,
                ..GroupReport::default()
            })
            .collect(),
    };
    let batch_size = options.batch_size.clamp(1, MAX_TXN_OPS);
    let concurrency = options.concurrency.max(1);
    let mut in_flight: JoinSet<Result<(usize, BatchOutcome), LeaseError>> = JoinSet::new();

    for (g, group) in plan.groups.iter().enumerate() {
        for lease in &group.leases {
            let mut present = Vec::with_capacity(lease.keys.len());
            for key in &lease.keys {
                let row = &mut report.groups[g];
                match found.remove(&key.key) {
                    None => {
                        row.gone += 1;
                        done += 1;
                    }
                    Some(kv) if kv.lease() != 0 => {
                        row.keys += 1;
                        row.skipped += 1;
                        done += 1;
                    }
                    Some(kv) if !as_migrated(&kv, key) => {
                        row.keys += 1;
                        row.rewritten += 1;
                        done += 1;
                    }
                    Some(kv) => {
                        row.keys += 1;
                        row.without_expiry += u64::from(key.origin == Origin::Documented);
                        row.hidden += u64::from(key.hidden);
                        present.push(kv);
                    }
                }
            }
            if present.is_empty() {
                continue;
            }
            // The lease ends at the planned moment, however long the work before it took.
            let ttl = ((lease.end - now()) + SECOND - 1) / SECOND;
            let ttl = ttl.max(1);
            let granted =
                client
                    .lease_client()
                    .grant(ttl, None)
                    .await
                    .map_err(|e| LeaseError::Grant {
                        ttl,
                        reason: e.to_string(),
                    })?;
            let row = &mut report.groups[g];
            row.leases += 1;
            row.lease_ids.push(granted.id());
            row.min_ttl = Some(row.min_ttl.map_or(granted.ttl(), |t| t.min(granted.ttl())));
            row.max_ttl = Some(row.max_ttl.map_or(granted.ttl(), |t| t.max(granted.ttl())));
            let job = Job {
                client: client.clone(),
                prefix: group.name.clone(),
                lease: granted.id(),
                re_lease: false,
            };
            let mut keys = present.into_iter().peekable();
            while keys.peek().is_some() {
                let batch: Vec<KeyValue> = keys.by_ref().take(batch_size).collect();
                while in_flight.len() >= concurrency {
                    let (g, outcome) = next_outcome(&mut in_flight, cancel, &group.name).await?;
                    done += outcome.keys;
                    add(&mut report.groups[g], &outcome);
                    progress(done, total);
                }
                let job = job.clone();
                in_flight.spawn(async move { Ok((g, job.run(batch).await?)) });
            }
        }
    }
    while !in_flight.is_empty() {
        let (g, outcome) = next_outcome(&mut in_flight, cancel, "the keys with TTLs").await?;
        done += outcome.keys;
        add(&mut report.groups[g], &outcome);
        progress(done, total);
    }

    for (g, group) in plan.groups.iter().enumerate() {
        let mut present: Vec<KeyValue> = Vec::new();
        for key in &group.expired {
            let row = &mut report.groups[g];
            match found.remove(&key.key) {
                None => row.gone += 1,
                Some(kv) if !as_migrated(&kv, key) => row.expired_kept += 1,
                Some(kv) => {
                    present.push(kv);
                    continue;
                }
            }
            done += 1;
        }
        for batch in present.chunks(batch_size) {
            if cancel.is_cancelled() {
                return Err(cancelled());
            }
            let (deleted, kept) = delete_expired(client, &group.name, batch).await?;
            report.groups[g].expired_deleted += deleted;
            report.groups[g].expired_kept += kept;
            done += batch.len() as u64;
            progress(done, total);
        }
    }
    if done < total {
        progress(total, total);
    }
    Ok(report)
}

fn add(row: &mut GroupReport, outcome: &BatchOutcome) {
    row.attached += outcome.attached;
    row.skipped += outcome.skipped;
    row.conflicts += outcome.conflicts;
    row.gone += outcome.deleted;
}

/// Deletes the keys of `batch` that still have the revision they were read at; returns
/// (deleted, kept because written since).
async fn delete_expired(
    client: &etcd_client::Client,
    prefix: &str,
    batch: &[KeyValue],
) -> Result<(u64, u64), LeaseError> {
    let mut kv = client.kv_client();
    let fail = |key: &[u8], e: etcd_client::Error| LeaseError::Write {
        prefix: prefix.to_string(),
        lease: 0,
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    };
    let guard = |k: &KeyValue| Compare::mod_revision(k.key(), CompareOp::Equal, k.mod_revision());
    let delete = |k: &KeyValue| TxnOp::delete(k.key(), None);
    let all = Txn::new()
        .when(batch.iter().map(guard).collect::<Vec<_>>())
        .and_then(batch.iter().map(delete).collect::<Vec<_>>());
    if kv
        .txn(all)
        .await
        .map_err(|e| fail(batch[0].key(), e))?
        .succeeded()
    {
        return Ok((batch.len() as u64, 0));
    }
    let (mut deleted, mut kept) = (0, 0);
    for key in batch {
        let one = Txn::new().when([guard(key)]).and_then([delete(key)]);
        if kv
            .txn(one)
            .await
            .map_err(|e| fail(key.key(), e))?
            .succeeded()
        {
            deleted += 1;
        } else {
            kept += 1;
        }
    }
    Ok((deleted, kept))
}
