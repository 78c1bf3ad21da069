//! Errors of the membership operations: listing, adding, removing, force-new-cluster, join.

use crate::ops::etcd::client::access::AccessError;
use crate::ops::service::ServiceError;
use crate::transport::files::FileError;
use crate::transport::TransportError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MembershipError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
    #[error("etcd {operation} through {endpoints} failed: {reason}")]
    #[diagnostic(
        code(runbook::etcd::membership::request),
        help("check that a quorum of the cluster is up and healthy (`etcd.health()`)")
    )]
    Request {
        operation: &'static str,
        endpoints: String,
        reason: String,
    },
    #[error("no member named {name} or with peer URL {peer_url} in the cluster")]
    #[diagnostic(
        code(runbook::etcd::membership::not_a_member),
        help("`etcd.members()` lists the members the cluster has")
    )]
    NotAMember { name: String, peer_url: String },
    #[error("etcd is still running on {hosts}")]
    #[diagnostic(
        code(runbook::etcd::membership::still_running),
        help("stop etcd there first (`host.service(\"etcd\").stop()`, or `systemctl stop etcd`): {operation} needs every other member stopped")
    )]
    StillRunning {
        hosts: String,
        operation: &'static str,
    },
    #[error("etcd is running on {host}")]
    #[diagnostic(
        code(runbook::etcd::membership::running),
        help("stop etcd on {host} before it can {operation}")
    )]
    Running {
        host: String,
        operation: &'static str,
    },
    #[error("{member} did not become ready within {waited}: {last}")]
    #[diagnostic(
        code(runbook::etcd::membership::not_ready),
        help("look at the member's log (journalctl -u etcd, or the lab's var/log/etcd.log) and its etcd.conf; the original etcd.conf was kept beside it as {backup}")
    )]
    NotReady {
        member: String,
        waited: String,
        last: String,
        backup: String,
    },
    #[error("etcd on {host} ({member}) stopped while it was joining the cluster")]
    #[diagnostic(
        code(runbook::etcd::membership::stopped_while_joining),
        help("{member} is in the cluster but its etcd ({service} on {host}) is not running: look at its log (journalctl -u {service}, or the lab's var/log/etcd.log). while it is down, a cluster it joined as a voting member (etcd before 3.4, which has no learners) may have no quorum (two members with one down have none); resuming the run starts it again with the data it has")
    )]
    StoppedWhileJoining {
        member: String,
        host: String,
        service: String,
    },
    #[error("no running member to {operation} through: {tried}")]
    #[diagnostic(
        code(runbook::etcd::membership::no_quorum),
        help("start the cluster's first member (etcd.force_new_cluster after a migration) before adding others")
    )]
    NoRunningMember {
        operation: &'static str,
        tried: String,
    },
    #[error("the cluster has {count} members after force-new-cluster on {host}, expected 1")]
    #[diagnostic(
        code(runbook::etcd::membership::not_single),
        help("stop etcd on {host}, restore etcd.conf from its backup, and check the data dir")
    )]
    NotSingleMember { host: String, count: usize },
}
