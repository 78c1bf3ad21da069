//! Checking a backup directory against its manifest on the member's host:
//! every file re-hashed; missing, extra or changed files are named; the parts
//! a restore needs (`member/wal/*.wal`, `member/snap/db`) must be there.

use crate::ops::etcd::backup::location::BACKUP_PREFIX;
use crate::ops::etcd::backup::manifest::{
    self, compare, BackupMethod, Manifest, ManifestError, MANIFEST_FILE,
};
use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::transport::files::FileError;
use crate::transport::{shell_quote, Transport};
use tokio_util::sync::CancellationToken;

/// A backup that matched its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Inventory name of the member's host.
    pub host: String,
    /// The backup directory on that host.
    pub dir: String,
    /// Number of files (the manifest not counted).
    pub files: u64,
    /// Their total size.
    pub bytes: u64,
    /// How it was taken.
    pub method: BackupMethod,
}

/// Why a backup is not trustworthy.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum VerifyError {
    #[error("{host}: {dir} has no backup manifest ({MANIFEST_FILE})")]
    #[diagnostic(
        code(runbook::etcd::backup::no_manifest),
        help("only directories made by etcd.backup() carry a manifest; take a new backup with etcd.backup() while etcd is running")
    )]
    NoManifest { host: String, dir: String },
    #[error("{host}: the backup manifest {path} cannot be read: {reason}")]
    #[diagnostic(
        code(runbook::etcd::backup::bad_manifest),
        help("the manifest was damaged or edited; take a new backup with etcd.backup()")
    )]
    BadManifest {
        host: String,
        path: String,
        reason: String,
    },
    #[error("{host}: the backup in {dir} does not match its manifest ({count} problem(s)):\n  {problems}")]
    #[diagnostic(
        code(runbook::etcd::backup::mismatch),
        help("the backup changed after it was taken, so it cannot be trusted for a restore: take a new backup with etcd.backup() while etcd is running")
    )]
    Mismatch {
        host: String,
        dir: String,
        count: usize,
        problems: String,
    },
    #[error("{host}: the backup in {dir} is incomplete: {what}")]
    #[diagnostic(
        code(runbook::etcd::backup::incomplete),
        help("a restore needs member/wal/*.wal and member/snap/db; take a new backup with etcd.backup()")
    )]
    Incomplete {
        host: String,
        dir: String,
        what: String,
    },
    #[error(
        "{host}: no backup made by runbook under {data_dir} ({BACKUP_PREFIX}* with a manifest)"
    )]
    #[diagnostic(
        code(runbook::etcd::backup::none_found),
        help("take one with etcd.backup() while etcd is running, or pass the backup as #{{host, dir}}")
    )]
    NoneFound { host: String, data_dir: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
}

impl VerifyError {
    /// The files of the backup in `dir` on `host` differ from what they must be.
    pub fn mismatch(host: &str, dir: &str, problems: &[manifest::Discrepancy]) -> VerifyError {
        VerifyError::Mismatch {
            host: host.to_string(),
            dir: dir.to_string(),
            count: problems.len(),
            problems: problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  "),
        }
    }
}

/// Reads and parses the manifest of a backup directory.
pub async fn read_manifest(
    transport: &Transport,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<Manifest, VerifyError> {
    let host = transport.host_name().to_string();
    let path = manifest::manifest_path(dir);
    let bytes = match transport.read_file(&path, cancel).await {
        Ok(bytes) => bytes,
        Err(FileError::NotFound { .. }) => {
            return Err(VerifyError::NoManifest {
                host,
                dir: dir.to_string(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    serde_json::from_slice(&bytes).map_err(|e| VerifyError::BadManifest {
        host,
        path,
        reason: e.to_string(),
    })
}

/// The parts a restore cannot do without, missing from a file list.
fn missing_essentials(manifest: &Manifest) -> Vec<&'static str> {
    let has = |test: &dyn Fn(&str) -> bool| manifest.files.iter().any(|f| test(&f.path));
    let mut missing = Vec::new();
    if !has(&|p| p.starts_with("member/wal/") && p.ends_with(".wal")) {
        missing.push("no WAL file (member/wal/*.wal)");
    }
    if !has(&|p| p == "member/snap/db") {
        missing.push("no v3 backend (member/snap/db)");
    }
    missing
}

/// Re-hashes every file of the backup in `dir` on the host and compares with its manifest.
pub async fn verify_backup(
    transport: &Transport,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<(Manifest, BackupSummary), VerifyError> {
    let host = transport.host_name().to_string();
    let manifest = read_manifest(transport, dir, cancel).await?;
    let actual = manifest::hash_tree(transport, dir, cancel).await?;
    let problems = compare(&manifest.files, &actual);
    if !problems.is_empty() {
        return Err(VerifyError::mismatch(&host, dir, &problems));
    }
    let missing = missing_essentials(&manifest);
    if !missing.is_empty() {
        return Err(VerifyError::Incomplete {
            host,
            dir: dir.to_string(),
            what: missing.join(", "),
        });
    }
    let summary = BackupSummary {
        host,
        dir: dir.to_string(),
        files: manifest.files.len() as u64,
        bytes: manifest.bytes(),
        method: manifest.method,
    };
    Ok((manifest, summary))
}

/// The newest `<data_dir>/openshift-backup-pre-migration*` directory that has a manifest.
pub async fn latest_backup_dir(
    transport: &Transport,
    data_dir: &str,
    cancel: &CancellationToken,
) -> Result<String, VerifyError> {
    let script = format!(
        r#"for d in {}/{BACKUP_PREFIX}*; do [ -f "$d/{MANIFEST_FILE}" ] && printf '%s\n' "$d"; done; exit 0"#,
        shell_quote(data_dir.trim_end_matches('/'))
    );
    let output = host_step::run_ok(transport, "looking for backups", &script, cancel).await?;
    // The names end in YYYYmmddHHMMSS, so the greatest is the newest.
    output
        .stdout_text()
        .lines()
        .filter(|l| !l.is_empty())
        .max()
        .map(str::to_string)
        .ok_or_else(|| VerifyError::NoneFound {
            host: transport.host_name().to_string(),
            data_dir: data_dir.to_string(),
        })
}

/// Several backups that do not verify, with each one's reason.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{failed} of {total} backups do not verify:\n{reasons}")]
#[diagnostic(
    code(runbook::etcd::backup::mismatch),
    help("those backups changed after they were taken and cannot be trusted for a restore: take new ones with etcd.backup() while etcd is running")
)]
pub struct NotVerified {
    pub failed: usize,
    pub total: usize,
    pub reasons: String,
}

/// Why not every backup of a list verified: the one that did not, or all that did not.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ListError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    One(VerifyError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Several(NotVerified),
}

/// The summaries of a list of backups verified one by one, if every one verified.
pub fn all_verified(
    outcomes: Vec<Result<BackupSummary, VerifyError>>,
) -> Result<Vec<BackupSummary>, ListError> {
    let total = outcomes.len();
    let (verified, mut failed): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(Result::is_ok);
    match failed.len() {
        0 => Ok(verified.into_iter().flatten().collect()),
        1 => Err(ListError::One(failed.remove(0).unwrap_err())),
        n => Err(ListError::Several(NotVerified {
            failed: n,
            total,
            reasons: failed
                .into_iter()
                .filter_map(Result::err)
                .map(|e| crate::ops::etcd::host::step::error_chain(&e))
                .collect::<Vec<_>>()
                .join("\n"),
        })),
    }
}
