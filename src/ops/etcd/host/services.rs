//! Every member's etcd service at once. Stopped together: the cluster serves nothing once
//! it has lost its quorum, so stopping one member after the other only adds up their stop
//! times. The leader goes last: a leader asked to stop first hands its leadership to a
//! connected member, and with every member stopping that waits for etcd's request timeout
//! (5 s plus two election timeouts); with its followers gone it stops at once. Started together: members whose data makes them one cluster (restored from
//! backups of their own data dirs) have a quorum only once enough of them run, and with
//! systemd's `Type=notify` each start waits for that, so one at a time would never return.

use crate::duration::format_duration;
use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::host::member_host::MemberHost;
use crate::ops::etcd::membership::error::MembershipError;
use crate::ops::etcd::membership::ready::{wait_ready, Readiness};
use crate::ops::service::ServiceAction;
use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

/// Why the members' services did not all do as asked.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ServicesError {
    #[error("{action} etcd failed on {failed} of {total} member(s):\n{outcomes}")]
    #[diagnostic(
        code(runbook::etcd::services),
        help("the members listed as {done} are; look at the failed hosts' etcd logs (`journalctl -u etcd` or the container's), fix them and run the step again")
    )]
    Failed {
        action: &'static str,
        failed: usize,
        total: usize,
        outcomes: String,
        done: &'static str,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Connect(Box<MembershipError>),
}

impl From<MembershipError> for ServicesError {
    fn from(error: MembershipError) -> ServicesError {
        ServicesError::Connect(Box::new(error))
    }
}

fn gate<T>(
    action: &'static str,
    done: &'static str,
    hosts: &[MemberHost],
    outcomes: Vec<Result<T, String>>,
) -> Result<Vec<T>, ServicesError> {
    if outcomes.iter().all(Result::is_ok) {
        return Ok(outcomes.into_iter().flatten().collect());
    }
    let total = outcomes.len();
    let mut failed = 0;
    let lines: Vec<String> = hosts
        .iter()
        .zip(outcomes)
        .map(|(host, outcome)| match outcome {
            Ok(_) => format!("  {}: {done}", host.member.host_name()),
            Err(reason) => {
                failed += 1;
                format!(
                    "  {}: FAILED: {}",
                    host.member.host_name(),
                    reason.replace('\n', "\n    ")
                )
            }
        })
        .collect();
    Err(ServicesError::Failed {
        action,
        failed,
        total,
        outcomes: lines.join("\n"),
        done,
    })
}

/// How long the leader is looked for before every member is stopped at once regardless.
const LEADER_LOOK: std::time::Duration = std::time::Duration::from_secs(3);

/// Which of `hosts` is the raft leader, if one answers in time.
async fn leader_of(access: &EtcdAccess, hosts: &[MemberHost]) -> Option<usize> {
    let looks = join_all(hosts.iter().map(|host| async move {
        let look = async {
            let mut client = access.v3_member(&host.member).await.ok()?;
            let status = client.status().await.ok()?;
            let own = status.header().map(|h| h.member_id())?;
            Some(own != 0 && own == status.leader())
        };
        tokio::time::timeout(LEADER_LOOK, look).await.ok().flatten()
    }))
    .await;
    looks.iter().position(|is| *is == Some(true))
}

/// Stops etcd on every host, the followers at once and then the leader, and returns once
/// each service is stopped.
pub async fn stop_all(
    access: &EtcdAccess,
    hosts: &[MemberHost],
    cancel: &CancellationToken,
) -> Result<(), ServicesError> {
    let leader = leader_of(access, hosts).await;
    let stop = |host: &MemberHost| {
        let host = host.clone();
        let cancel = cancel.clone();
        async move {
            host.service(ServiceAction::Stop, &cancel)
                .await
                .map_err(|e| crate::ops::etcd::host::step::error_chain(&e))
        }
    };
    let mut outcomes: Vec<Result<(), String>> = join_all(
        hosts
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != leader)
            .map(|(_, host)| stop(host)),
    )
    .await;
    if let Some(i) = leader {
        outcomes.insert(i, stop(&hosts[i]).await);
    }
    gate("stopping", "stopped", hosts, outcomes).map(|_| ())
}

/// Starts etcd on every host at once and returns each one's raft index once all serve with
/// a leader, waiting up to `readiness.timeout`.
pub async fn start_all(
    access: &EtcdAccess,
    hosts: &[MemberHost],
    readiness: Readiness,
    cancel: &CancellationToken,
) -> Result<Vec<u64>, ServicesError> {
    let outcomes = join_all(hosts.iter().map(|host| async move {
        host.service(ServiceAction::Start, cancel)
            .await
            .map_err(|e: MembershipError| crate::ops::etcd::host::step::error_chain(&e))?;
        wait_ready(access, &host.member, None, readiness, cancel)
            .await
            .map_err(|last| {
                format!(
                    "not serving with a leader after {}: {last}",
                    format_duration(readiness.timeout)
                )
            })
    }))
    .await;
    gate("starting", "started and serving", hosts, outcomes)
}
