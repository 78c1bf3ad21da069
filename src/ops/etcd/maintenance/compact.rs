//! `etcd.compact`: dropping the history before a revision, refused for a revision the
//! cluster has not reached or has already compacted away.

use crate::ops::etcd::maintenance::error::{v3_failed, MaintenanceError};
use etcd_client::{CompactionOptions, GetOptions};

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    /// The revision compacted to: the oldest one left.
    pub revision: i64,
    /// The oldest revision that could be read before (1 when nothing was compacted yet).
    pub compacted_from: i64,
}

/// The cluster's current revision.
pub async fn current_revision(client: &etcd_client::Client) -> Result<i64, MaintenanceError> {
    let answer = client
        .kv_client()
        .get("health", Some(GetOptions::new().with_count_only()))
        .await
        .map_err(|e| v3_failed("get", "the cluster", &e))?;
    Ok(answer.header().map(|h| h.revision()).unwrap_or(0))
}

/// Whether a read at `revision` still works (false: that history is compacted).
async fn readable(client: &etcd_client::Client, revision: i64) -> Result<bool, MaintenanceError> {
    let options = GetOptions::new().with_count_only().with_revision(revision);
    match client.kv_client().get("health", Some(options)).await {
        Ok(_) => Ok(true),
        Err(e)
            if e.to_string()
                .contains("required revision has been compacted") =>
        {
            Ok(false)
        }
        Err(e) => Err(v3_failed("get", "the cluster", &e)),
    }
}

/// The oldest revision a read still gets, up to `current`: found by bisection with
/// count-only reads of one key (etcd refuses any read below its compaction revision).
pub async fn oldest_revision(
    client: &etcd_client::Client,
    current: i64,
) -> Result<i64, MaintenanceError> {
    let (mut low, mut high) = (1, current.max(1));
    while low < high {
        let middle = low + (high - low) / 2;
        if readable(client, middle).await? {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    Ok(low)
}

/// Compacts the history up to `revision`; with `physical`, waits until the space is freed
/// in every member's backend.
pub async fn compact(
    client: &etcd_client::Client,
    revision: i64,
    physical: bool,
) -> Result<Compacted, MaintenanceError> {
    let current = current_revision(client).await?;
    if revision > current {
        return Err(MaintenanceError::FutureRevision { revision, current });
    }
    let compacted_from = oldest_revision(client, current).await?;
    if revision < compacted_from {
        return Err(MaintenanceError::AlreadyCompacted {
            revision,
            compacted: compacted_from,
        });
    }
    let options = physical.then(|| CompactionOptions::new().with_physical());
    let mut kv = client.kv_client();
    match kv.compact(revision, options).await {
        Ok(_) => Ok(Compacted {
            revision,
            compacted_from,
        }),
        Err(e)
            if e.to_string()
                .contains("required revision has been compacted") =>
        {
            Err(MaintenanceError::AlreadyCompacted {
                revision,
                compacted: compacted_from,
            })
        }
        Err(e) => Err(v3_failed("compact", "the cluster", &e)),
    }
}
