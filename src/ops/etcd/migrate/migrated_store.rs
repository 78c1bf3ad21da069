//! The v2 store a member was migrated from: the copy its migration record names.

use super::capture::member_dir_of;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::migrate::record::{self as migration_record, RecordError};
use crate::ops::etcd::v2store::cache::V2StoreCache;
use crate::ops::etcd::v2store::source::V2StoreError;
use crate::ops::etcd::v2store::V2Store;
use crate::transport::Transport;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Why there is no migrated store to read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MigratedStoreError {
    #[error("{host} has no migration record ({path}): it was not migrated by etcd.migrate")]
    #[diagnostic(
        code(runbook::etcd::v2store::not_migrated),
        help("pass the member etcd.migrate ran on (the first of [etcd] in v2-to-v3.rhai); the v2 data it migrated is read from the copy etcd.migrate keeps")
    )]
    NotMigrated { host: String, path: String },
    #[error("the migration recorded on {host} ran on {migrated}, not on {host}")]
    #[diagnostic(
        code(runbook::etcd::v2store::other_member),
        help("pass {migrated}: the member etcd.migrate ran on, which keeps the copy of the migrated v2 store")
    )]
    OtherMember { host: String, migrated: String },
    #[error("the migration record {path} on {host} names no copy of the migrated v2 store")]
    #[diagnostic(
        code(runbook::etcd::v2store::no_copy),
        help("this member was migrated by an older runbook, which kept no copy; restore its pre-migration backup (rollback.rhai) and migrate again with this one")
    )]
    NoCopy { host: String, path: String },
    #[error("the migration record {path} on {host} cannot be read: {reason}")]
    #[diagnostic(
        code(runbook::etcd::v2store::record),
        help(
            "the record is JSON written by etcd.migrate; compare it with a copy on another member"
        )
    )]
    Unreadable {
        host: String,
        path: String,
        reason: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Read(#[from] V2StoreError),
}

/// The store `member` was migrated from, read once per run.
pub async fn migrated_store(
    cache: &V2StoreCache,
    transport: &Transport,
    member: &EtcdMember,
    cancel: &CancellationToken,
) -> Result<Arc<V2Store>, MigratedStoreError> {
    let host = member.host_name().to_string();
    let Some(found) = migration_record::read(transport, member, cancel).await? else {
        return Err(MigratedStoreError::NotMigrated {
            host,
            path: migration_record::record_path(member),
        });
    };
    let record = found
        .record
        .map_err(|reason| MigratedStoreError::Unreadable {
            host: host.clone(),
            path: found.path.clone(),
            reason,
        })?;
    if record.migrated_host != host {
        return Err(MigratedStoreError::OtherMember {
            host,
            migrated: record.migrated_host,
        });
    }
    let Some(copy) = record.v2_store else {
        return Err(MigratedStoreError::NoCopy {
            host,
            path: found.path,
        });
    };
    Ok(cache
        .get_or_read(transport, &member_dir_of(&copy), cancel)
        .await?)
}
