//! Checking that the live cluster's v2 data equals a member's pre-migration backup, after a
//! rollback. The backup (re-verified against its manifest) and every live member are read
//! the same way, from etcd's own files (`v2store`): hidden keys included, and nothing asked
//! of etcd, so a large cluster is not made to answer for its whole keyspace at once. Every
//! v2 leaf of the backup must be on every live member with the same value, `createdIndex`
//! and `modifiedIndex`, and no other key may be there. Keys whose TTL has run out since may
//! be gone on either side: they are counted apart. Values are never shown (they may hold
//! tokens), only sizes.

use crate::ops::etcd::backup::verify::{self as backup_verify, VerifyError};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::v2store::{read_member_dir, Leaf, V2StoreError};
use crate::transport::Transport;
use std::cmp::Ordering;
use tokio_util::sync::CancellationToken;

/// How many differences an error names.
pub const SHOWN_DIFFERENCES: usize = 10;

fn expired(leaf: &Leaf, now: i64) -> bool {
    leaf.expires.is_some_and(|at| at < now)
}

/// One key that differs between the backup and a live member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    pub member: String,
    pub key: String,
    /// `missing` (in the backup, not live), `extra` (live only), `value`, `index`.
    pub kind: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({}", self.member, self.key, self.kind)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        write!(f, ")")
    }
}

/// How one live member compares with the backup.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemberComparison {
    pub member: String,
    pub live_keys: u64,
    /// Keys with the same value and indexes.
    pub matched: u64,
    /// Keys on one side only whose TTL has run out.
    pub expired: u64,
    pub missing: u64,
    pub extra: u64,
    pub changed: u64,
}

impl MemberComparison {
    pub fn differences(&self) -> u64 {
        self.missing + self.extra + self.changed
    }
}

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupComparison {
    pub host: String,
    pub backup: String,
    pub backup_created: String,
    pub backup_keys: u64,
    pub members: Vec<MemberComparison>,
    /// The first differences, member by member in key order.
    pub differences: Vec<Difference>,
}

impl BackupComparison {
    pub fn passed(&self) -> bool {
        self.members.iter().all(|m| m.differences() == 0)
    }
}

/// Why the comparison failed or could not be made.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CompareError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Backup(#[from] V2StoreError),
    #[error("cannot read the v2 data of {member} from its files: {source}")]
    #[diagnostic(
        code(runbook::etcd::compare::live),
        help("the live members' data dirs are read as they are on disk (etcd_data_dir in the inventory, + /member); the message says what stood in the way")
    )]
    Live {
        member: String,
        #[source]
        source: Box<V2StoreError>,
    },
    #[error(
        "the live v2 data differs from the backup {backup} of {host}: {summary}; first: {first}"
    )]
    #[diagnostic(
        code(runbook::etcd::compare::differs),
        help("this check changed nothing. Written since the restore (masters running?) means the data moved on; otherwise the restore did not bring the backup back: look at the keys named and the members' logs before restarting the masters")
    )]
    Differs {
        host: String,
        backup: String,
        summary: String,
        first: String,
        comparison: Box<BackupComparison>,
    },
}

/// Compares the leaves of a live member with the backup's (both in key order) at `now`
/// (Unix ns), noting up to [`SHOWN_DIFFERENCES`] differences in `shown`.
pub fn compare_leaves(
    member: &str,
    backup: &[Leaf],
    live: &[Leaf],
    now: i64,
    shown: &mut Vec<Difference>,
) -> MemberComparison {
    let mut result = MemberComparison {
        member: member.to_string(),
        live_keys: live.len() as u64,
        ..MemberComparison::default()
    };
    let mut note = |key: &str, kind: &'static str, detail: String| {
        if shown.len() < SHOWN_DIFFERENCES {
            shown.push(Difference {
                member: member.to_string(),
                key: key.to_string(),
                kind,
                detail,
            });
        }
    };
    let (mut wants, mut haves) = (backup.iter().peekable(), live.iter().peekable());
    loop {
        let order = match (wants.peek(), haves.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(w), Some(h)) => w.key.as_bytes().cmp(h.key.as_bytes()),
        };
        match order {
            Ordering::Less => {
                let want = wants.next().expect("peeked");
                if expired(want, now) {
                    result.expired += 1;
                } else {
                    result.missing += 1;
                    note(&want.key, "missing", String::new());
                }
            }
            Ordering::Greater => {
                let have = haves.next().expect("peeked");
                if expired(have, now) {
                    result.expired += 1;
                } else {
                    result.extra += 1;
                    note(&have.key, "extra", String::new());
                }
            }
            Ordering::Equal => {
                let (want, have) = (wants.next().expect("peeked"), haves.next().expect("peeked"));
                if have.value != want.value {
                    result.changed += 1;
                    note(
                        &want.key,
                        "value",
                        format!(
                            "{} bytes in the backup, {} bytes live",
                            want.value.len(),
                            have.value.len()
                        ),
                    );
                } else if (have.created, have.modified) != (want.created, want.modified) {
                    result.changed += 1;
                    note(
                        &want.key,
                        "index",
                        format!(
                            "createdIndex/modifiedIndex {}/{} in the backup, {}/{} live",
                            want.created, want.modified, have.created, have.modified
                        ),
                    );
                } else {
                    result.matched += 1;
                }
            }
        }
    }
    result
}

/// Reads the backup in `dir` (or the newest verified pre-migration backup) of `member` and
/// the v2 store of every member of `live` (each through its host's transport, from its data
/// dir) and compares them.
pub async fn compare_with_backup(
    transport: &Transport,
    member: &EtcdMember,
    live: &[(EtcdMember, std::sync::Arc<Transport>)],
    dir: Option<&str>,
    now: i64,
    cancel: &CancellationToken,
) -> Result<BackupComparison, CompareError> {
    let dir = match dir {
        Some(dir) => dir.to_string(),
        None => backup_verify::latest_backup_dir(transport, &member.data_dir, cancel).await?,
    };
    // A backup that changed since it was taken proves nothing.
    let (manifest, _) = backup_verify::verify_backup(transport, &dir, cancel).await?;
    let backup = read_member_dir(
        transport,
        &format!("{}/member", dir.trim_end_matches('/')),
        cancel,
    )
    .await?;

    let mut comparison = BackupComparison {
        host: member.host_name().to_string(),
        backup: dir.clone(),
        backup_created: manifest.created,
        backup_keys: backup.leaves.len() as u64,
        members: Vec::with_capacity(live.len()),
        differences: Vec::new(),
    };
    for (other, other_transport) in live {
        let data = format!("{}/member", other.data_dir.trim_end_matches('/'));
        let store = read_member_dir(other_transport, &data, cancel)
            .await
            .map_err(|source| CompareError::Live {
                member: other.name.clone(),
                source: Box::new(source),
            })?;
        let result = compare_leaves(
            &other.name,
            &backup.leaves,
            &store.leaves,
            now,
            &mut comparison.differences,
        );
        comparison.members.push(result);
    }
    if comparison.passed() {
        return Ok(comparison);
    }
    let summary = comparison
        .members
        .iter()
        .filter(|m| m.differences() > 0)
        .map(|m| {
            format!(
                "{}: {} missing, {} extra, {} changed of {} backup keys",
                m.member, m.missing, m.extra, m.changed, comparison.backup_keys
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let first = comparison
        .differences
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(CompareError::Differs {
        host: comparison.host.clone(),
        backup: dir,
        summary,
        first,
        comparison: Box::new(comparison),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;
    const NOW: i64 = 1_704_110_400 * S;

    fn leaf(key: &str, value: &str, created: u64, modified: u64, expires: Option<i64>) -> Leaf {
        Leaf {
            key: key.into(),
            value: value.as_bytes().to_vec(),
            created,
            modified,
            expires,
            hidden: crate::ops::etcd::v2store::is_hidden(key),
        }
    }

    #[test]
    fn names_missing_extra_changed_and_counts_expired_apart() {
        let past = Some(NOW - 3600 * S);
        let future = Some(NOW + 3600 * S);
        let backup = vec![
            leaf("/_hidden", "h", 4, 4, None),
            leaf("/a", "1", 5, 5, None),
            leaf("/b", "2", 6, 7, None),
            leaf("/c", "3", 8, 8, None),
            leaf("/d", "4", 9, 9, None),
            leaf("/ttl/gone", "5", 10, 10, past),
            leaf("/ttl/kept", "6", 11, 11, future),
        ];
        let live = vec![
            leaf("/a", "1", 5, 5, None),
            leaf("/b", "2", 6, 12, None),
            leaf("/c", "secret", 8, 8, None),
            leaf("/new", "x", 20, 20, None),
            leaf("/ttl/kept", "6", 11, 11, future),
            leaf("/ttl/stale", "y", 3, 3, past),
        ];
        let mut shown = Vec::new();
        let result = compare_leaves("etcd-2", &backup, &live, NOW, &mut shown);
        assert_eq!(
            (
                result.matched,
                result.expired,
                result.missing,
                result.extra,
                result.changed
            ),
            (2, 2, 2, 1, 2),
            "{result:?}"
        );
        let text: Vec<String> = shown.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            [
                "etcd-2: /_hidden (missing)",
                "etcd-2: /b (index: createdIndex/modifiedIndex 6/7 in the backup, 6/12 live)",
                "etcd-2: /c (value: 1 bytes in the backup, 6 bytes live)",
                "etcd-2: /d (missing)",
                "etcd-2: /new (extra)",
            ]
        );
        assert!(!text.join(" ").contains("secret"));
    }
}
