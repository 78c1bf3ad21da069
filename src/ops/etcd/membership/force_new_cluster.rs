//! Starting the first member of a rebuilt cluster with `ETCD_FORCE_NEW_CLUSTER=true`,
//! as the procedure does after `etcdctl migrate`: add the line (keeping a copy of
//! etcd.conf), start, wait until ready, put etcd.conf back, restart, wait again,
//! and make sure the member advertises the inventory's peer URL.

use crate::duration::format_duration;
use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::host::conf_edit::EnvFile;
use crate::ops::etcd::host::member_host::{stamp, MemberHost};
use crate::ops::etcd::membership::error::MembershipError;
use crate::ops::etcd::membership::members::{list, request};
use crate::ops::etcd::membership::ready::{wait_ready, Readiness};
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
    /// It already ran as a one-member cluster (an interrupted run got that far).
    pub resumed: bool,
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
    if first.is_running(cancel).await? {
        return resume(access, first, readiness, reporter, cancel).await;
    }

    let stamp = stamp();
    reporter.status(&format!(
        "{}: starting etcd with ETCD_FORCE_NEW_CLUSTER=true",
        first.name()
    ));
    let (as_found, backup) = first
        .edit_conf(&stamp, cancel, |conf| {
            conf.set("ETCD_FORCE_NEW_CLUSTER", "true")
        })
        .await?;
    // What to put back: etcd.conf as found, minus a force flag an interrupted run left in it
    // (kept, it would cut the cluster down again at the next restart).
    let original = {
        let mut conf = EnvFile::parse(&as_found);
        if conf.remove("ETCD_FORCE_NEW_CLUSTER") {
            conf.render()
        } else {
            as_found
        }
    };
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
    settle(access, first, backup, false, reporter).await
}

/// `first` already runs: if it is alone in its cluster, an interrupted run got this far;
/// finish the job (drop a force flag still in etcd.conf, restart). Otherwise refuse.
async fn resume(
    access: &EtcdAccess,
    first: &MemberHost,
    readiness: Readiness,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<ForcedCluster, MembershipError> {
    let running = || MembershipError::Running {
        host: first.member.host.name.clone(),
        operation: "start a new cluster",
    };
    let mut client = access
        .v3_member(&first.member)
        .await
        .map_err(|_| running())?;
    let members = list(&mut client, &first.member.endpoint.client_url)
        .await
        .map_err(|_| running())?;
    let alone = matches!(members.as_slice(), [only] if only.name == first.member.name);
    if !alone {
        return Err(running());
    }
    reporter.status(&format!(
        "{}: already runs as a one-member cluster",
        first.name()
    ));
    let mut backup = String::new();
    let conf = first.read_conf(cancel).await?;
    if EnvFile::parse(&conf)
        .get("ETCD_FORCE_NEW_CLUSTER")
        .is_some()
    {
        let (_, copy) = first
            .edit_conf(&stamp(), cancel, |conf| {
                conf.remove("ETCD_FORCE_NEW_CLUSTER");
            })
            .await?;
        backup = copy;
        reporter.status(&format!(
            "{}: restarting etcd without the force flag",
            first.name()
        ));
        first.service(ServiceAction::Restart, cancel).await?;
        wait(access, first, readiness, &backup, cancel).await?;
    }
    settle(access, first, backup, true, reporter).await
}

/// Checks the cluster has only `first`, and sets its peer URL to the inventory's.
async fn settle(
    access: &EtcdAccess,
    first: &MemberHost,
    conf_backup: String,
    resumed: bool,
    reporter: &Reporter,
) -> Result<ForcedCluster, MembershipError> {
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
        conf_backup,
        peer_url_updated,
        resumed,
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
