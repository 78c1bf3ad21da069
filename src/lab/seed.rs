//! Writes the seed plan into a running cluster through the v2 HTTP API: many requests
//! in flight over keep-alive connections, progress through the reporter, Ctrl-C aware.

use super::error::LabError;
use super::seed_plan::{SeedPlan, EMPTY_DIRS};
use crate::ops::etcd::client::v2::{SetOptions, ERROR_NODE_EXIST};
use crate::ops::etcd::{V2Client, V2Error};
use crate::report::Reporter;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Requests in flight while seeding.
pub const CONCURRENCY: usize = 64;

/// What seeding did.
#[derive(Debug, Clone, Copy)]
pub struct SeedStats {
    pub keys: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl SeedStats {
    pub fn keys_per_second(&self) -> f64 {
        self.keys as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Creates the empty directories, then writes every key of `plan`.
pub async fn seed(
    client: &V2Client,
    plan: Arc<SeedPlan>,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<SeedStats, LabError> {
    let started = Instant::now();
    for dir in EMPTY_DIRS {
        match client.mkdir(dir).await {
            Ok(()) => {}
            Err(e) if e.error_code() == Some(ERROR_NODE_EXIST) => {}
            Err(source) => return Err(source.into()),
        }
    }
    let total = plan.keys.len() as u64;
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let stop = cancel.child_token();
    let mut workers: tokio::task::JoinSet<Result<(), V2Error>> = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY.min(plan.keys.len().max(1)) {
        let (client, plan, next, done, bytes, stop) = (
            client.clone(),
            plan.clone(),
            next.clone(),
            done.clone(),
            bytes.clone(),
            stop.clone(),
        );
        workers.spawn(async move {
            loop {
                if stop.is_cancelled() {
                    return Ok(());
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(key) = plan.keys.get(index) else {
                    return Ok(());
                };
                let value = key.value();
                set_with_retry(&client, &key.key, &value, key.ttl).await?;
                bytes.fetch_add(value.len() as u64, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let label = "seeding v2 keys";
    reporter.progress(label, 0, total);
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut failure = None;
    loop {
        tokio::select! {
            joined = workers.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(source))) => {
                    failure.get_or_insert(source.into());
                    stop.cancel();
                }
                Some(Err(join)) => {
                    failure.get_or_insert(LabError::Io {
                        action: "seed",
                        path: "v2 keyspace".into(),
                        reason: join.to_string(),
                    });
                    stop.cancel();
                }
            },
            _ = ticker.tick() => reporter.progress(label, done.load(Ordering::Relaxed), total),
        }
    }
    if let Some(error) = failure {
        return Err(error);
    }
    if cancel.is_cancelled() {
        return Err(LabError::Interrupted);
    }
    reporter.progress(label, total, total);
    Ok(SeedStats {
        keys: done.load(Ordering::Relaxed),
        bytes: bytes.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    })
}

/// etcd's "Raft Internal Error": the request timed out inside raft (a member busy with a
/// v2 snapshot of a large store); the write may or may not have been applied.
const ERROR_RAFT_INTERNAL: u64 = 300;
/// How often a write is tried again.
const SET_ATTEMPTS: u64 = 8;

// A member may be briefly busy (a leader change, a snapshot of a large store while
// seeding): the same write again, which is harmless if the first one was applied.
async fn set_with_retry(
    client: &V2Client,
    key: &str,
    value: &str,
    ttl: Option<u64>,
) -> Result<(), V2Error> {
    let mut attempt = 0;
    loop {
        match client.set(key, value, SetOptions { ttl }).await {
            Ok(()) => return Ok(()),
            Err(e)
                if attempt < SET_ATTEMPTS
                    && matches!(e.error_code(), None | Some(ERROR_RAFT_INTERNAL)) =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(250 * attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
