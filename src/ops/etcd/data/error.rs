//! Why a read or write of keys failed: the one error of the `data` operations.

use crate::ops::etcd::client::access::AccessError;
use crate::ops::etcd::client::v2::V2Error;

/// Why reading or writing keys failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DataError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    V2(#[from] V2Error),
    #[error("etcd v3 {operation} of {key} failed: {reason}")]
    #[diagnostic(
        code(runbook::etcd::data::request),
        help("check that the cluster is healthy (`etcd.health()`) and that the key and options are right")
    )]
    Request {
        operation: &'static str,
        key: String,
        reason: String,
    },
    #[error("cannot read {key} at revision {revision}: that history was compacted")]
    #[diagnostic(
        code(runbook::etcd::data::compacted),
        help("etcd keeps no revisions before its last compaction: read at a later revision, or leave `revision` out for the current one")
    )]
    Compacted { key: String, revision: i64 },
    #[error("cannot read {key} at revision {revision}: the cluster is only at revision {current}")]
    #[diagnostic(
        code(runbook::etcd::data::future_revision),
        help("pass a revision at most {current}, or leave `revision` out for the current one")
    )]
    FutureRevision {
        key: String,
        revision: i64,
        current: i64,
    },
    #[error("an empty key names no key")]
    #[diagnostic(
        code(runbook::etcd::data::empty_key),
        help("name a key such as \"/kubernetes.io/namespaces/default\"; for every key under a prefix pass the prefix with #{{prefix: true}}")
    )]
    EmptyKey,
    #[error("no etcd member answered: {reasons}")]
    #[diagnostic(
        code(runbook::etcd::data::unreachable),
        help("check `etcd.health()`, and that etcd runs on the members")
    )]
    Unreachable { reasons: String },
}

/// A v3 error on `key` as a [`DataError`]: compaction and future revisions get their own.
pub fn v3_failed(
    operation: &'static str,
    key: &str,
    revision: i64,
    error: &etcd_client::Error,
) -> DataError {
    let reason = crate::ops::etcd::client::fanout::v3_error_text(error);
    if reason.contains("required revision has been compacted") {
        return DataError::Compacted {
            key: key.to_string(),
            revision,
        };
    }
    DataError::Request {
        operation,
        key: key.to_string(),
        reason,
    }
}
