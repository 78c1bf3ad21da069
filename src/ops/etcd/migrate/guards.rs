//! What must hold before `etcdctl migrate` may touch a member's data dir,
//! checked in this order, each refusal saying why and what to do:
//! no migration recorded on any member; etcd stopped (fully on the target,
//! service and port on the others); a v2 snapshot on the target; zero v3 keys
//! when last counted in this run; a backup of the target verified in this run
//! (and still matching its manifest now).

use crate::ops::etcd::backup::verify::{self as backup_verify, BackupSummary, VerifyError};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::step::StepError;
use crate::ops::etcd::host::stopped::{self as etcd_stopped, EtcdRunning};
use crate::ops::etcd::migrate::facts::{KeyCount, VerifiedBackup};
use crate::ops::etcd::migrate::record::{self as migration_record, FoundRecord, RecordError};
use crate::ops::etcd::migrate::snapshot_check;
use crate::transport::Transport;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What the run knows that the guards rely on.
#[derive(Debug, Clone, Default)]
pub struct GuardFacts {
    /// The v3 key count last taken in this run.
    pub key_count: Option<KeyCount>,
    /// The target's latest verified backup in this run.
    pub backup: Option<VerifiedBackup>,
}

/// Why a migration was refused.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MigrateRefusal {
    #[error("a v2 -> v3 migration is already recorded for this cluster: {summary} (record {path} on {found_on})")]
    #[diagnostic(
        code(runbook::etcd::migrate::already_migrated),
        help("never migrate twice: `etcdctl migrate` over data that already has v3 keys can overwrite them. If that migration failed or must be undone, restore the pre-migration backups with runbooks/rollback.rhai (it moves the records aside); otherwise carry on from where it stopped")
    )]
    AlreadyMigrated {
        summary: String,
        path: String,
        found_on: String,
    },
    #[error("{host} has no v2 snapshot (*.snap) in {snap_dir}")]
    #[diagnostic(
        code(runbook::etcd::migrate::no_snapshot),
        help("`etcdctl migrate` rebuilds the v2 store from the newest snapshot; etcd writes one every ETCD_SNAPSHOT_COUNT changes. Start etcd, let it write one (or lower ETCD_SNAPSHOT_COUNT for a while), take a new backup, then stop it again")
    )]
    NoSnapshot { host: String, snap_dir: String },
    #[error("the v3 key count was never checked in this run")]
    #[diagnostic(
        code(runbook::etcd::migrate::keys_unchecked),
        help("run etcd.v3_key_count() while etcd is up, before stopping it: migrating a cluster that already holds v3 keys can overwrite them")
    )]
    KeysUnchecked,
    #[error("the cluster held {count} v3 key(s) when last counted ({at}); it must hold none")]
    #[diagnostic(
        code(runbook::etcd::migrate::v3_keys),
        help("v3 data exists: a migration ran before, or something writes v3 keys. Migrating again can overwrite them; find out where they come from, and restore the pre-migration backups with runbooks/rollback.rhai if a migration had run")
    )]
    V3KeysPresent { count: u64, at: String },
    #[error("no verified backup of {host} in this run")]
    #[diagnostic(
        code(runbook::etcd::migrate::no_backup),
        help("run etcd.backup() while etcd is up, before stopping it (or etcd.verify_backup(\"{host}\") for a backup taken by an earlier run)")
    )]
    NoBackup { host: String },
    #[error("the backup of {host} in {dir} no longer verifies")]
    #[diagnostic(
        code(runbook::etcd::migrate::backup_changed),
        help("take a new backup with etcd.backup() while etcd is up (start it, back up, stop it again)")
    )]
    BackupChanged {
        host: String,
        dir: String,
        #[source]
        #[diagnostic_source]
        cause: VerifyError,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Running(#[from] EtcdRunning),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
}

/// One line about a record found on a member.
fn describe(found: &FoundRecord) -> String {
    match &found.record {
        Ok(r) => format!(
            "{} was migrated (state {}, started {}{}, runbook {})",
            r.migrated_host,
            r.state.as_str(),
            r.started_at,
            r.result
                .as_ref()
                .map(|x| format!(", result {x}"))
                .unwrap_or_default(),
            r.runbook_version
        ),
        Err(reason) => format!("a record that cannot be read ({reason})"),
    }
}

/// The transport to `target` among the connected members.
pub fn transport_of<'a>(
    members: &'a [(EtcdMember, Arc<Transport>)],
    target: &EtcdMember,
) -> Result<&'a Arc<Transport>, StepError> {
    members
        .iter()
        .find(|(m, _)| m.host_name() == target.host_name())
        .map(|(_, transport)| transport)
        .ok_or_else(|| StepError::Failed {
            host: target.host_name().to_string(),
            step: "finding the member".into(),
            code: -1,
            detail: "not in the [etcd] group".into(),
        })
}

/// Refuses if any member records a migration.
pub async fn check_no_record(
    members: &[(EtcdMember, Arc<Transport>)],
    cancel: &CancellationToken,
) -> Result<(), MigrateRefusal> {
    for (member, transport) in members {
        if let Some(found) = migration_record::read(transport, member, cancel).await? {
            return Err(MigrateRefusal::AlreadyMigrated {
                summary: describe(&found),
                path: found.path.clone(),
                found_on: found.found_on.clone(),
            });
        }
    }
    Ok(())
}

/// Checks every guard for migrating `target` but the backup's re-hash, which
/// [`reverify_backup`] makes; returns the backup to re-hash.
pub async fn check_but_backup(
    members: &[(EtcdMember, Arc<Transport>)],
    target: &EtcdMember,
    facts: &GuardFacts,
    cancel: &CancellationToken,
) -> Result<VerifiedBackup, MigrateRefusal> {
    check_no_record(members, cancel).await?;

    // etcd stopped: the target fully, the others as far as service and port go
    // (a quorum of others would accept writes the rebuilt cluster then loses).
    for (member, transport) in members {
        if member.host_name() == target.host_name() {
            etcd_stopped::check_stopped(transport, member, cancel).await?;
        } else {
            etcd_stopped::check_service(transport, member, cancel).await?;
            etcd_stopped::check_port_from_here(member).await?;
        }
    }

    let transport = transport_of(members, target)?;

    if !snapshot_check::has_v2_snapshot(transport, &target.data_dir, cancel).await? {
        return Err(MigrateRefusal::NoSnapshot {
            host: target.host_name().to_string(),
            snap_dir: snapshot_check::snap_dir(&target.data_dir),
        });
    }

    match &facts.key_count {
        None => return Err(MigrateRefusal::KeysUnchecked),
        Some(count) if count.count > 0 => {
            return Err(MigrateRefusal::V3KeysPresent {
                count: count.count,
                at: count.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        }
        Some(_) => {}
    }

    let Some(backup) = &facts.backup else {
        return Err(MigrateRefusal::NoBackup {
            host: target.host_name().to_string(),
        });
    };
    Ok(backup.clone())
}

/// The backup of `target` verified in this run still matches its manifest now.
pub async fn reverify_backup(
    transport: &Transport,
    target: &EtcdMember,
    backup: &VerifiedBackup,
    cancel: &CancellationToken,
) -> Result<BackupSummary, MigrateRefusal> {
    match backup_verify::verify_backup(transport, &backup.dir, cancel).await {
        Ok((_, summary)) => Ok(summary),
        Err(cause) => Err(MigrateRefusal::BackupChanged {
            host: target.host_name().to_string(),
            dir: backup.dir.clone(),
            cause,
        }),
    }
}
