//! Why a maintenance operation failed: the one error of the `maintenance` operations.

use crate::ops::etcd::client::access::AccessError;
use crate::ops::etcd::etcdctl::command::EtcdctlError;
use crate::transport::TransportError;

/// Why a maintenance operation failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MaintenanceError {
    #[error("{0}")]
    #[diagnostic(forward(0))]
    Access(Box<AccessError>),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Etcdctl(#[from] EtcdctlError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
    #[error("etcd v3 {operation} on {target} failed: {reason}")]
    #[diagnostic(
        code(runbook::etcd::maintenance::request),
        help("check that the cluster is healthy (`etcd.health()`) and that etcd runs on {target}")
    )]
    Request {
        operation: &'static str,
        target: String,
        reason: String,
    },
    #[error("no alarm is called {name}")]
    #[diagnostic(
        code(runbook::etcd::maintenance::alarm_kind),
        help("etcd's alarms are NOSPACE and CORRUPT")
    )]
    AlarmKind { name: String },
    #[error("{host}: defragmenting took longer than {timeout}; etcd may still be at it")]
    #[diagnostic(
        code(runbook::etcd::maintenance::defrag_timeout),
        help("a member blocks while it defragments: wait for it (`etcd.status()` shows its db size shrink), then pass a longer #{{timeout: \"30m\"}}")
    )]
    DefragTimeout { host: String, timeout: String },
    #[error(
        "{host}: stopped waiting for the defragmentation (interrupted); etcd may still be at it"
    )]
    #[diagnostic(
        code(runbook::etcd::maintenance::interrupted),
        help(
            "etcd goes on defragmenting on its own: check `etcd.status()` before running it again"
        )
    )]
    Interrupted { host: String },
    #[error("cannot compact to revision {revision}: the cluster is only at revision {current}")]
    #[diagnostic(
        code(runbook::etcd::maintenance::future_revision),
        help("compact to a revision at most {current} (`etcd.status().members[0].revision` is the current one)")
    )]
    FutureRevision { revision: i64, current: i64 },
    #[error(
        "cannot compact to revision {revision}: the history is already compacted up to {compacted}"
    )]
    #[diagnostic(
        code(runbook::etcd::maintenance::compacted),
        help("compact to a revision above {compacted}; nothing before it is left to compact")
    )]
    AlreadyCompacted { revision: i64, compacted: i64 },
    #[error("{host}: {path} already exists")]
    #[diagnostic(
        code(runbook::etcd::snapshot::exists),
        help(
            "a snapshot never overwrites a file: pass another path, or move {path} away on {host}"
        )
    )]
    SnapshotExists { host: String, path: String },
    #[error("{host}: the snapshot path {path} is not usable: {reason}")]
    #[diagnostic(
        code(runbook::etcd::snapshot::path),
        help("pass an absolute path of a file in an existing directory, e.g. \"/var/backups/etcd-snapshot.db\"")
    )]
    SnapshotPath {
        host: String,
        path: String,
        reason: &'static str,
    },
    #[error("{host}: saving the snapshot to {path} failed: {detail}")]
    #[diagnostic(
        code(runbook::etcd::snapshot::save),
        help("check the directory of {path} on {host}: it must exist, have room for the db, and be writable by the user runbook runs commands as")
    )]
    SnapshotSave {
        host: String,
        path: String,
        detail: String,
    },
    #[error(
        "{host}: `etcdctl snapshot status` of {path} gave an answer runbook cannot read: {reason}"
    )]
    #[diagnostic(
        code(runbook::etcd::snapshot::status),
        help("run `ETCDCTL_API=3 etcdctl snapshot status {path} -w json` on {host} to see what it says; the file may not be an etcd v3 snapshot")
    )]
    SnapshotStatus {
        host: String,
        path: String,
        reason: String,
    },
}

impl From<AccessError> for MaintenanceError {
    fn from(error: AccessError) -> MaintenanceError {
        MaintenanceError::Access(Box::new(error))
    }
}

/// A v3 error as a [`MaintenanceError`].
pub fn v3_failed(
    operation: &'static str,
    target: &str,
    error: &etcd_client::Error,
) -> MaintenanceError {
    MaintenanceError::Request {
        operation,
        target: target.to_string(),
        reason: crate::ops::etcd::client::fanout::v3_error_text(error),
    }
}
