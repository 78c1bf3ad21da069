//! After a verified migration, the v2 copies of the masters' data on the migrated member
//! are dropped: the masters read only v3 from then on, and the backups keep the v2 data.
//! While they stay, every snapshot etcd sends a joining member carries the whole v2 store,
//! cloned and serialised while no write is applied (seconds of stalled writes for a large
//! store), and every member holds the store in memory.

use crate::ops::etcd::client::paging::prefix_range;
use crate::ops::etcd::client::v2::{V2Client, V2Error};
use crate::ops::etcd::v2store::V2Store;
use etcd_client::GetOptions;
use std::collections::BTreeMap;

/// The most leaves one v2 delete takes. etcd applies a recursive delete as one entry and
/// applies nothing else meanwhile: 43,198 leaves took 96 ms at 450,000 keys (measured on a
/// migrated lab member), so a part this size holds the masters' writes up for about a
/// quarter of a second. Every delete is also a raft entry and a WAL sync, which is why the
/// parts are as large as that allows: thousands of small deletes took 53 s.
const LEAVES_PER_DELETE: u64 = 100_000;

/// The directories to delete, deepest first, so that no delete takes more than `limit`
/// leaves unless a directory holds that many leaves itself. A directory too big loses its
/// largest subdirectories first (each planned the same way), only until what is left of it
/// fits in one delete, and is deleted after them.
fn delete_plan(prefix: &str, keys: &[&str], limit: u64) -> Vec<String> {
    // Leaves under each directory, the prefix and every directory below it.
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for key in keys {
        let mut end = key.len();
        while let Some(at) = key[..end].rfind('/') {
            let dir = &key[..at];
            if dir.len() < prefix.len() {
                break;
            }
            *counts.entry(dir).or_default() += 1;
            end = at;
        }
    }
    fn plan<'a>(dir: &'a str, counts: &BTreeMap<&'a str, u64>, limit: u64, out: &mut Vec<String>) {
        let mut left = counts.get(dir).copied().unwrap_or(0);
        if left > limit {
            let under = format!("{dir}/");
            let mut children: Vec<(&str, u64)> = counts
                .range::<str, _>((std::ops::Bound::Excluded(dir), std::ops::Bound::Unbounded))
                .take_while(|(d, _)| d.starts_with(&under))
                .filter(|(d, _)| !d[under.len()..].contains('/'))
                .map(|(d, n)| (*d, *n))
                .collect();
            // Largest first; equal sizes in key order, so the plan is the same every time.
            children.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            for (child, leaves) in children {
                if left <= limit {
                    break;
                }
                plan(child, counts, limit, out);
                left -= leaves;
            }
        }
        out.push(dir.to_string());
    }
    let mut out = Vec::new();
    plan(prefix, &counts, limit, &mut out);
    out
}

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
/// v3 has too; every prefix is checked before any is dropped. The v2 keys are counted in
/// `store`, the v2 store the member was migrated from (etcd is never asked for a whole tree).
pub async fn drop_v2_copies(
    host: &str,
    store: &V2Store,
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
        let under = format!("{trimmed}/");
        let v2_keys = store
            .leaves
            .iter()
            .filter(|l| l.key.starts_with(&under))
            .count() as u64;
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
        let under = format!("{}/", entry.prefix);
        let keys: Vec<&str> = store
            .leaves
            .iter()
            .map(|l| l.key.as_str())
            .filter(|k| k.starts_with(&under))
            .collect();
        for dir in delete_plan(&entry.prefix, &keys, LEAVES_PER_DELETE) {
            let deleted = v2.delete_dir(&dir).await?;
            entry.dropped |= dir == entry.prefix && deleted;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_directory_goes_in_parts_deepest_first() {
        let keys: Vec<String> = (0..10)
            .map(|i| format!("/k/events/ns0/e{i}"))
            .chain((0..6).map(|i| format!("/k/events/ns1/e{i}")))
            .chain((0..2).map(|i| format!("/k/events/ns2/e{i}")))
            .chain(["/k/events/ns3/e".to_string(), "/k/pods/p".to_string()])
            .collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        // /k has 20 leaves, /k/events 19: ns0 (10) alone goes first, ns1 (6) next, and the
        // rest of /k/events (3) and of /k (1) go with their directories.
        assert_eq!(
            delete_plan("/k", &keys, 5),
            ["/k/events/ns0", "/k/events/ns1", "/k/events", "/k"]
        );
        // A directory with too many leaves of its own is still one delete.
        assert_eq!(
            delete_plan("/k", &keys, 9),
            ["/k/events/ns0", "/k/events", "/k"]
        );
        assert_eq!(delete_plan("/k", &keys, 20), ["/k"]);
        assert_eq!(delete_plan("/k", &["/k/a/b", "/k/c"], 1), ["/k/a", "/k"]);
    }
}
