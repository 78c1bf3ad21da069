//! After a verified migration, the v2 copies of the masters' data on the migrated member
//! are dropped: the masters read only v3 from then on, and the backups keep the v2 data.
//! While they stay, every snapshot etcd sends a joining member carries the whole v2 store,
//! cloned and serialised while no write is applied (seconds of stalled writes for a large
//! store), and every member holds the store in memory.

use crate::ops::etcd::client::paging::prefix_range;
use crate::ops::etcd::client::v2::{V2Client, V2Error};
use etcd_client::GetOptions;

/// One prefix's outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dropped {
    pub prefix: String,
    /// v2 leaves under it before.
    pub v2_keys: u64,
    /// v3 keys under it, which the masters read.
    pub v3_keys: u64,
    pub dropped: bool,
}

/// Why nothing was dropped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DropError {
    #[error("{prefix} is not a prefix of the masters' data: give the storage prefixes of master-config.yaml (etcdStorageConfig), such as /kubernetes.io and /openshift.io")]
    #[diagnostic(code(runbook::etcd::v2_drop::prefix))]
    BadPrefix { prefix: String },
    #[error("{host}: v2 holds {v2_keys} keys under {prefix} but v3 none: the v2 copies are the only ones, and stay")]
    #[diagnostic(
        code(runbook::etcd::v2_drop::not_in_v3),
        help("check that the migration wrote that prefix (etcd.verify), and that the masters' storage prefix is spelled as in master-config.yaml")
    )]
    NotInV3 {
        host: String,
        prefix: String,
        v2_keys: u64,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    V2(#[from] V2Error),
    #[error("{host}: counting the v3 keys under {prefix} failed: {reason}")]
    #[diagnostic(
        code(runbook::etcd::v2_drop::count),
        help("check that etcd runs on {host}, then run the step again: nothing was dropped")
    )]
    Count {
        host: String,
        prefix: String,
        reason: String,
    },
}

/// Drops the v2 directories `prefixes` on `host` (reached through `v2` and `v3`) whose keys
/// v3 has too; every prefix is checked before any is dropped.
pub async fn drop_v2_copies(
    host: &str,
    v2: &V2Client,
    v3: &etcd_client::Client,
    prefixes: &[String],
) -> Result<Vec<Dropped>, DropError> {
    let mut found = Vec::with_capacity(prefixes.len());
    for prefix in prefixes {
        let trimmed = prefix.trim_end_matches('/');
        if !trimmed.starts_with('/') || trimmed.len() < 2 || trimmed.contains("..") {
            return Err(DropError::BadPrefix {
                prefix: prefix.clone(),
            });
        }
        let v2_keys = v2.count_leaves(trimmed).await?;
        let (start, end) = prefix_range(trimmed);
        let counted = v3
            .kv_client()
            .get(
                start,
                Some(GetOptions::new().with_range(end).with_count_only()),
            )
            .await
            .map_err(|e| DropError::Count {
                host: host.to_string(),
                prefix: trimmed.to_string(),
                reason: e.to_string(),
            })?;
        let v3_keys = u64::try_from(counted.count()).unwrap_or(0);
        if v2_keys > 0 && v3_keys == 0 {
            return Err(DropError::NotInV3 {
                host: host.to_string(),
                prefix: trimmed.to_string(),
                v2_keys,
            });
        }
        found.push(Dropped {
            prefix: trimmed.to_string(),
            v2_keys,
            v3_keys,
            dropped: false,
        });
    }
    for entry in &mut found {
        entry.dropped = v2.delete_dir(&entry.prefix).await?;
    }
    Ok(found)
}
