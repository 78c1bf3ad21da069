//! `ETCDCTL_API=3 etcdctl migrate --data-dir=<data_dir>` on ONE member, behind
//! the guards of `migrate_guards`, with the migration recorded on every member
//! before it starts and after it ends.
//!
//! Only one member is migrated (etcd issue #8305: TTL keys expiring while
//! members are migrated one by one make their stores diverge). The others are
//! rebuilt from it: the migrated member is started once with
//! `ETCD_FORCE_NEW_CLUSTER=true`, the others' `member` directories are moved to
//! `member.old`, and they are added back one at a time with `member add`.

use crate::ops::etcd::backup::manifest::BackupMethod;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::ops::etcd::migrate::capture::{self, CaptureError};
use crate::ops::etcd::migrate::facts::MigrationFact;
use crate::ops::etcd::migrate::gc_room;
use crate::ops::etcd::migrate::guards::{self as migrate_guards, GuardFacts, MigrateRefusal};
use crate::ops::etcd::migrate::record::{
    self as migration_record, MigrationRecord, RecordError, RecordState,
};
use crate::ops::etcd::v2store::V2Store;
use crate::transport::target::command_timeout;
use crate::transport::{shell_quote, RunOptions, Transport, TransportError};
use chrono::{SecondsFormat, Utc};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What `etcdctl migrate` reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateResult {
    /// `finished transforming keys`.
    Migrated,
    /// `no v2 keys to migrate`.
    NoV2Keys,
}

impl MigrateResult {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrateResult::Migrated => "migrated",
            MigrateResult::NoV2Keys => "no_v2_keys",
        }
    }
}

/// A migration that succeeded.
#[derive(Debug, Clone)]
pub struct MigrateOutcome {
    pub host: String,
    pub result: MigrateResult,
    /// stdout, then stderr, of `etcdctl migrate`.
    pub output: String,
    /// Where the migrated v2 store was copied, and the store as read before migrating.
    pub v2_store_dir: String,
    pub v2_store: Arc<V2Store>,
}

impl MigrateOutcome {
    pub fn fact(&self) -> MigrationFact {
        MigrationFact {
            host: self.host.clone(),
            result: self.result.as_str().to_string(),
            at: Utc::now(),
        }
    }
}

/// Why a migration did not happen or did not succeed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MigrateError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Refused(#[from] MigrateRefusal),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Capture(#[from] CaptureError),
    #[error("`etcdctl migrate` on {host} did not report success (exit {code}):\n{output}")]
    #[diagnostic(
        code(runbook::etcd::migrate::failed),
        help("the data dir {data_dir} on {host} may be partly migrated: do not start etcd on it. Restore the pre-migration backups with runbooks/rollback.rhai, then look into the output above")
    )]
    Failed {
        host: String,
        data_dir: String,
        code: i32,
        output: String,
    },
    #[error("`etcdctl migrate` on {host} did not finish: {source}")]
    #[diagnostic(
        code(runbook::etcd::migrate::interrupted),
        help("the data dir {data_dir} on {host} may be partly migrated: do not start etcd on it; restore the pre-migration backups with runbooks/rollback.rhai")
    )]
    Interrupted {
        host: String,
        data_dir: String,
        source: TransportError,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
}

/// Success as the playbook judges it: one of the two messages on stdout.
pub fn parse_output(stdout: &str) -> Option<MigrateResult> {
    if stdout.contains("finished transforming keys") {
        Some(MigrateResult::Migrated)
    } else if stdout.contains("no v2 keys to migrate") {
        Some(MigrateResult::NoV2Keys)
    } else {
        None
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Migrates `target` if every guard holds. `members` is the whole `[etcd]`
/// group with a transport to each host.
pub async fn migrate_member(
    members: &[(EtcdMember, Arc<Transport>)],
    target: &EtcdMember,
    facts: &GuardFacts,
    cancel: &CancellationToken,
) -> Result<MigrateOutcome, MigrateError> {
    let backup = migrate_guards::check_but_backup(members, target, facts, cancel).await?;
    let transport = migrate_guards::transport_of(members, target)?;
    let host = target.host_name().to_string();

    // What `etcdctl migrate` is about to read, read from etcd's files (hidden keys too) and
    // kept: a store this reader cannot read refuses the migration before anything changes.
    // A backup made of the stopped data dir (its files moved there, or copied) holds those
    // very files; it is read while they are hashed once more against its manifest (both only
    // read), and both must pass.
    let stopped_copy = matches!(backup.method, BackupMethod::Copy | BackupMethod::Move)
        .then_some(backup.dir.as_str());
    let (verified, captured) = tokio::join!(
        migrate_guards::reverify_backup(transport, target, &backup, cancel),
        capture::capture(transport, target, stopped_copy, cancel),
    );
    verified?;
    let (v2_store_dir, store) = captured?;
    let store = Arc::new(store);
    tracing::info!(
        host = %host,
        keys = store.leaves.len(),
        hidden = store.hidden(),
        expiring = store.expiring(),
        "v2 store read and kept in {v2_store_dir}"
    );

    // Recorded everywhere before anything changes; the target first.
    let mut record = MigrationRecord {
        format: 1,
        state: RecordState::Started,
        migrated_host: host.clone(),
        data_dir: target.data_dir.clone(),
        started_at: now(),
        finished_at: None,
        result: None,
        runbook_version: env!("CARGO_PKG_VERSION").to_string(),
        v2_store: Some(v2_store_dir.clone()),
        v2_keys: Some(store.leaves.len() as u64),
        hidden_keys: Some(store.hidden() as u64),
    };
    let order = members
        .iter()
        .filter(|(m, _)| m.host_name() == host)
        .chain(members.iter().filter(|(m, _)| m.host_name() != host));
    for (member, transport) in order {
        migration_record::write(transport, member, &record, cancel).await?;
    }

    let gogc = gc_room::gogc_on_host(transport, &target.data_dir, cancel)
        .await
        .map(|g| format!("GOGC={g} "))
        .unwrap_or_default();
    let command = format!(
        "umask 077; ETCDCTL_API=3 {gogc}etcdctl migrate --data-dir={}",
        shell_quote(&target.data_dir)
    );
    let options = RunOptions {
        timeout: command_timeout(&target.host).map_err(StepError::from)?,
        stdin: None,
    };
    tracing::info!(host = %host, %command, "migrating");
    let ran = transport.run(&command, &options, cancel).await;

    let outcome = match ran {
        Err(source) => {
            record.state = RecordState::Failed;
            record.result = Some(format!("did not finish: {source}"));
            Err(MigrateError::Interrupted {
                host: host.clone(),
                data_dir: target.data_dir.clone(),
                source,
            })
        }
        Ok(output) => {
            let stdout = output.stdout_text();
            let text = format!("{}{}", stdout, output.stderr_text());
            match parse_output(&stdout) {
                Some(result) => {
                    record.state = RecordState::Finished;
                    record.result = Some(result.as_str().to_string());
                    Ok(MigrateOutcome {
                        host: host.clone(),
                        result,
                        output: text,
                        v2_store_dir: v2_store_dir.clone(),
                        v2_store: store.clone(),
                    })
                }
                None => {
                    record.state = RecordState::Failed;
                    record.result = Some(format!("exit {}, no success message", output.code));
                    Err(MigrateError::Failed {
                        host: host.clone(),
                        data_dir: target.data_dir.clone(),
                        code: output.code,
                        output: host_step::tail(&text),
                    })
                }
            }
        }
    };

    // The `started` records already refuse a second run, so a failure to
    // update them is reported but does not change the outcome.
    record.finished_at = Some(now());
    for (member, transport) in members {
        if let Err(error) = migration_record::write(transport, member, &record, cancel).await {
            tracing::warn!(host = %member.host_name(), %error, "migration record not updated");
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_only_with_one_of_the_two_messages() {
        assert_eq!(
            parse_output("using default transformer\nfinished transforming keys\n"),
            Some(MigrateResult::Migrated)
        );
        assert_eq!(
            parse_output("no v2 keys to migrate\n"),
            Some(MigrateResult::NoV2Keys)
        );
        assert_eq!(parse_output("using default transformer\n"), None);
        assert_eq!(parse_output(""), None);
    }
}
