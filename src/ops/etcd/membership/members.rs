//! Cluster membership: list, add (tolerating a retried add; as a learner where etcd has
//! learners), promote a learner, remove, and the `ETCD_INITIAL_CLUSTER` string a joining
//! member needs.

use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::membership::error::MembershipError;
use std::time::Duration;

/// A member as the cluster knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClusterMember {
    /// Hex, as `etcdctl member list` prints it.
    pub id: String,
    /// Empty until the member has started.
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

impl ClusterMember {
    fn from_etcd(member: &etcd_client::Member) -> ClusterMember {
        ClusterMember {
            id: format!("{:x}", member.id()),
            name: member.name().to_string(),
            peer_urls: member.peer_urls().to_vec(),
            client_urls: member.client_urls().to_vec(),
            is_learner: member.is_learner(),
        }
    }

    pub fn numeric_id(&self) -> u64 {
        u64::from_str_radix(&self.id, 16).unwrap_or(0)
    }
}

/// A v3 client through whichever of `members` answers first, and which one it was.
pub async fn client_through(
    access: &EtcdAccess,
    members: &[&EtcdMember],
    operation: &'static str,
) -> Result<(etcd_client::Client, EtcdMember), MembershipError> {
    let mut tried = Vec::new();
    for member in members {
        match access.v3_member(member).await {
            Ok(mut client) => match client.status().await {
                Ok(_) => return Ok((client, (*member).clone())),
                Err(err) => tried.push(format!("{}: {err}", member.name)),
            },
            Err(err) => tried.push(format!("{}: {err}", member.name)),
        }
    }
    Err(MembershipError::NoRunningMember {
        operation,
        tried: tried.join("; "),
    })
}

/// The members of the cluster, as seen through `client`.
pub async fn list(
    client: &mut etcd_client::Client,
    via: &str,
) -> Result<Vec<ClusterMember>, MembershipError> {
    let response = client
        .member_list()
        .await
        .map_err(|e| request("member list", via, e))?;
    Ok(response
        .members()
        .iter()
        .map(ClusterMember::from_etcd)
        .collect())
}

/// What `member add` produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub id: String,
    /// `name=peer_url,...` for every member, the new one included, for `ETCD_INITIAL_CLUSTER`.
    pub initial_cluster: String,
    /// The member was already in the list (an earlier add that was not followed by a start).
    pub already_present: bool,
    /// It is a learner: it must be promoted once it has caught up.
    pub is_learner: bool,
}

/// How often, and how many times, a refused `member add` is tried.
const ADD_ATTEMPTS: u32 = 25;
const ADD_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// Adds `member` (by its inventory peer URL), as a learner when `learner`, retrying
/// transient failures; a member with that peer URL already in the cluster is accepted as
/// added.
pub async fn add(
    client: &mut etcd_client::Client,
    via: &str,
    member: &EtcdMember,
    learner: bool,
) -> Result<Added, MembershipError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let existing = list(client, via).await?;
        if let Some(found) = existing
            .iter()
            .find(|m| m.peer_urls.contains(&member.peer_url))
        {
            if !found.name.is_empty() && found.name != member.name {
                return Err(MembershipError::Request {
                    operation: "member add",
                    endpoints: via.to_string(),
                    reason: format!(
                        "peer URL {} already belongs to member {}",
                        member.peer_url, found.name
                    ),
                });
            }
            return Ok(Added {
                id: found.id.clone(),
                initial_cluster: initial_cluster(&existing, member),
                already_present: true,
                is_learner: found.is_learner,
            });
        }
        let options = learner.then(|| etcd_client::MemberAddOptions::new().with_is_learner());
        match client.member_add([member.peer_url.as_str()], options).await {
            Ok(response) => {
                let members: Vec<ClusterMember> = response
                    .member_list()
                    .iter()
                    .map(ClusterMember::from_etcd)
                    .collect();
                let id = response
                    .member()
                    .map(|m| format!("{:x}", m.id()))
                    .unwrap_or_default();
                return Ok(Added {
                    id,
                    initial_cluster: initial_cluster(&members, member),
                    already_present: false,
                    is_learner: learner,
                });
            }
            // etcd refuses an add ("unhealthy cluster") until the last member to join has been
            // connected for a few seconds: ask again often, within the same 12 s budget.
            Err(err) if attempt < ADD_ATTEMPTS => {
                tracing::info!(member = %member.name, attempt, error = %err, "member add refused, retrying");
                tokio::time::sleep(ADD_RETRY_INTERVAL).await;
            }
            Err(err) => return Err(request("member add", via, err)),
        }
    }
}

/// Whether the cluster's etcd has learners (3.4 and later), by the version `client`'s
/// member reports.
pub async fn has_learners(client: &mut etcd_client::Client) -> bool {
    match client.status().await {
        Ok(status) => version_has_learners(status.version()),
        Err(error) => {
            tracing::info!(%error, "no etcd version: members join as voters");
            false
        }
    }
}

/// `3.4.x` and later have learners.
fn version_has_learners(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (3, 4)
}

/// How long one `member promote` may take.
const PROMOTE_TRY: Duration = Duration::from_secs(10);

/// Promotes learner `id` to a voting member, asking again while etcd says it has not caught
/// up with the leader, until `timeout`.
pub async fn promote(
    client: &mut etcd_client::Client,
    via: &str,
    id: &str,
    timeout: Duration,
) -> Result<(), MembershipError> {
    let numeric = u64::from_str_radix(id, 16).unwrap_or(0);
    let started = std::time::Instant::now();
    loop {
        // Without a leader the request may not be answered: each try is bounded.
        let tried = tokio::time::timeout(PROMOTE_TRY, client.member_promote(numeric)).await;
        let retry = |reason: String| {
            tracing::info!(id, %reason, "learner not promoted yet, promoting again");
        };
        match tried {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(err)) if started.elapsed() < timeout && err.to_string().contains("in sync") => {
                retry(err.to_string());
            }
            Err(_) if started.elapsed() < timeout => retry("no answer".into()),
            Ok(Err(err)) => return Err(request("member promote", via, err)),
            Err(_) => {
                return Err(MembershipError::Request {
                    operation: "member promote",
                    endpoints: via.to_string(),
                    reason: format!("no answer within {}s", PROMOTE_TRY.as_secs()),
                })
            }
        }
        tokio::time::sleep(ADD_RETRY_INTERVAL).await;
    }
}

/// The cluster member that is `member` (by name or peer URL).
async fn find(
    client: &mut etcd_client::Client,
    via: &str,
    member: &EtcdMember,
) -> Result<ClusterMember, MembershipError> {
    list(client, via)
        .await?
        .into_iter()
        .find(|m| m.name == member.name || m.peer_urls.contains(&member.peer_url))
        .ok_or_else(|| MembershipError::NotAMember {
            name: member.name.clone(),
            peer_url: member.peer_url.clone(),
        })
}

/// Removes the cluster member that is `member` (by name or peer URL).
pub async fn remove(
    client: &mut etcd_client::Client,
    via: &str,
    member: &EtcdMember,
) -> Result<ClusterMember, MembershipError> {
    let found = find(client, via, member).await?;
    client
        .member_remove(found.numeric_id())
        .await
        .map_err(|e| request("member remove", via, e))?;
    Ok(found)
}

/// `member update`: gives the cluster member that is `member` (by name or peer URL) the peer
/// URLs `peer_urls`. Returns the member as it was before.
pub async fn update(
    client: &mut etcd_client::Client,
    via: &str,
    member: &EtcdMember,
    peer_urls: Vec<String>,
) -> Result<ClusterMember, MembershipError> {
    let found = find(client, via, member).await?;
    client
        .member_update(found.numeric_id(), peer_urls)
        .await
        .map_err(|e| request("member update", via, e))?;
    Ok(found)
}

/// `ETCD_INITIAL_CLUSTER` for `joining`: every started member by its name, plus the joining one.
pub fn initial_cluster(members: &[ClusterMember], joining: &EtcdMember) -> String {
    let mut entries: Vec<String> = Vec::new();
    for m in members {
        let name = if m.peer_urls.contains(&joining.peer_url) {
            joining.name.as_str()
        } else {
            m.name.as_str()
        };
        if name.is_empty() {
            continue; // another unstarted member: not part of this join
        }
        for url in &m.peer_urls {
            entries.push(format!("{name}={url}"));
        }
    }
    if !members
        .iter()
        .any(|m| m.peer_urls.contains(&joining.peer_url))
    {
        entries.push(format!("{}={}", joining.name, joining.peer_url));
    }
    entries.join(",")
}

pub fn request(operation: &'static str, via: &str, error: etcd_client::Error) -> MembershipError {
    MembershipError::Request {
        operation,
        endpoints: via.to_string(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learners_from_etcd_3_4_on() {
        assert!(version_has_learners("3.4.27"));
        assert!(version_has_learners("3.5.0"));
        assert!(version_has_learners("4.0"));
        assert!(!version_has_learners("3.3.11"));
        assert!(!version_has_learners("3.2.22"));
        assert!(!version_has_learners(""));
    }
}
