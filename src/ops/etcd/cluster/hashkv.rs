//! Comparing members' key-value stores: the cluster's current revision is read
//! once, then every member hashes its store at that same revision (`HashKV`),
//! so equal hashes mean equal data (`etcdctl endpoint hashkv`, as the migration
//! notes advise after `etcdctl migrate`). When that revision is the compact
//! revision (a quiet, compacted cluster), etcd refuses to hash at it: every
//! member then hashes its latest revision (0) and reports which revision that was.

use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::fanout::{ask_each, error_text, v3_error_text};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::cluster::table::{self, PLANNED};
use std::collections::BTreeMap;
use std::time::Duration;

/// One member's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHash {
    /// The hash of the keys at `revision`.
    pub hash: u32,
    /// The revision hashed.
    pub revision: i64,
    /// The member's compaction revision (history before it is gone).
    pub compact_revision: i64,
}

/// A member and its hash, or why it could not give one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHashKv {
    pub member: String,
    pub host: String,
    pub endpoint: String,
    pub result: Result<MemberHash, String>,
}

impl MemberHashKv {
    /// The host, and the member's own name where the two differ: `other-1 [member etcd-1]`.
    pub fn label(&self) -> String {
        if self.member == self.host {
            self.host.clone()
        } else {
            format!("{} [member {}]", self.host, self.member)
        }
    }
}

/// Every member's hash at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterHashKv {
    /// The revision every member was asked to hash.
    pub revision: i64,
    pub members: Vec<MemberHashKv>,
    /// Only planned (`runbook check`): nobody was asked.
    pub planned: bool,
}

/// Members whose stores differ, or that could not be compared.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("etcd members disagree on the key-value store at revision {revision}:\n{details}")]
#[diagnostic(
    code(runbook::etcd::hashkv_differ),
    help("members with a different hash hold different data: do not go on; compare their keys (`etcdctl get --prefix`), and rebuild a diverged member from a healthy one (remove it, wipe its data dir, add it back)")
)]
pub struct HashKvDiffer {
    pub revision: i64,
    pub details: String,
}

/// The cluster's current revision could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot read the current revision of the etcd cluster: {reason}")]
#[diagnostic(
    code(runbook::etcd::revision),
    help("no member answered a v3 read; check `etcd.health()`, and that etcd runs on the members (`systemctl status etcd`)")
)]
pub struct NoRevision {
    pub reason: String,
}

impl ClusterHashKv {
    /// What a plan shows in place of the hashes of `members`: every member agrees.
    pub fn planned(members: &[EtcdMember]) -> ClusterHashKv {
        ClusterHashKv {
            revision: 0,
            members: members
                .iter()
                .map(|m| MemberHashKv {
                    member: m.name.clone(),
                    host: m.host.name.clone(),
                    endpoint: m.endpoint.client_url.clone(),
                    result: Ok(MemberHash {
                        hash: 0,
                        revision: 0,
                        compact_revision: 0,
                    }),
                })
                .collect(),
            planned: true,
        }
    }

    /// Every member answered, all with the same hash of the same revision.
    pub fn agree(&self) -> bool {
        let mut hashes = self
            .members
            .iter()
            .map(|m| m.result.as_ref().map(|h| (h.hash, h.revision)));
        match hashes.next() {
            Some(Ok(first)) => hashes.all(|h| h == Ok(first)),
            _ => false,
        }
    }

    /// The hash most members share (the first seen on a tie).
    pub fn majority_hash(&self) -> Option<u32> {
        self.majority().map(|(hash, _)| hash)
    }

    /// The hash and revision most members share (the first seen on a tie).
    fn majority(&self) -> Option<(u32, i64)> {
        let mut counts: BTreeMap<(u32, i64), (usize, usize)> = BTreeMap::new();
        for (order, member) in self.members.iter().enumerate() {
            if let Ok(h) = &member.result {
                counts.entry((h.hash, h.revision)).or_insert((0, order)).0 += 1;
            }
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
            .map(|(key, _)| key)
    }

    /// `Err` listing the members that differ from the majority or gave no hash.
    pub fn expect_agree(&self) -> Result<(), HashKvDiffer> {
        if self.agree() {
            return Ok(());
        }
        let majority = self.majority();
        let details = self
            .members
            .iter()
            .filter_map(|m| match (&m.result, majority) {
                (Ok(h), Some(common)) if (h.hash, h.revision) == common => None,
                (Ok(h), Some((hash, _))) if h.hash != hash => Some(format!(
                    "  {} ({}): hash {} differs from {hash} (held by most members)",
                    m.label(),
                    m.endpoint,
                    h.hash,
                )),
                (Ok(h), Some((_, revision))) => Some(format!(
                    "  {} ({}): hashed revision {}, most members revision {revision} (a write in between: look again)",
                    m.label(),
                    m.endpoint,
                    h.revision,
                )),
                (Ok(h), None) => Some(format!("  {} ({}): hash {}", m.label(), m.endpoint, h.hash)),
                (Err(e), _) => Some(format!("  {} ({}): no hash: {e}", m.label(), m.endpoint)),
            })
            .collect::<Vec<_>>()
            .join("\n");
        Err(HashKvDiffer {
            revision: self.revision,
            details,
        })
    }

    /// A table like `etcdctl endpoint hashkv -w table`.
    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .members
            .iter()
            .map(|m| match &m.result {
                Ok(_) if self.planned => {
                    let mut row = vec![m.member.clone(), m.endpoint.clone()];
                    row.extend(std::iter::repeat_n(PLANNED.to_string(), 3));
                    row.push(String::new());
                    row
                }
                Ok(h) => vec![
                    m.member.clone(),
                    m.endpoint.clone(),
                    h.hash.to_string(),
                    h.revision.to_string(),
                    h.compact_revision.to_string(),
                    String::new(),
                ],
                Err(e) => vec![
                    m.member.clone(),
                    m.endpoint.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                    e.clone(),
                ],
            })
            .collect();
        table::render(
            &[
                "MEMBER",
                "ENDPOINT",
                "HASH",
                "REVISION",
                "COMPACT REVISION",
                "ERROR",
            ],
            &rows,
        )
    }
}

/// The cluster's current revision: a linearizable read's header, from the first
/// member that answers.
pub async fn current_revision(
    access: &EtcdAccess,
    members: &[EtcdMember],
) -> Result<i64, NoRevision> {
    let mut reasons = Vec::new();
    for member in members {
        let read = async {
            let mut client = access.v3_member(member).await.map_err(|e| error_text(&e))?;
            let options = etcd_client::GetOptions::new().with_count_only();
            let response = client
                .get("health", Some(options))
                .await
                .map_err(|e| v3_error_text(&e))?;
            response
                .header()
                .map(|h| h.revision())
                .ok_or_else(|| "the answer had no header".to_string())
        };
        match tokio::time::timeout(access.timeout(), read).await {
            Ok(Ok(revision)) => return Ok(revision),
            Ok(Err(reason)) => reasons.push(format!("{}: {reason}", member.name)),
            Err(_) => reasons.push(format!("{}: no answer in time", member.name)),
        }
    }
    Err(NoRevision {
        reason: if reasons.is_empty() {
            "no members".into()
        } else {
            reasons.join("; ")
        },
    })
}

/// How often hashes of the latest revision are taken again when members hashed different
/// revisions (a write came in between), and how far apart.
const LATEST_ATTEMPTS: u32 = 5;
const LATEST_RETRY: Duration = Duration::from_millis(200);

/// Hashes every member's store at the cluster's current revision, concurrently. When
/// that revision is compacted, every member hashes its latest revision instead: they
/// agree when they hashed the same revision to the same hash (asked again briefly while
/// the revisions differ).
pub async fn collect(
    access: &EtcdAccess,
    members: &[EtcdMember],
) -> Result<ClusterHashKv, NoRevision> {
    let revision = current_revision(access, members).await?;
    let answers = ask_each(members, access.timeout(), |member| {
        member_hash(access, member, revision)
    })
    .await;
    if !answers
        .iter()
        .any(|a| matches!(a, Err(e) if is_compacted(e)))
    {
        return Ok(report(access, members, revision, answers).await);
    }
    let mut attempt = 1;
    loop {
        let answers = ask_each(members, access.timeout(), |member| {
            member_hash(access, member, LATEST)
        })
        .await;
        let hashed = answers
            .iter()
            .filter_map(|a| a.as_ref().ok().map(|h| h.revision))
            .max()
            .unwrap_or(revision);
        let cluster = report(access, members, hashed, answers).await;
        let same_revision = cluster
            .members
            .iter()
            .filter_map(|m| m.result.as_ref().ok())
            .all(|h| h.revision == hashed);
        if same_revision || attempt >= LATEST_ATTEMPTS || access.cancel_token().is_cancelled() {
            return Ok(cluster);
        }
        attempt += 1;
        tokio::time::sleep(LATEST_RETRY).await;
    }
}

/// `HashKV` at revision 0: the member's latest revision.
const LATEST: i64 = 0;

/// etcd's answer to a `HashKV` at or below the compact revision.
fn is_compacted(error: &str) -> bool {
    error.contains("required revision has been compacted")
}

async fn report(
    access: &EtcdAccess,
    members: &[EtcdMember],
    revision: i64,
    answers: Vec<Result<MemberHash, String>>,
) -> ClusterHashKv {
    let mut out = Vec::with_capacity(members.len());
    for (member, result) in members.iter().zip(answers) {
        let endpoint = access.endpoint_text(member).await;
        out.push(MemberHashKv {
            member: member.name.clone(),
            host: member.host.name.clone(),
            endpoint,
            result,
        });
    }
    ClusterHashKv {
        revision,
        members: out,
        planned: false,
    }
}

/// One member's hash at `revision`; at 0, its latest revision (the answer's header says which).
pub(crate) async fn member_hash(
    access: &EtcdAccess,
    member: &EtcdMember,
    revision: i64,
) -> Result<MemberHash, String> {
    let mut client = access.v3_member(member).await.map_err(|e| error_text(&e))?;
    loop {
        match client.hash_kv(revision).await {
            Ok(response) => {
                let hashed = match revision {
                    LATEST => response.header().map(|h| h.revision()).unwrap_or(0),
                    asked => asked,
                };
                return Ok(MemberHash {
                    hash: response.hash(),
                    revision: hashed,
                    compact_revision: response.compact_version(),
                });
            }
            // A follower a moment behind has not applied `revision` yet: ask
            // again (the caller's timeout bounds the wait).
            Err(e) if e.to_string().contains("future revision") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(v3_error_text(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, hash: u32, revision: i64) -> MemberHashKv {
        MemberHashKv {
            member: name.into(),
            host: name.into(),
            endpoint: format!("https://{name}:2379"),
            result: Ok(MemberHash {
                hash,
                revision,
                compact_revision: 7,
            }),
        }
    }

    #[test]
    fn members_agree_only_on_the_same_hash_of_the_same_revision() {
        let mut cluster = ClusterHashKv {
            revision: 7,
            members: vec![member("a", 1, 7), member("b", 1, 7), member("c", 1, 7)],
            planned: false,
        };
        assert!(cluster.agree());
        assert!(cluster.expect_agree().is_ok());
        // The same hash of another revision (a write in between) is no agreement.
        cluster.members[2] = member("c", 1, 8);
        assert!(!cluster.agree());
        let error = cluster.expect_agree().unwrap_err().to_string();
        assert!(
            error.contains("c (https://c:2379): hashed revision 8, most members revision 7"),
            "{error}"
        );
        cluster.members[2] = member("c", 2, 7);
        let error = cluster.expect_agree().unwrap_err().to_string();
        assert!(
            error.contains("c (https://c:2379): hash 2 differs from 1"),
            "{error}"
        );
        assert_eq!(cluster.majority_hash(), Some(1));
    }

    #[test]
    fn a_planned_report_agrees_and_prints_planned() {
        let cluster = ClusterHashKv {
            planned: true,
            ..ClusterHashKv {
                revision: 0,
                members: vec![member("a", 0, 0)],
                planned: false,
            }
        };
        assert!(cluster.agree());
        assert!(
            cluster.table().contains("| (planned) |"),
            "{}",
            cluster.table()
        );
    }

    #[test]
    fn compacted_answers_are_recognised() {
        assert!(is_compacted(
            "etcdserver: mvcc: required revision has been compacted"
        ));
        assert!(!is_compacted(
            "etcdserver: mvcc: required revision is a future revision"
        ));
    }
}
