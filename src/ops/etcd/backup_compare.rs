//! Checking that the live cluster's v2 data equals a member's pre-migration backup,
//! after a rollback: the backup (re-verified against its manifest) is served by a
//! throwaway etcd on its host, and every v2 leaf key of it must be on every live
//! member with the same value, `createdIndex` and `modifiedIndex`, and no other key
//! may be there. Keys whose TTL has run out since may be gone on either side: they
//! are counted apart. Values are never shown (they may hold tokens), only sizes.

use super::access::{AccessError, EtcdAccess};
use super::backup_verify::{self, VerifyError};
use super::member::EtcdMember;
use super::throwaway_etcd::{Throwaway, ThrowawayError};
use super::v2::V2Node;
use crate::transport::Transport;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;

/// How many differences an error names.
pub const SHOWN_DIFFERENCES: usize = 10;

/// A v2 leaf key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub value: String,
    pub created: u64,
    pub modified: u64,
    /// RFC 3339, when the key has a TTL.
    pub expiration: Option<String>,
}

impl Leaf {
    fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expiration
            .as_deref()
            .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
            .is_some_and(|at| at < now)
    }
}

/// Every leaf key of a v2 tree.
pub fn leaves(node: &V2Node) -> BTreeMap<String, Leaf> {
    fn walk(node: &V2Node, into: &mut BTreeMap<String, Leaf>) {
        if node.dir {
            for child in &node.nodes {
                walk(child, into);
            }
        } else if let Some(key) = &node.key {
            into.insert(
                key.clone(),
                Leaf {
                    value: node.value.clone().unwrap_or_default(),
                    created: node.created_index,
                    modified: node.modified_index,
                    expiration: node.expiration.clone(),
                },
            );
        }
    }
    let mut into = BTreeMap::new();
    walk(node, &mut into);
    into
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
    Throwaway(#[from] ThrowawayError),
    #[error("{error}\n(and cleaning up after it failed too: {cleanup})")]
    #[diagnostic(forward(error))]
    WithCleanup {
        error: Box<CompareError>,
        cleanup: Box<ThrowawayError>,
    },
    #[error("cannot read the live v2 data from {member}: {source}")]
    #[diagnostic(
        code(runbook::etcd::compare::live),
        help(
            "every member must run and serve the v2 API (ETCD_ENABLE_V2=true); check etcd.health()"
        )
    )]
    Live {
        member: String,
        #[source]
        source: Box<AccessError>,
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

/// Compares the leaves of a live member with the backup's, noting up to
/// [`SHOWN_DIFFERENCES`] differences in `shown`.
pub fn compare_leaves(
    member: &str,
    backup: &BTreeMap<String, Leaf>,
    live: &BTreeMap<String, Leaf>,
    now: DateTime<Utc>,
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
    for (key, want) in backup {
        match live.get(key) {
            None if want.expired(now) => result.expired += 1,
            None => {
                result.missing += 1;
                note(key, "missing", String::new());
            }
            Some(have) if have.value != want.value => {
                result.changed += 1;
                note(
                    key,
                    "value",
                    format!(
                        "{} bytes in the backup, {} bytes live",
                        want.value.len(),
                        have.value.len()
                    ),
                );
            }
            Some(have) if (have.created, have.modified) != (want.created, want.modified) => {
                result.changed += 1;
                note(
                    key,
                    "index",
                    format!(
                        "createdIndex/modifiedIndex {}/{} in the backup, {}/{} live",
                        want.created, want.modified, have.created, have.modified
                    ),
                );
            }
            Some(_) => result.matched += 1,
        }
    }
    for (key, have) in live {
        if backup.contains_key(key) {
            continue;
        }
        if have.expired(now) {
            result.expired += 1;
        } else {
            result.extra += 1;
            note(key, "extra", String::new());
        }
    }
    result
}

/// Serves the backup in `dir` (or the newest verified pre-migration backup) of
/// `member` from a throwaway etcd on its host and compares it with the v2 data of
/// every member in `live`. The throwaway etcd is stopped and its copy removed
/// whatever happens.
pub async fn compare_with_backup(
    access: &EtcdAccess,
    transport: &Transport,
    member: &EtcdMember,
    live: &[EtcdMember],
    dir: Option<&str>,
    cancel: &CancellationToken,
) -> Result<BackupComparison, CompareError> {
    let dir = match dir {
        Some(dir) => dir.to_string(),
        None => backup_verify::latest_backup_dir(transport, &member.data_dir, cancel).await?,
    };
    // A backup that changed since it was taken proves nothing.
    let (manifest, _) = backup_verify::verify_backup(transport, &dir, cancel).await?;

    let mut throwaway = Throwaway::prepare(transport, &member.data_dir, &dir, cancel).await?;
    let read = async {
        throwaway.start(transport, cancel).await?;
        throwaway.read_tree(transport, cancel).await
    }
    .await;
    let cleanup = throwaway.remove(transport).await;
    let tree = match (read, cleanup) {
        (Ok(tree), Ok(())) => tree,
        (Ok(_), Err(cleanup)) => return Err(cleanup.into()),
        (Err(error), Ok(())) => return Err(error.into()),
        (Err(error), Err(cleanup)) => {
            return Err(CompareError::WithCleanup {
                error: Box::new(error.into()),
                cleanup: Box::new(cleanup),
            })
        }
    };
    let backup = leaves(&tree);

    let mut comparison = BackupComparison {
        host: member.host_name().to_string(),
        backup: dir.clone(),
        backup_created: manifest.created,
        backup_keys: backup.len() as u64,
        members: Vec::with_capacity(live.len()),
        differences: Vec::new(),
    };
    for other in live {
        let read = async {
            access
                .v2_member(other)
                .await?
                .get("/", true)
                .await
                .map_err(AccessError::from)
        };
        let node = read.await.map_err(|source| CompareError::Live {
            member: other.name.clone(),
            source: Box::new(source),
        })?;
        let result = compare_leaves(
            &other.name,
            &backup,
            &leaves(&node),
            Utc::now(),
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

    fn leaf(value: &str, created: u64, modified: u64, expiration: Option<&str>) -> Leaf {
        Leaf {
            value: value.into(),
            created,
            modified,
            expiration: expiration.map(str::to_string),
        }
    }

    #[test]
    fn names_missing_extra_changed_and_counts_expired_apart() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let past = Some("2024-01-01T11:00:00Z");
        let future = Some("2024-01-01T13:00:00Z");
        let backup: BTreeMap<String, Leaf> = [
            ("/a", leaf("1", 5, 5, None)),
            ("/b", leaf("2", 6, 7, None)),
            ("/c", leaf("3", 8, 8, None)),
            ("/d", leaf("4", 9, 9, None)),
            ("/ttl/gone", leaf("5", 10, 10, past)),
            ("/ttl/kept", leaf("6", 11, 11, future)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut live = backup.clone();
        live.remove("/d");
        live.remove("/ttl/gone");
        live.insert("/b".into(), leaf("2", 6, 12, None));
        live.insert("/c".into(), leaf("secret", 8, 8, None));
        live.insert("/new".into(), leaf("x", 20, 20, None));
        live.insert("/ttl/stale".into(), leaf("y", 3, 3, past));
        let mut shown = Vec::new();
        let result = compare_leaves("etcd-2", &backup, &live, now, &mut shown);
        assert_eq!(
            (
                result.matched,
                result.expired,
                result.missing,
                result.extra,
                result.changed
            ),
            (2, 2, 1, 1, 2),
            "{result:?}"
        );
        let text: Vec<String> = shown.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            [
                "etcd-2: /b (index: createdIndex/modifiedIndex 6/7 in the backup, 6/12 live)",
                "etcd-2: /c (value: 1 bytes in the backup, 6 bytes live)",
                "etcd-2: /d (missing)",
                "etcd-2: /new (extra)",
            ]
        );
        assert!(!text.join(" ").contains("secret"));
    }

    #[test]
    fn leaves_skip_directories() {
        let tree: V2Node = serde_json::from_str(
            r#"{"dir":true,"nodes":[{"key":"/a","value":"1","createdIndex":4,"modifiedIndex":6},
                {"key":"/d","dir":true,"nodes":[{"key":"/d/t","value":"2","expiration":"2024-01-01T11:00:00Z","ttl":5}]},
                {"key":"/e","dir":true}]}"#,
        )
        .unwrap();
        let found = leaves(&tree);
        assert_eq!(found.len(), 2);
        assert_eq!(found["/a"], leaf("1", 4, 6, None));
        assert_eq!(
            found["/d/t"].expiration.as_deref(),
            Some("2024-01-01T11:00:00Z")
        );
    }
}
