//! Who each inventory host is in the etcd cluster. The inventory says which hosts take part;
//! the cluster says what they are called and where they listen (`member list`), and each
//! host's `etcd.conf` says where its data is (`ETCD_DATA_DIR`) and, when the cluster is down,
//! its name and URLs. The migration acts on these, so it never renames a member or moves
//! its peer URL to match what the inventory guessed.

use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::conf_edit::EnvFile;
use crate::ops::etcd::membership::members::{list, ClusterMember};
use crate::transport::Transport;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Where a member's identity was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The running cluster's `member list`.
    Cluster,
    /// The host's `etcd.conf` (the cluster did not list the host, or did not answer).
    EtcdConf,
    /// Neither could be read: the inventory's values.
    Inventory,
}

/// One inventory host's member: its name, URLs and data dir.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// Inventory name of the host.
    pub host: String,
    /// The member's name (`ETCD_NAME`).
    pub name: String,
    /// Hex member id, when the cluster listed it.
    pub id: Option<String>,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    /// The data directory on the host.
    pub data_dir: String,
    pub source: Source,
}

/// Every inventory host's identity, and what did not match.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identities {
    /// One per inventory host, in inventory order.
    pub members: Vec<Identity>,
    /// Members of the running cluster that no inventory host is.
    pub outsiders: Vec<ClusterMember>,
    /// Inventory hosts the running cluster does not list.
    pub not_members: Vec<String>,
    /// The client URL that answered `member list`; `None` when no member answered.
    pub asked: Option<String>,
}

/// Why the cluster and the inventory do not describe the same members.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum IdentityError {
    #[error("no etcd member answered `member list` ({tried}): the cluster's members cannot be matched to the inventory")]
    #[diagnostic(
        code(runbook::etcd::identity::no_cluster),
        help("start etcd on the members (the migration starts from a running cluster), or check etcd_ip and the TLS files in the inventory")
    )]
    NoCluster { tried: String },
    #[error("the inventory and the cluster do not list the same etcd members:\n{mismatch}\nmatched:\n{mapping}")]
    #[diagnostic(
        code(runbook::etcd::identity::mismatch),
        help("list every member of the cluster under [etcd], and only those: a member left out would be lost when the cluster is rebuilt, a host that is not a member has nothing to migrate. A host is matched to a member by ETCD_NAME in its etcd.conf, its client or peer URL (etcd_ip / openshift_ip, ports), or its name (etcd_hostname / openshift_hostname)")
    )]
    Mismatch { mismatch: String, mapping: String },
}

/// What a host's `etcd.conf` says about its member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfIdentity {
    pub name: Option<String>,
    pub data_dir: Option<String>,
    pub client_urls: Vec<String>,
    pub peer_urls: Vec<String>,
}

impl ConfIdentity {
    pub fn parse(text: &str) -> ConfIdentity {
        let conf = EnvFile::parse(text);
        let urls = |name: &str| conf.get(name).map(|v| split_urls(&v)).unwrap_or_default();
        ConfIdentity {
            name: conf.get("ETCD_NAME").filter(|n| !n.is_empty()),
            data_dir: conf.get("ETCD_DATA_DIR").filter(|d| !d.is_empty()),
            client_urls: urls("ETCD_ADVERTISE_CLIENT_URLS"),
            peer_urls: urls("ETCD_INITIAL_ADVERTISE_PEER_URLS"),
        }
    }
}

fn split_urls(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect()
}

/// A URL for comparison: no trailing slash, scheme and host in lower case.
fn normal(url: &str) -> String {
    url.trim().trim_end_matches('/').to_ascii_lowercase()
}

fn shares_url(a: &[String], b: &[String]) -> bool {
    a.iter().any(|x| b.iter().any(|y| normal(x) == normal(y)))
}

/// A host as identification sees it: the inventory's member and its etcd.conf, if read.
struct Candidate<'a> {
    member: &'a EtcdMember,
    conf: Option<ConfIdentity>,
}

impl Candidate<'_> {
    fn client_urls(&self) -> Vec<String> {
        let mut urls = self
            .conf
            .as_ref()
            .map(|c| c.client_urls.clone())
            .unwrap_or_default();
        urls.push(self.member.endpoint.client_url.clone());
        urls
    }

    fn peer_urls(&self) -> Vec<String> {
        let mut urls = self
            .conf
            .as_ref()
            .map(|c| c.peer_urls.clone())
            .unwrap_or_default();
        urls.push(self.member.peer_url.clone());
        urls
    }

    /// The inventory's member, reached at the client URL its etcd.conf advertises.
    fn as_advertised(&self) -> EtcdMember {
        let mut member = self.member.clone();
        if let Some(url) = self.conf.as_ref().and_then(|c| c.client_urls.first()) {
            member.endpoint.client_url = url.clone();
        }
        member
    }

    /// Which of `members` this host is: by ETCD_NAME, then by URL, then by the inventory's name.
    fn find(&self, members: &[ClusterMember], taken: &[bool]) -> Option<usize> {
        let free = |i: &usize| !taken[*i];
        let unique = |hits: Vec<usize>| match hits.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        let by = |test: &dyn Fn(&ClusterMember) -> bool| {
            unique(
                (0..members.len())
                    .filter(free)
                    .filter(|i| test(&members[*i]))
                    .collect(),
            )
        };
        let conf_name = self.conf.as_ref().and_then(|c| c.name.clone());
        conf_name
            .and_then(|name| by(&|m| m.name == name))
            .or_else(|| {
                by(&|m| {
                    shares_url(&m.peer_urls, &self.peer_urls())
                        || shares_url(&m.client_urls, &self.client_urls())
                })
            })
            .or_else(|| by(&|m| !m.name.is_empty() && m.name == self.member.name))
    }

    /// The identity from the host's own files (or the inventory) alone.
    fn alone(&self, layout_keeps_data_dir: bool) -> Identity {
        let member = self.member;
        let conf = self.conf.clone().unwrap_or_default();
        let source = if conf.name.is_some() {
            Source::EtcdConf
        } else {
            Source::Inventory
        };
        Identity {
            host: member.host_name().to_string(),
            name: conf.name.clone().unwrap_or_else(|| member.name.clone()),
            id: None,
            peer_urls: non_empty_or(conf.peer_urls.clone(), &member.peer_url),
            client_urls: non_empty_or(conf.client_urls.clone(), &member.endpoint.client_url),
            data_dir: data_dir(member, &conf, layout_keeps_data_dir),
            source,
        }
    }
}

fn non_empty_or(urls: Vec<String>, fallback: &str) -> Vec<String> {
    if urls.is_empty() {
        vec![fallback.to_string()]
    } else {
        urls
    }
}

/// `ETCD_DATA_DIR` from etcd.conf, except for a runc system container, whose etcd.conf (if
/// any) names the path inside the container; there the inventory's (derived) value holds.
fn data_dir(member: &EtcdMember, conf: &ConfIdentity, layout_keeps_data_dir: bool) -> String {
    match &conf.data_dir {
        Some(dir) if !layout_keeps_data_dir => dir.trim_end_matches('/').to_string(),
        _ => member.data_dir.clone(),
    }
}

fn is_runc(member: &EtcdMember) -> bool {
    matches!(
        member.host.var_str("runbook_etcd_layout").as_deref(),
        Some("runc" | "system_container")
    )
}

/// Reads every host's etcd.conf and the cluster's `member list`, and matches them. Hosts
/// whose transport or etcd.conf cannot be read keep the inventory's values; a cluster that
/// does not answer leaves every host to its etcd.conf.
pub async fn identify(
    access: &EtcdAccess,
    members: &[(EtcdMember, Arc<Transport>)],
    cancel: &CancellationToken,
) -> Identities {
    let mut candidates = Vec::with_capacity(members.len());
    for (member, transport) in members {
        let conf = match transport.read_file(&member.conf_file, cancel).await {
            Ok(bytes) => Some(ConfIdentity::parse(&String::from_utf8_lossy(&bytes))),
            Err(error) => {
                tracing::debug!(host = %member.host_name(), %error, "etcd.conf not read");
                None
            }
        };
        candidates.push(Candidate { member, conf });
    }

    let mut listed = None;
    for candidate in &candidates {
        let member = candidate.as_advertised();
        let answer = tokio::time::timeout(access.timeout(), async {
            let mut client = access.v3_member(&member).await.ok()?;
            list(&mut client, &member.endpoint.client_url).await.ok()
        })
        .await;
        if let Ok(Some(cluster)) = answer {
            listed = Some((cluster, member.endpoint.client_url.clone()));
            break;
        }
    }

    let Some((cluster, asked)) = listed else {
        return Identities {
            members: candidates
                .iter()
                .map(|c| c.alone(is_runc(c.member)))
                .collect(),
            outsiders: Vec::new(),
            not_members: Vec::new(),
            asked: None,
        };
    };
    let mut taken = vec![false; cluster.len()];
    let mut identities = Identities {
        asked: Some(asked),
        ..Identities::default()
    };
    for candidate in &candidates {
        match candidate.find(&cluster, &taken) {
            Some(i) => {
                taken[i] = true;
                let found = &cluster[i];
                let alone = candidate.alone(is_runc(candidate.member));
                identities.members.push(Identity {
                    // A member added but not started yet has no name in the list.
                    name: if found.name.is_empty() {
                        alone.name
                    } else {
                        found.name.clone()
                    },
                    id: Some(found.id.clone()),
                    peer_urls: found.peer_urls.clone(),
                    client_urls: if found.client_urls.is_empty() {
                        alone.client_urls
                    } else {
                        found.client_urls.clone()
                    },
                    source: Source::Cluster,
                    ..alone
                });
            }
            None => {
                identities
                    .not_members
                    .push(candidate.member.host_name().to_string());
                identities
                    .members
                    .push(candidate.alone(is_runc(candidate.member)));
            }
        }
    }
    identities.outsiders = cluster
        .into_iter()
        .zip(taken)
        .filter(|(_, taken)| !taken)
        .map(|(member, _)| member)
        .collect();
    identities
}

impl Identities {
    /// The identity of the host named `host`.
    pub fn of(&self, host: &str) -> Option<&Identity> {
        self.members.iter().find(|i| i.host == host)
    }

    /// Refuses unless the cluster answered and every host is a member and every member a host.
    pub fn expect_matched(&self, tried: &[String]) -> Result<(), IdentityError> {
        if self.asked.is_none() {
            return Err(IdentityError::NoCluster {
                tried: tried.join(", "),
            });
        }
        let mut mismatch = Vec::new();
        for host in &self.not_members {
            let seen = match self.of(host) {
                Some(i) if i.source == Source::EtcdConf => {
                    format!("its etcd.conf names {}", i.name)
                }
                Some(i) => format!(
                    "its etcd.conf was not read; the inventory calls it {} at {}",
                    i.name,
                    i.client_urls.join(",")
                ),
                None => "nothing is known of it".to_string(),
            };
            mismatch.push(format!(
                "  inventory host {host} is no member of the cluster ({seen})"
            ));
        }
        for member in &self.outsiders {
            mismatch.push(format!(
                "  cluster member {} ({}, peer {}) is no host of the inventory's [etcd]",
                if member.name.is_empty() {
                    "(not started)"
                } else {
                    &member.name
                },
                member.id,
                member.peer_urls.join(",")
            ));
        }
        if mismatch.is_empty() {
            return Ok(());
        }
        let mapping: Vec<String> = self
            .members
            .iter()
            .filter(|i| i.source == Source::Cluster)
            .map(|i| {
                format!(
                    "  {} is member {} (peer {})",
                    i.host,
                    i.name,
                    i.peer_urls.join(",")
                )
            })
            .collect();
        Err(IdentityError::Mismatch {
            mismatch: mismatch.join("\n"),
            mapping: if mapping.is_empty() {
                "  (none)".to_string()
            } else {
                mapping.join("\n")
            },
        })
    }

    /// The mapping as a table: host, member, id, peer and client URLs, data dir, source.
    pub fn table(&self) -> String {
        let rows: Vec<[String; 7]> = self
            .members
            .iter()
            .map(|i| {
                [
                    i.host.clone(),
                    i.name.clone(),
                    i.id.clone().unwrap_or_else(|| "-".into()),
                    i.peer_urls.join(","),
                    i.client_urls.join(","),
                    i.data_dir.clone(),
                    match i.source {
                        Source::Cluster => "member list",
                        Source::EtcdConf => "etcd.conf",
                        Source::Inventory => "inventory",
                    }
                    .to_string(),
                ]
            })
            .collect();
        let header = [
            "HOST",
            "MEMBER",
            "ID",
            "PEER URLS",
            "CLIENT URLS",
            "DATA DIR",
            "FROM",
        ]
        .map(str::to_string);
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        std::iter::once(&header)
            .chain(rows.iter())
            .map(|row| {
                row.iter()
                    .zip(widths)
                    .map(|(cell, w)| format!("{cell:w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Identity {
    /// Where the inventory's idea of this member differs from the member itself, one line
    /// each, naming the variables to correct. The member's own values are the ones used.
    pub fn differences_from(&self, inventory: &EtcdMember) -> Vec<String> {
        let mut notes = Vec::new();
        if inventory.name != self.name {
            notes.push(format!(
                "{}: the member is called {} (the inventory's etcd_hostname is {}): it keeps its name",
                self.host, self.name, inventory.name
            ));
        }
        let serves = |urls: &[String], url: &str| urls.iter().any(|u| normal(u) == normal(url));
        if self.source == Source::Cluster
            && !serves(&self.client_urls, &inventory.endpoint.client_url)
        {
            notes.push(format!(
                "{}: the inventory's client URL {} is not one the member advertises ({}): the member's own is used; \
                 correct etcd_ip (or openshift_ip) and etcd_client_port so other tools reach it too",
                self.host,
                inventory.endpoint.client_url,
                self.client_urls.join(",")
            ));
        }
        if self.source == Source::Cluster && !serves(&self.peer_urls, &inventory.peer_url) {
            notes.push(format!(
                "{}: the member's peer URL stays {} (the inventory's would be {}); \
                 etcd.member_update changes it when that is wanted",
                self.host,
                self.peer_urls.join(","),
                inventory.peer_url
            ));
        }
        if self.data_dir.trim_end_matches('/') != inventory.data_dir.trim_end_matches('/') {
            notes.push(format!(
                "{}: the data dir is {}, as ETCD_DATA_DIR in {} says (the inventory's etcd_data_dir is {})",
                self.host, self.data_dir, inventory.conf_file, inventory.data_dir
            ));
        }
        notes
    }
}

impl EtcdMember {
    /// The member as `identity` says it is: its own name, peer and client URL, data dir.
    /// The client URL is the inventory's when the member advertises it, else its first.
    pub fn with_identity(mut self, identity: &Identity) -> EtcdMember {
        self.name = identity.name.clone();
        if !identity
            .peer_urls
            .iter()
            .any(|u| normal(u) == normal(&self.peer_url))
        {
            if let Some(first) = identity.peer_urls.first() {
                self.peer_url = first.clone();
            }
        }
        let advertised = &identity.client_urls;
        if !advertised
            .iter()
            .any(|u| normal(u) == normal(&self.endpoint.client_url))
        {
            if let Some(first) = advertised.first() {
                self.endpoint.client_url = first.trim_end_matches('/').to_string();
            }
        }
        self.data_dir = identity.data_dir.clone();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_conf_gives_name_data_dir_and_urls() {
        let conf = ConfIdentity::parse(
            "# comment\nETCD_NAME=etcd-a.example.com\nETCD_DATA_DIR=/var/lib/etcd/\n\
             ETCD_ADVERTISE_CLIENT_URLS=https://10.0.0.11:2379,https://etcd-a:2379\n\
             ETCD_INITIAL_ADVERTISE_PEER_URLS=\"https://10.0.0.11:2380\"\n",
        );
        assert_eq!(conf.name.as_deref(), Some("etcd-a.example.com"));
        assert_eq!(conf.data_dir.as_deref(), Some("/var/lib/etcd/"));
        assert_eq!(
            conf.client_urls,
            ["https://10.0.0.11:2379", "https://etcd-a:2379"]
        );
        assert_eq!(conf.peer_urls, ["https://10.0.0.11:2380"]);
        assert!(shares_url(
            &["HTTPS://10.0.0.11:2380/".to_string()],
            &conf.peer_urls
        ));
    }
}
