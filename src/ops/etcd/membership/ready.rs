//! Waiting until a member that was just started serves v3 requests and, when
//! it joined a running cluster, has caught up with it.

use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::member::EtcdMember;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long to wait, how often to look, and how far behind counts as caught up.
#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    pub timeout: Duration,
    pub interval: Duration,
    /// Raft index distance from the reference member that counts as caught up.
    pub tolerance: u64,
}

impl Default for Readiness {
    fn default() -> Readiness {
        Readiness {
            timeout: Duration::from_secs(120),
            interval: Duration::from_millis(500),
            tolerance: 1,
        }
    }
}

/// The longest one look at a member may take.
const LOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest: even when the wait is nearly over, a look gets a fair chance.
const MIN_LOOK: Duration = Duration::from_secs(1);

/// Polls `member` until it answers `status` (and, with `reference`, until its raft
/// index is within the tolerance of the reference's). Returns its raft index, or
/// the last reason it was not ready when the time ran out.
pub async fn wait_ready(
    access: &EtcdAccess,
    member: &EtcdMember,
    reference: Option<&EtcdMember>,
    readiness: Readiness,
    cancel: &CancellationToken,
) -> Result<u64, String> {
    let started = Instant::now();
    let mut last;
    loop {
        // A member busy applying a large snapshot may take a request and not answer it:
        // no single look may outlast the wait, and a stuck one is made afresh.
        let remaining = readiness.timeout.saturating_sub(started.elapsed());
        let look = LOOK_TIMEOUT.min(remaining).max(MIN_LOOK);
        let looked =
            tokio::time::timeout(look, check(access, member, reference, readiness.tolerance)).await;
        last = match looked {
            Ok(Ok(index)) => return Ok(index),
            Ok(Err(reason)) => reason,
            Err(_) => format!(
                "{} did not answer `status` within {}",
                member.name,
                crate::duration::format_duration(look)
            ),
        };
        if started.elapsed() >= readiness.timeout {
            return Err(last);
        }
        tokio::select! {
            _ = tokio::time::sleep(readiness.interval) => {}
            _ = cancel.cancelled() => return Err(format!("interrupted while waiting: {last}")),
        }
    }
}

async fn check(
    access: &EtcdAccess,
    member: &EtcdMember,
    reference: Option<&EtcdMember>,
    tolerance: u64,
) -> Result<u64, String> {
    let index = raft_index(access, member).await?;
    if let Some(reference) = reference {
        let target = raft_index(access, reference).await?;
        if index + tolerance < target {
            return Err(format!(
                "{} is at raft index {index}, {} at {target}",
                member.name, reference.name
            ));
        }
    }
    Ok(index)
}

async fn raft_index(access: &EtcdAccess, member: &EtcdMember) -> Result<u64, String> {
    let mut client = access.v3_member(member).await.map_err(|e| e.to_string())?;
    let status = client
        .status()
        .await
        .map_err(|e| format!("{}: {e}", member.endpoint.client_url))?;
    if status.leader() == 0 {
        return Err(format!("{} has no leader yet", member.name));
    }
    Ok(status.raft_index())
}
