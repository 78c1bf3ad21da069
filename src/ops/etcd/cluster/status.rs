//! Each member's status as `etcdctl endpoint status` reports it: id, version,
//! db size (and the part in use), leader, raft term, raft index and raft applied index.

use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::fanout::{ask_each, error_text, v3_error_text};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::cluster::table::{self, PLANNED};
use std::time::Duration;

/// What one member says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// Member id (etcdctl prints it in hex).
    pub id: u64,
    pub version: String,
    /// Size of the backend database in bytes.
    pub db_size: i64,
    /// Bytes of the backend database in use (etcd 3.4's `dbSizeInUse`; the rest is free
    /// pages a defragmentation gives back).
    pub db_size_in_use: i64,
    /// Id of the leader this member follows.
    pub leader: u64,
    pub raft_term: u64,
    pub raft_index: u64,
    /// Raft entries applied to the state machine (etcd 3.4 and later; 0 before).
    pub raft_applied_index: u64,
    /// Current revision of the member's key-value store.
    pub revision: i64,
}

impl EndpointStatus {
    pub fn is_leader(&self) -> bool {
        self.id != 0 && self.id == self.leader
    }
}

/// One member: who it is and its status, or why it could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// `ETCD_NAME` of the member.
    pub member: String,
    /// Inventory host it runs on.
    pub host: String,
    /// Client URL (and the ssh session when reached through a tunnel).
    pub endpoint: String,
    pub status: Result<EndpointStatus, String>,
}

/// Every member's status, in inventory order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    pub members: Vec<MemberStatus>,
    /// Only planned (`runbook check`): nobody was asked.
    pub planned: bool,
}

/// A member id as etcdctl prints it.
pub fn hex_id(id: u64) -> String {
    format!("{id:x}")
}

impl ClusterStatus {
    /// What a plan shows in place of the status of `members`: every member answers, its
    /// numbers 0.
    pub fn planned(members: &[EtcdMember]) -> ClusterStatus {
        ClusterStatus {
            members: members
                .iter()
                .map(|m| MemberStatus {
                    member: m.name.clone(),
                    host: m.host.name.clone(),
                    endpoint: m.endpoint.client_url.clone(),
                    status: Ok(EndpointStatus {
                        id: 0,
                        version: String::new(),
                        db_size: 0,
                        db_size_in_use: 0,
                        leader: 0,
                        raft_term: 0,
                        raft_index: 0,
                        raft_applied_index: 0,
                        revision: 0,
                    }),
                })
                .collect(),
            planned: true,
        }
    }

    /// The host of the member whose id is `id` among those that answered.
    pub fn host_of(&self, id: u64) -> Option<&str> {
        self.members.iter().find_map(|m| match &m.status {
            Ok(s) if id != 0 && s.id == id => Some(m.host.as_str()),
            _ => None,
        })
    }

    /// Every member answered.
    pub fn all_reachable(&self) -> bool {
        self.members.iter().all(|m| m.status.is_ok())
    }

    /// Smallest and largest raft index among members that answered.
    pub fn raft_index_range(&self) -> Option<(u64, u64)> {
        let indexes = self.members.iter().filter_map(|m| m.status.as_ref().ok());
        let (min, max) = indexes.fold((u64::MAX, 0), |(min, max), s| {
            (min.min(s.raft_index), max.max(s.raft_index))
        });
        (max >= min).then_some((min, max))
    }

    /// `etcd-1=120, etcd-2=unreachable (...)`: each member's raft index.
    pub fn raft_indexes_text(&self) -> String {
        self.members
            .iter()
            .map(|m| match &m.status {
                Ok(s) => format!("{}={}", m.member, s.raft_index),
                Err(e) => format!("{}=unreachable ({e})", m.member),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A table like `etcdctl endpoint status -w table`, plus the member names.
    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .members
            .iter()
            .map(|m| match &m.status {
                Ok(_) if self.planned => {
                    let mut row = vec![m.member.clone(), m.endpoint.clone()];
                    row.extend(std::iter::repeat_n(PLANNED.to_string(), 7));
                    row.push(String::new());
                    row
                }
                Ok(s) => vec![
                    m.member.clone(),
                    m.endpoint.clone(),
                    hex_id(s.id),
                    s.version.clone(),
                    format_size(s.db_size),
                    s.is_leader().to_string(),
                    s.raft_term.to_string(),
                    s.raft_index.to_string(),
                    s.raft_applied_index.to_string(),
                    String::new(),
                ],
                Err(e) => {
                    let mut row = vec![m.member.clone(), m.endpoint.clone()];
                    row.extend(std::iter::repeat_n(String::new(), 7));
                    row.push(e.clone());
                    row
                }
            })
            .collect();
        table::render(
            &[
                "MEMBER",
                "ENDPOINT",
                "ID",
                "VERSION",
                "DB SIZE",
                "IS LEADER",
                "RAFT TERM",
                "RAFT INDEX",
                "RAFT APPLIED INDEX",
                "ERRORS",
            ],
            &rows,
        )
    }
}

/// Bytes as etcdctl's table shows them (`20 kB`, `1.2 MB`).
fn format_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Asks every member for its status, concurrently, each within `timeout`.
pub async fn collect(
    access: &EtcdAccess,
    members: &[EtcdMember],
    timeout: Duration,
) -> ClusterStatus {
    let answers = ask_each(members, timeout, |member| member_status(access, member)).await;
    let mut statuses = Vec::with_capacity(members.len());
    for (member, status) in members.iter().zip(answers) {
        let endpoint = access.endpoint_text(member).await;
        statuses.push(MemberStatus {
            member: member.name.clone(),
            host: member.host.name.clone(),
            endpoint,
            status,
        });
    }
    ClusterStatus {
        members: statuses,
        planned: false,
    }
}

async fn member_status(access: &EtcdAccess, member: &EtcdMember) -> Result<EndpointStatus, String> {
    let mut client = access.v3_member(member).await.map_err(|e| error_text(&e))?;
    let status = client.status().await.map_err(|e| v3_error_text(&e))?;
    let header = status.header();
    Ok(EndpointStatus {
        id: header.map(|h| h.member_id()).unwrap_or(0),
        version: status.version().to_string(),
        db_size: status.db_size(),
        db_size_in_use: status.raft_used_db_size(),
        leader: status.leader(),
        raft_term: status.raft_term(),
        raft_index: status.raft_index(),
        raft_applied_index: status.raft_applied_index(),
        revision: header.map(|h| h.revision()).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_etcdctl() {
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(20_480), "20.5 kB");
        assert_eq!(format_size(1_234_567), "1.2 MB");
    }

    #[test]
    fn index_range_ignores_unreachable_members() {
        let ok = |member: &str, raft_index| MemberStatus {
            member: member.into(),
            host: member.into(),
            endpoint: String::new(),
            status: Ok(EndpointStatus {
                id: 1,
                version: "3.4.23".into(),
                db_size: 0,
                db_size_in_use: 0,
                leader: 1,
                raft_term: 2,
                raft_index,
                raft_applied_index: raft_index,
                revision: 1,
            }),
        };
        let mut cluster = ClusterStatus {
            members: vec![ok("a", 10), ok("b", 12)],
            planned: false,
        };
        assert_eq!(cluster.raft_index_range(), Some((10, 12)));
        cluster.members.push(MemberStatus {
            status: Err("refused".into()),
            ..ok("c", 0)
        });
        assert_eq!(cluster.raft_index_range(), Some((10, 12)));
        assert!(!cluster.all_reachable());
        assert!(cluster
            .raft_indexes_text()
            .contains("c=unreachable (refused)"));
    }
}
