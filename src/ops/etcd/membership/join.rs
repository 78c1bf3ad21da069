//! Adding a member back to a running cluster, as the procedure's scale-up does:
//! move its old data aside (never delete it), `member add`, rewrite its etcd.conf
//! (`ETCD_NAME`, `ETCD_INITIAL_CLUSTER_STATE=existing`, `ETCD_INITIAL_CLUSTER`, its
//! advertised peer URL), start it, and wait until it has caught up. On etcd 3.4 and later
//! it joins as a learner and is promoted once caught up, so the cluster's quorum never
//! counts a member that is still receiving its data.

use crate::duration::format_duration;
use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::member_host::{stamp, MemberHost};
use crate::ops::etcd::membership::error::MembershipError;
use crate::ops::etcd::membership::members::{add, client_through, has_learners, list, promote};
use crate::ops::etcd::membership::ready::{wait_ready, Readiness};
use crate::ops::service::ServiceAction;
use crate::report::Reporter;
use tokio_util::sync::CancellationToken;

/// What a join did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub host: String,
    pub member_id: String,
    /// Where the old `member` directory went, if there was one.
    pub moved_to: Option<String>,
    pub initial_cluster: String,
    pub conf_backup: String,
    pub raft_index: u64,
    /// It was already a running member (a join finished by an interrupted run).
    pub already_joined: bool,
    /// It joined as a learner and was promoted to a voting member.
    pub promoted: bool,
}

/// Joins `joining` (stopped) to the cluster that `running` members serve: as a learner
/// where etcd has learners, unless `learner` is `Some(false)`.
pub async fn join(
    access: &EtcdAccess,
    joining: &MemberHost,
    running: &[&EtcdMember],
    learner: Option<bool>,
    readiness: Readiness,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Joined, MembershipError> {
    let (mut client, through) = client_through(access, running, "add a member").await?;
    let learners = learner != Some(false) && has_learners(&mut client).await;
    if joining.is_running(cancel).await? {
        // A join that an interrupted run already finished: the member runs and is in the cluster.
        let members = list(&mut client, &through.endpoint.client_url).await?;
        let Some(found) = members.iter().find(|m| {
            m.name == joining.member.name && m.peer_urls.contains(&joining.member.peer_url)
        }) else {
            return Err(MembershipError::Running {
                host: joining.member.host.name.clone(),
                operation: "join the cluster",
            });
        };
        let raft_index = wait_ready(access, &joining.member, Some(&through), readiness, cancel)
            .await
            .map_err(|last| MembershipError::NotReady {
                member: joining.member.name.clone(),
                waited: format_duration(readiness.timeout),
                last,
                backup: joining.member.conf_file.clone(),
            })?;
        reporter.status(&format!(
            "{}: already a running member ({})",
            joining.name(),
            found.id
        ));
        let promoted = found.is_learner;
        if promoted {
            promote_caught_up(
                &mut client,
                &through,
                joining,
                &found.id,
                readiness,
                reporter,
            )
            .await?;
        }
        return Ok(Joined {
            host: joining.member.host.name.clone(),
            member_id: found.id.clone(),
            moved_to: None,
            initial_cluster: String::new(),
            conf_backup: String::new(),
            raft_index,
            already_joined: true,
            promoted,
        });
    }
    let stamp = stamp();
    let earlier_add = list(&mut client, &through.endpoint.client_url)
        .await?
        .into_iter()
        .find(|m| m.peer_urls.contains(&joining.member.peer_url));
    let moved_to = match earlier_add {
        // An interrupted join moved the old data aside before its `member add`: a `member`
        // dir now is what its etcd wrote as this member. It must start from that: the
        // leader remembers how far that log got, and a member that comes back with an
        // empty log panics (`tocommit(N) is out of range [lastIndex(0)]`).
        Some(found) => {
            reporter.status(&format!(
                "{}: already added as member {} by an interrupted run; starting it with the data it has",
                joining.name(),
                found.id
            ));
            None
        }
        None => {
            let moved_to = joining.move_member_dir_aside(&stamp, cancel).await?;
            if let Some(moved) = &moved_to {
                reporter.status(&format!("{}: old data moved to {moved}", joining.name()));
            }
            moved_to
        }
    };
    let added = add(
        &mut client,
        &through.endpoint.client_url,
        &joining.member,
        learners,
    )
    .await?;
    reporter.status(&format!(
        "{}: added as member {}{} ({})",
        joining.name(),
        added.id,
        if added.is_learner {
            ", a learner until it has caught up"
        } else {
            ""
        },
        added.initial_cluster
    ));

    let member = &joining.member;
    let (_, backup) = joining
        .edit_conf(&stamp, cancel, |conf| {
            conf.set("ETCD_NAME", &member.name);
            conf.set("ETCD_INITIAL_CLUSTER_STATE", "existing");
            conf.set("ETCD_INITIAL_CLUSTER", &added.initial_cluster);
            conf.set("ETCD_INITIAL_ADVERTISE_PEER_URLS", &member.peer_url);
            conf.remove("ETCD_FORCE_NEW_CLUSTER");
        })
        .await?;
    joining.service(ServiceAction::Start, cancel).await?;
    // Waiting the whole readiness timeout for a member whose etcd died helps no one.
    let raft_index = tokio::select! {
        ready = wait_ready(access, member, Some(&through), readiness, cancel) => {
            ready.map_err(|last| MembershipError::NotReady {
                member: member.name.clone(),
                waited: format_duration(readiness.timeout),
                last,
                backup: backup.clone(),
            })?
        }
        stopped = stopped_while_joining(joining, cancel) => return Err(stopped),
    };
    if added.is_learner {
        promote_caught_up(
            &mut client,
            &through,
            joining,
            &added.id,
            readiness,
            reporter,
        )
        .await?;
    }
    Ok(Joined {
        host: member.host.name.clone(),
        member_id: added.id,
        moved_to,
        initial_cluster: added.initial_cluster,
        conf_backup: backup,
        raft_index,
        already_joined: false,
        promoted: added.is_learner,
    })
}

/// Promotes the caught-up learner `id` to a voting member.
async fn promote_caught_up(
    client: &mut etcd_client::Client,
    through: &EtcdMember,
    joining: &MemberHost,
    id: &str,
    readiness: Readiness,
    reporter: &Reporter,
) -> Result<(), MembershipError> {
    promote(client, &through.endpoint.client_url, id, readiness.timeout).await?;
    reporter.status(&format!(
        "{}: caught up, promoted from learner to voting member",
        joining.name()
    ));
    Ok(())
}

/// How often a joining member's service is looked at while it catches up.
const ALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Resolves once the joining member's etcd is no longer running (or cannot be asked).
async fn stopped_while_joining(
    joining: &MemberHost,
    cancel: &CancellationToken,
) -> MembershipError {
    loop {
        tokio::time::sleep(ALIVE_INTERVAL).await;
        match joining.is_running(cancel).await {
            Ok(true) => {}
            Ok(false) => {
                return MembershipError::StoppedWhileJoining {
                    member: joining.member.name.clone(),
                    host: joining.member.host.name.clone(),
                    service: joining.member.service.clone(),
                }
            }
            Err(error) => return error,
        }
    }
}
