//! The record of a v2 -> v3 migration, kept on the etcd hosts themselves so
//! that losing the control machine (or starting a new run) cannot erase it.
//!
//! Before `etcdctl migrate` runs, a record in state `started` is written into
//! the data dir of EVERY member (beside `member/`, so replacing `member/` from
//! a backup leaves it in place); afterwards it becomes `finished` or `failed`.
//! Any record found on any member refuses a new migration, whatever its state:
//! a migration that started may have written v3 data. `runbooks/rollback.rhai`
//! moves the records aside once the pre-migration backups are restored.

use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::transport::files::FileError;
use crate::transport::{shell_quote, Transport};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// File name of the record inside each member's data dir.
pub const RECORD_FILE: &str = "runbook-v2-to-v3-migration.json";

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// `etcdctl migrate` was about to run (or is running, or died).
    Started,
    /// It reported success.
    Finished,
    /// It ran and did not report success.
    Failed,
}

impl RecordState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Started => "started",
            RecordState::Finished => "finished",
            RecordState::Failed => "failed",
        }
    }
}

/// What is written on every member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationRecord {
    pub format: u32,
    pub state: RecordState,
    /// Inventory name of the member whose data was migrated.
    pub migrated_host: String,
    /// Its data dir.
    pub data_dir: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// `migrated`, `no_v2_keys`, or why it failed.
    #[serde(default)]
    pub result: Option<String>,
    pub runbook_version: String,
    /// The copy of the v2 store that was migrated (`etcd.verify`, `etcd.migrate_missing` and
    /// `lease.restore_ttls` read it); absent in records of migrations that kept none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v2_store: Option<String>,
    /// Keys in that store, and how many of them a v2 listing hides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v2_keys: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_keys: Option<u64>,
}

/// A record found on a member, or a file there that cannot be read as one.
#[derive(Debug, Clone)]
pub struct FoundRecord {
    /// The member whose data dir holds it.
    pub found_on: String,
    pub path: String,
    /// `Err` holds why the file is not a readable record (it still counts).
    pub record: Result<MigrationRecord, String>,
}

/// Why the records could not be read or written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RecordError {
    #[error("cannot check {host} for an earlier migration ({path}): {source}")]
    #[diagnostic(
        code(runbook::etcd::migrate::record_unreadable),
        help("every etcd member must be reachable and its data dir readable before a migration, so an earlier one cannot be missed")
    )]
    Read {
        host: String,
        path: String,
        source: FileError,
    },
    #[error("cannot write the migration record {path} on {host}: {source}")]
    #[diagnostic(
        code(runbook::etcd::migrate::record_unwritable),
        help("the record is written before migrating so a second migration is refused later; make {path} writable on {host}")
    )]
    Write {
        host: String,
        path: String,
        source: FileError,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
}

/// The record's path in a member's data dir.
pub fn record_path(member: &EtcdMember) -> String {
    format!("{}/{RECORD_FILE}", member.data_dir.trim_end_matches('/'))
}

/// The record on one member, if there is one.
pub async fn read(
    transport: &Transport,
    member: &EtcdMember,
    cancel: &CancellationToken,
) -> Result<Option<FoundRecord>, RecordError> {
    let path = record_path(member);
    match transport.read_file(&path, cancel).await {
        Ok(bytes) => Ok(Some(FoundRecord {
            found_on: member.host_name().to_string(),
            path,
            record: serde_json::from_slice(&bytes).map_err(|e| e.to_string()),
        })),
        Err(FileError::NotFound { .. }) => Ok(None),
        Err(source) => Err(RecordError::Read {
            host: member.host_name().to_string(),
            path,
            source,
        }),
    }
}

/// Writes the record into one member's data dir (atomically).
pub async fn write(
    transport: &Transport,
    member: &EtcdMember,
    record: &MigrationRecord,
    cancel: &CancellationToken,
) -> Result<(), RecordError> {
    let path = record_path(member);
    let mut json = serde_json::to_vec_pretty(record).unwrap_or_default();
    json.push(b'\n');
    transport
        .write_private_file(&path, &json, cancel)
        .await
        .map_err(|source| RecordError::Write {
            host: member.host_name().to_string(),
            path,
            source,
        })
}

/// Moves the record on one member aside to `<record>.rolled-back.<stamp>` (never
/// deletes it; a suffix keeps an earlier copy of the same second); None if there was none.
pub async fn move_aside(
    transport: &Transport,
    member: &EtcdMember,
    stamp: &str,
    cancel: &CancellationToken,
) -> Result<Option<String>, RecordError> {
    let script = format!(
        r#"p={path}; t="$p.rolled-back."{stamp}
[ -e "$p" ] || exit 0
n=0; base=$t
while [ -e "$t" ]; do n=$((n + 1)); t="$base.$n"; done
mv -- "$p" "$t" && printf '%s' "$t""#,
        path = shell_quote(&record_path(member)),
        stamp = shell_quote(stamp),
    );
    let output = host_step::run_ok(
        transport,
        "moving the migration record aside",
        &script,
        cancel,
    )
    .await?;
    let moved = output.stdout_text();
    Ok((!moved.is_empty()).then_some(moved))
}
