//! Starting the first member of a rebuilt cluster with `ETCD_FORCE_NEW_CLUSTER=true`,
//! as the procedure does after `etcdctl migrate`: add the line (keeping a copy of
//! etcd.conf), start, wait until ready, put etcd.conf back, restart, wait again,
//! and make sure the member advertises the inventory's peer URL.

use super::access::EtcdAccess;
use super::member_host::{stamp, MemberHost};
use super::member_ready::{wait_ready, Readiness};
use super::membership::{list, request};
use super::membership_error::MembershipError;
use crate::duration::format_duration;
use crate::ops::service::ServiceAction;
use crate::report::Reporter;
use tokio_util::sync::CancellationToken;

/// What force-new-cluster left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForcedCluster {
    pub host: String,
    pub member_id: String,
    pub peer_url: String,
    /// The copy of etcd.conf taken before it was changed.
    pub conf_backup: String,
    /// The peer URL had to be corrected to the inventory's.
    pub peer_url_updated: bool,
}

/// Runs force-new-cluster on `first`; `others` are the cluster's other members,
/// which must all be stopped.
pub async fn force_new_cluster(
    access: &EtcdAccess,
    first: &MemberHost,
    others: &[MemberHost],
    readiness: Readiness,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<ForcedCluster, MembershipError> {
    let operation = "start a new cluster";
    if first.is_running(cancel).await? {
        return Err(MembershipError::Running {
            host: first.member.host.name.clone(),
            operation,
        });
    }
    let mut running = Vec::new();
    for other in others {
        if other.is_running(cancel).await? {
            running.push(other.member.host.name.clone());
        }
    }
    if !running.is_empty() {
        return Err(MembershipError::StillRunning {
            hosts: running.join(", "),
            operation: "force-new-cluster",
        });
    }

    let stamp = stamp();
    reporter.status(&format!(
        "{}: starting etcd with ETCD_FORCE_NEW_CLUSTER=true",
        first.name()
    ));
    let (original, backup) = first
        .edit_conf(&stamp, cancel, |conf| {
            conf.set("ETCD_FORCE_NEW_CLUSTER", "true")
        })
        .await?;
    if let Err(error) = start_and_wait(access, first, readiness, &backup, cancel).await {
        // Never leave the force flag behind: a later restart would cut the cluster again.
        let _ = first.service(ServiceAction::Stop, cancel).await;
        let _ = first.write_conf(&original, cancel).await;
        return Err(error);
    }

    reporter.status(&format!(
        "{}: restarting etcd without the force flag",
        first.name()
    ));
    first.write_conf(&original, cancel).await?;
    first.service(ServiceAction::Restart, cancel).await?;
    wait(access, first, readiness, &backup, cancel).await?;

    let mut client = access.v3_member(&first.member).await?;
    let via = first.member.endpoint.client_url.clone();
    let members = list(&mut client, &via).await?;
    let [only] = members.as_slice() else {
        return Err(MembershipError::NotSingleMember {
            host: first.member.host.name.clone(),
            count: members.len(),
        });
    };
    let peer_url_updated = !only.peer_urls.contains(&first.member.peer_url);
    if peer_url_updated {
        reporter.status(&format!(
            "{}: peer URL {:?} -> {} (from the inventory)",
            first.name(),
            only.peer_urls,
            first.member.peer_url
        ));
        client
            .member_update(only.numeric_id(), vec![first.member.peer_url.clone()])
            .await
            .map_err(|e| request("member update", &via, e))?;
    }
    Ok(ForcedCluster {
        host: first.member.host.name.clone(),
        member_id: only.id.clone(),
        peer_url: first.member.peer_url.clone(),
        conf_backup: backup,
        peer_url_updated,
    })
}

async fn start_and_wait(
    access: &EtcdAccess,
    member: &MemberHost,
    readiness: Readiness,
    backup: &str,
    cancel: &CancellationToken,
) -> Result<u64, MembershipError> {
    member.service(ServiceAction::Start, cancel).await?;
    wait(access, member, readiness, backup, cancel).await
}

/// Waits until `member` serves with a leader; errors name the member and the conf backup.
pub async fn wait(
    access: &EtcdAccess,
    member: &MemberHost,
    readiness: Readiness,
    backup: &str,
    cancel: &CancellationToken,
) -> Result<u64, MembershipError> {
    wait_ready(access, &member.member, None, readiness, cancel)
        .await
        .map_err(|last| MembershipError::NotReady {
            member: member.name().to_string(),
            waited: format_duration(readiness.timeout),
            last,
            backup: backup.to_string(),
        })
}
