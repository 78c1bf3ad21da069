//! Starting the first member of a rebuilt cluster with `ETCD_FORCE_NEW_CLUSTER=true`,
//! as the procedure does after `etcdctl migrate`: add the line (keeping a copy of
//! etcd.conf), start, wait until ready, put etcd.conf back, restart, wait again.
//! The restart can be left out (`restart: false`): the flag acts only while etcd boots, and
//! once etcd.conf is back every later start (systemd, `docker run`, runc) reads it without
//! the flag, so the restart only costs a second load of the whole store.
//! The member keeps the peer URL its data holds; changing it is `member update`, asked for
//! on its own.
//!
//! After `etcdctl migrate` the v3 backend's consistent index is the last entry of the WAL,
//! committed or not; force-new-cluster drops the uncommitted ones and goes on from the
//! commit index. etcd applies no v3 request at an index at or below the consistent index
//! and never answers it, so the first writes after the start would hang and be lost. Such
//! a gap is filled first, with `member update`s that change nothing (a conf change is
//! applied and answered at any index). One exception puts the member's own URL back: data restored from an
//! `etcdctl backup` forgets it and advertises etcd's default, `http://localhost:2380`.

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
    /// The peer URLs the member advertises (kept from its data).
    pub peer_urls: Vec<String>,
    /// The copy of etcd.conf taken before it was changed.
    pub conf_backup: String,
    /// The member advertised etcd's default peer URL (restored backup data) and was given
    /// its own again.
    pub peer_url_restored: bool,
    /// It already ran as a one-member cluster (an interrupted run got that far).
    pub resumed: bool,
}

/// How to start the new cluster.
#[derive(Debug, Clone, Copy)]
pub struct ForceOptions {
    /// Restart etcd once etcd.conf no longer has the force flag.
    pub restart: bool,
    /// The consistent index `etcdctl migrate` gave the backend, when the data was migrated.
    pub migrated_index: Option<u64>,
    pub readiness: Readiness,
}

/// Runs force-new-cluster on `first`; `others` are the cluster's other members,
/// which must all be stopped.
pub async fn force_new_cluster(
    access: &EtcdAccess,
    first: &MemberHost,
    others: &[MemberHost],
    options: ForceOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<ForcedCluster, MembershipError> {
    let ForceOptions {
        restart,
        migrated_index,
        readiness,
    } = options;
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
        let forced = resume(access, first, restart, readiness, reporter, cancel).await?;
        return past_migrated_index(access, first, forced, migrated_index, reporter).await;
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

    first.write_conf(&original, cancel).await?;
    if restart {
        restart_without_flag(access, first, readiness, &backup, reporter, cancel).await?;
    } else {
        reporter.status(&format!(
            "{}: the force flag is out of etcd.conf again (no later start reads it)",
            first.name()
        ));
    }
    let forced = settle(access, first, backup, false, reporter).await?;
    past_migrated_index(access, first, forced, migrated_index, reporter).await
}

/// The most no-op conf changes spent to close the gap (each is one raft entry).
const MAX_FILLERS: u64 = 100_000;

/// Fills the raft log up past `migrated_index` (the consistent index `etcdctl migrate` gave
/// the backend), so the next write is applied.
async fn past_migrated_index(
    access: &EtcdAccess,
    first: &MemberHost,
    forced: ForcedCluster,
    migrated_index: Option<u64>,
    reporter: &Reporter,
) -> Result<ForcedCluster, MembershipError> {
    let Some(migrated_index) = migrated_index else {
        return Ok(forced);
    };
    let id = u64::from_str_radix(&forced.member_id, 16).unwrap_or(0);
    fill_past_index(
        access,
        &first.member,
        id,
        &forced.peer_urls,
        migrated_index,
        reporter,
    )
    .await?;
    Ok(forced)
}

/// Spends `member update`s that change nothing (member `id` keeps `peer_urls`) until the
/// member's raft index is past `migrated_index`; returns how many it took.
pub async fn fill_past_index(
    access: &EtcdAccess,
    member: &crate::ops::etcd::EtcdMember,
    id: u64,
    peer_urls: &[String],
    migrated_index: u64,
    reporter: &Reporter,
) -> Result<u64, MembershipError> {
    let via = member.endpoint.client_url.clone();
    let mut client = access.v3_member(member).await?;
    let mut fillers = 0;
    loop {
        let status = client
            .status()
            .await
            .map_err(|e| request("status", &via, e))?;
        let at = status.raft_index();
        if at > migrated_index {
            break;
        }
        if fillers >= MAX_FILLERS {
            return Err(MembershipError::Request {
                operation: "member update",
                endpoints: via,
                reason: format!(
                    "the raft index is still {at} after {fillers} updates, at or below {migrated_index}"
                ),
            });
        }
        client
            .member_update(id, peer_urls.to_vec())
            .await
            .map_err(|e| request("member update", &via, e))?;
        fillers += 1;
    }
    if fillers > 0 {
        reporter.status(&format!(
            "{}: the raft log restarted at or below index {migrated_index}, which etcdctl migrate gave the migrated data: etcd would apply no write there, so {fillers} member update(s) that change nothing filled it",
            member.host_name()
        ));
    }
    Ok(fillers)
}

/// `first` already runs: if it is alone in its cluster, an interrupted run got this far;
/// finish the job (drop a force flag still in etcd.conf, restart if asked). Otherwise refuse.
async fn resume(
    access: &EtcdAccess,
    first: &MemberHost,
    restart: bool,
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
        if restart {
            restart_without_flag(access, first, readiness, &backup, reporter, cancel).await?;
        }
    }
    settle(access, first, backup, true, reporter).await
}

/// etcd's peer URL when none is configured: what data restored from `etcdctl backup` has.
const ETCD_DEFAULT_PEER_URL: &str = "http://localhost:2380";

/// Checks the cluster has only `first`. Its peer URLs are what its data holds: a URL other
/// than the one `first` is known by is reported, never rewritten here, unless it is etcd's
/// default (restored backup data), which becomes the member's own URL again.
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
    let own = &first.member.peer_url;
    let mut peer_urls = only.peer_urls.clone();
    let restored = peer_urls == [ETCD_DEFAULT_PEER_URL] && own != ETCD_DEFAULT_PEER_URL;
    if restored {
        reporter.status(&format!(
            "{}: the restored data advertises etcd's default peer URL {ETCD_DEFAULT_PEER_URL}; set back to the member's own, {own}",
            first.name()
        ));
        client
            .member_update(only.numeric_id(), vec![own.clone()])
            .await
            .map_err(|e| request("member update", &via, e))?;
        peer_urls = vec![own.clone()];
    } else if !peer_urls.contains(own) {
        reporter.status(&format!(
            "{}: the member advertises the peer URL {} (kept; {own} was expected: change it only with etcd.member_update)",
            first.name(),
            peer_urls.join(","),
        ));
    }
    Ok(ForcedCluster {
        host: first.member.host.name.clone(),
        member_id: only.id.clone(),
        peer_urls,
        conf_backup,
        peer_url_restored: restored,
        resumed,
    })
}

/// Restarts `first` once etcd.conf no longer has the force flag, and waits until it serves.
async fn restart_without_flag(
    access: &EtcdAccess,
    first: &MemberHost,
    readiness: Readiness,
    backup: &str,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<u64, MembershipError> {
    reporter.status(&format!(
        "{}: restarting etcd without the force flag",
        first.name()
    ));
    first.service(ServiceAction::Restart, cancel).await?;
    wait(access, first, readiness, backup, cancel).await
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
