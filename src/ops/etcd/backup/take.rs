//! The pre-migration backup of every member, as openshift-ansible takes it:
//! a free-space check, `etcdctl backup` (v2) of the data dir, a copy of the v3
//! backend `member/snap/db`, then (beyond the playbook) a manifest of sha256
//! sums written next to the files and checked once more before the backup
//! counts. Members are backed up concurrently; if any fails, the whole backup
//! fails (the playbook's gate) and every host's outcome is reported.

use crate::ops::etcd::backup::disk_space::{self, DiskSpaceError};
use crate::ops::etcd::backup::location::{BackupPlan, BACKUP_CONF};
use crate::ops::etcd::backup::manifest::{
    self, BackupMethod, Manifest, ManifestError, MANIFEST_FORMAT,
};
use crate::ops::etcd::backup::verify::{self as backup_verify, BackupSummary, VerifyError};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::ops::etcd::host::stopped::EtcdRunning;
use crate::transport::files::FileError;
use crate::transport::{shell_quote, ConnectionTarget, TransportError, TransportPool};
use crate::transport::{RunOptions, Transport};
use chrono::{SecondsFormat, Utc};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Why one member's backup failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BackupError {
    #[error("{host}: the backup directory {dir} is not usable: {reason}")]
    #[diagnostic(
        code(runbook::etcd::backup::dir),
        help("pass an absolute directory outside {data_dir}/member, e.g. etcd.backup(#{{dir: \"/var/backups/etcd-{{host}}\"}})")
    )]
    BadDir {
        host: String,
        dir: String,
        data_dir: String,
        reason: &'static str,
    },
    #[error("{host}: the backup directory {dir} already exists")]
    #[diagnostic(
        code(runbook::etcd::backup::exists),
        help(
            "a backup never overwrites another: pass another `dir`, or move {dir} away on {host}"
        )
    )]
    Exists { host: String, dir: String },
    #[error("{host}: {data_dir} holds no etcd data (no member directory)")]
    #[diagnostic(
        code(runbook::etcd::backup::no_data),
        help("check etcd_data_dir for {host} in the inventory: ETCD_DATA_DIR in its etcd.conf (/var/lib/etcd for the package and containerized installs, /var/lib/etcd/etcd.etcd for a 3.6 system container)")
    )]
    NoData { host: String, data_dir: String },
    #[error("{host}: `{command}` does not run there")]
    #[diagnostic(
        code(runbook::etcd::backup::no_etcdctl),
        help("the backup runs `{command} backup` on {host} while etcd runs: install etcdctl 3.3 or 3.4 there (the etcd package: `yum install etcd`) or put it in the PATH of the user the runbook runs commands as; for etcd in a container, its container must run, or set runbook_etcdctl_command for {host}")
    )]
    NoEtcdctl { host: String, command: String },
    #[error("{host}: `etcdctl backup` of {data_dir} into {dir} failed: {detail}")]
    #[diagnostic(
        code(runbook::etcd::backup::etcdctl),
        help("run `ETCDCTL_API=2 etcdctl backup --data-dir {data_dir} --backup-dir /tmp/try` on {host} to see why; it needs etcdctl 3.3 or 3.4 (3.5 removed `backup`)")
    )]
    Etcdctl {
        host: String,
        data_dir: String,
        dir: String,
        detail: String,
    },
    #[error("{error}\n(the unfinished backup directory {dir} on {host} {cleanup})")]
    #[diagnostic(forward(error))]
    Aborted {
        host: String,
        dir: String,
        cleanup: String,
        error: Box<BackupError>,
    },
    #[error("{0}")]
    #[diagnostic(forward(0))]
    Space(Box<DiskSpaceError>),
    #[error("{0}")]
    #[diagnostic(forward(0))]
    Running(Box<EtcdRunning>),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
}

impl From<DiskSpaceError> for BackupError {
    fn from(error: DiskSpaceError) -> BackupError {
        BackupError::Space(Box::new(error))
    }
}

/// Some member's backup failed: the migration must not go on.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the backup failed on {failed} of {total} etcd member(s); the migration must not go on:\n{outcomes}")]
#[diagnostic(code(runbook::etcd::backup::gate))]
pub struct BackupGateError {
    pub failed: usize,
    pub total: usize,
    /// One line (or more) per host: its backup, or why it failed.
    pub outcomes: String,
    #[help]
    pub help: String,
    /// The backups that succeeded (they are valid and stay in place).
    pub succeeded: Vec<BackupSummary>,
}

/// Checks a backup directory before anything is written.
pub(crate) fn check_dir(member: &EtcdMember, dir: &str) -> Result<(), BackupError> {
    let bad = |reason| BackupError::BadDir {
        host: member.host_name().to_string(),
        dir: dir.to_string(),
        data_dir: member.data_dir.clone(),
        reason,
    };
    if !dir.starts_with('/') {
        return Err(bad("it must be an absolute path"));
    }
    let dir = dir.trim_end_matches('/');
    let data = member.data_dir.trim_end_matches('/');
    let member_dir = format!("{data}/member");
    if dir.is_empty() || dir == data || data.starts_with(&format!("{dir}/")) {
        return Err(bad("it would hold the data dir itself"));
    }
    if dir == member_dir || dir.starts_with(&format!("{member_dir}/")) {
        return Err(bad("it is inside the live member directory"));
    }
    if dir.split('/').any(|part| part == "..") {
        return Err(bad("it must not contain `..`"));
    }
    Ok(())
}

/// The outcome of a script that creates the backup directory: exit 0, or 10 (no `member`
/// directory in the data dir), 11 (the directory exists), anything else a failure.
pub(crate) fn dir_created(
    member: &EtcdMember,
    dir: &str,
    output: &crate::transport::CommandOutput,
) -> Result<(), BackupError> {
    let host = member.host_name().to_string();
    match output.code {
        0 => Ok(()),
        10 => Err(BackupError::NoData {
            host,
            data_dir: member.data_dir.clone(),
        }),
        11 => Err(BackupError::Exists {
            host,
            dir: dir.to_string(),
        }),
        _ => Err(StepError::failed(&host, "creating the backup directory", output).into()),
    }
}

/// Checks everything a backup of one member into `dir` needs, writing nothing: the
/// directory, the data dir, free space and `etcdctl` on the host.
pub async fn check_member(
    transport: &Transport,
    member: &EtcdMember,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<(), BackupError> {
    let host = member.host_name().to_string();
    check_dir(member, dir)?;
    let data = shell_quote(&member.data_dir);
    let etcdctl = &member.etcdctl_command;
    let probe = format!(
        r#"[ -d {data}/member ] || exit 10
export ETCDCTL_API=3; {etcdctl} version >/dev/null 2>&1 || exit 12"#
    );
    let output = host_step::run(transport, &probe, &RunOptions::default(), cancel).await?;
    match output.code {
        0 => {}
        10 => {
            return Err(BackupError::NoData {
                host,
                data_dir: member.data_dir.clone(),
            })
        }
        12 => {
            return Err(BackupError::NoEtcdctl {
                host,
                command: etcdctl.clone(),
            })
        }
        _ => return Err(StepError::failed(&host, "checking for etcdctl", &output).into()),
    }
    disk_space::check(transport, &member.data_dir, dir, cancel).await?;
    Ok(())
}

/// Backs up one member into `dir` and checks the result against its manifest.
pub async fn backup_member(
    transport: &Transport,
    member: &EtcdMember,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<BackupSummary, BackupError> {
    let host = member.host_name().to_string();
    check_dir(member, dir)?;
    let data = shell_quote(&member.data_dir);
    let quoted_dir = shell_quote(dir);

    disk_space::check(transport, &member.data_dir, dir, cancel).await?;

    // Refuse to touch an existing directory; create the new one private (0700).
    let prepare = format!(
        r#"umask 077; d={data}; b={quoted_dir}
[ -d "$d/member" ] || exit 10
[ ! -e "$b" ] && [ ! -L "$b" ] || exit 11
mkdir -p -- "$(dirname -- "$b")" && mkdir -m 0700 -- "$b""#
    );
    let output = host_step::run(transport, &prepare, &RunOptions::default(), cancel).await?;
    dir_created(member, dir, &output)?;

    match fill(transport, member, dir, cancel).await {
        Ok(summary) => Ok(summary),
        Err(error) => {
            // The directory is ours (created above) and unfinished: a half backup must not be mistaken for one.
            let remove = format!("rm -rf -- {quoted_dir}");
            Err(aborted(transport, &host, dir, &remove, "was removed", error, cancel).await)
        }
    }
}

/// `error` after running `cleanup` (a script that removes the unfinished backup `dir`),
/// saying how the cleanup went (`done` when it succeeded).
pub(crate) async fn aborted(
    transport: &Transport,
    host: &str,
    dir: &str,
    cleanup: &str,
    done: &str,
    error: BackupError,
    cancel: &CancellationToken,
) -> BackupError {
    let cleanup = match host_step::run_ok(transport, "removing", cleanup, cancel).await {
        Ok(_) => done.to_string(),
        Err(e) => format!("could not be removed: {e}"),
    };
    BackupError::Aborted {
        host: host.to_string(),
        dir: dir.to_string(),
        cleanup,
        error: Box::new(error),
    }
}

/// Fills a fresh backup directory: `etcdctl backup`, the db copy, the manifest, the check.
async fn fill(
    transport: &Transport,
    member: &EtcdMember,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<BackupSummary, BackupError> {
    let host = member.host_name().to_string();
    let data = shell_quote(&member.data_dir);
    let quoted_dir = shell_quote(dir);

    // `backup` is in etcdctl's v2 command set (3.3/3.4).
    let etcdctl = format!(
        "umask 077; export ETCDCTL_API=2; {} backup --data-dir {data} --backup-dir {quoted_dir}",
        member.etcdctl_command
    );
    let output = host_step::run(transport, &etcdctl, &RunOptions::default(), cancel).await?;
    if !output.success() {
        return Err(BackupError::Etcdctl {
            host,
            data_dir: member.data_dir.clone(),
            dir: dir.to_string(),
            detail: host_step::output_detail(&output),
        });
    }

    // As the playbook: the v3 backend is copied as it is, when there is one. etcd.conf
    // too, so a rollback can put it back as it was.
    let copy = format!(
        r#"umask 077; d={data}; b={quoted_dir}; c={conf}
if [ -f "$d/member/snap/db" ]; then
  mkdir -p -- "$b/member/snap" && cp -a -- "$d/member/snap/db" "$b/member/snap/db" || exit 1
fi
if [ -f "$c" ]; then cp -- "$c" "$b/{BACKUP_CONF}" || exit 1; fi
chmod 0700 -- "$b""#,
        conf = shell_quote(&member.conf_file),
    );
    host_step::run_ok(
        transport,
        "copying member/snap/db and etcd.conf",
        &copy,
        cancel,
    )
    .await?;

    let files = manifest::hash_tree(transport, dir, cancel).await?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        host: host.clone(),
        data_dir: member.data_dir.clone(),
        created: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        runbook_version: env!("CARGO_PKG_VERSION").to_string(),
        files,
        method: BackupMethod::EtcdctlBackup,
    };
    let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    transport
        .write_private_file(&manifest::manifest_path(dir), &json, cancel)
        .await?;

    // Read back and re-hash: the backup counts only once it verifies as written.
    let (_, summary) = backup_verify::verify_backup(transport, dir, cancel).await?;
    Ok(summary)
}

/// One member's outcome.
pub type Outcome = Result<BackupSummary, BackupError>;

/// Backs up every member concurrently; fails (listing each host's outcome) if any failed.
pub async fn backup_members(
    members: &[EtcdMember],
    transports: Arc<TransportPool>,
    plan: &BackupPlan,
    cancel: &CancellationToken,
) -> Result<Vec<BackupSummary>, BackupGateError> {
    let mut tasks = Vec::with_capacity(members.len());
    for member in members {
        let member = member.clone();
        let dir = plan.dir_for(&member);
        let transports = transports.clone();
        let cancel = cancel.clone();
        tasks.push(tokio::spawn(async move {
            let target = ConnectionTarget::from_host(&member.host)?;
            let transport = transports.get(member.host_name(), &target, &cancel).await?;
            backup_member(&transport, &member, &dir, &cancel).await
        }));
    }
    gate(members, outcomes(members, tasks).await)
}

/// Each member's outcome from its backup task, in member order (a task that panicked
/// counts as a failed backup).
pub(crate) async fn outcomes(
    members: &[EtcdMember],
    tasks: Vec<tokio::task::JoinHandle<Outcome>>,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(tasks.len());
    for (member, task) in members.iter().zip(tasks) {
        outcomes.push(match task.await {
            Ok(outcome) => outcome,
            Err(join) => Err(StepError::Failed {
                host: member.host_name().to_string(),
                step: "backup".into(),
                code: -1,
                detail: join.to_string(),
            }
            .into()),
        });
    }
    outcomes
}

/// All backups, or the gate error that lists every host's outcome.
pub fn gate(
    members: &[EtcdMember],
    outcomes: Vec<Outcome>,
) -> Result<Vec<BackupSummary>, BackupGateError> {
    gate_with(members, outcomes, "")
}

/// [`gate`], its help naming `etcd.backup` with `options` (`stopped: true, `) before `hosts`.
pub fn gate_with(
    members: &[EtcdMember],
    outcomes: Vec<Outcome>,
    options: &str,
) -> Result<Vec<BackupSummary>, BackupGateError> {
    if outcomes.iter().all(Result::is_ok) {
        return Ok(outcomes.into_iter().flatten().collect());
    }
    let total = outcomes.len();
    let mut lines = Vec::new();
    let mut helps: Vec<String> = Vec::new();
    let mut failed_hosts = Vec::new();
    let mut succeeded = Vec::new();
    for (member, outcome) in members.iter().zip(outcomes) {
        match outcome {
            Ok(summary) => {
                lines.push(format!(
                    "  {}: backed up into {} ({} files, {} bytes)",
                    summary.host, summary.dir, summary.files, summary.bytes
                ));
                succeeded.push(summary);
            }
            Err(error) => {
                let message = host_step::error_chain(&error).replace('\n', "\n    ");
                lines.push(format!("  {}: FAILED: {message}", member.host_name()));
                // Whichever write hit it, the remedy for a full disk is the same (and not the
                // permissions a failed write's own help suspects).
                let help = if message
                    .to_ascii_lowercase()
                    .contains("no space left on device")
                {
                    Some(format!(
                        "the disk filled up while the backup was written: free space on {} (`df -h {}`), then back up again",
                        member.host_name(),
                        member.data_dir
                    ))
                } else {
                    miette::Diagnostic::help(&error).map(|h| h.to_string())
                };
                if let Some(help) = help {
                    let help = format!("{}: {help}", member.host_name());
                    if !helps.contains(&help) {
                        helps.push(help);
                    }
                }
                failed_hosts.push(format!("\"{}\"", member.host_name()));
            }
        }
    }
    helps.push(format!(
        "the successful backups stay in place; after fixing the failures back up the rest with etcd.backup(#{{{options}hosts: [{}]}})",
        failed_hosts.join(", ")
    ));
    Err(BackupGateError {
        failed: failed_hosts.len(),
        total,
        outcomes: lines.join("\n"),
        help: helps.join("\n"),
        succeeded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Host;

    fn member() -> EtcdMember {
        let host = Host {
            name: "etcd-1".into(),
            vars: [("etcd_data_dir".to_string(), "/var/lib/etcd".into())]
                .into_iter()
                .collect(),
        };
        EtcdMember::from_host(&host).unwrap()
    }

    #[test]
    fn default_dir_is_openshift_ansibles() {
        let plan = BackupPlan {
            dir: None,
            stamp: "20170825135732".into(),
        };
        assert_eq!(
            plan.dir_for(&member()),
            "/var/lib/etcd/openshift-backup-pre-migration20170825135732"
        );
        let plan = BackupPlan {
            dir: Some("/srv/b/{host}".into()),
            stamp: String::new(),
        };
        assert_eq!(plan.dir_for(&member()), "/srv/b/etcd-1");
    }

    #[test]
    fn refuses_dirs_that_would_clobber_data() {
        let m = member();
        for dir in [
            "relative",
            "/var/lib/etcd",
            "/var/lib",
            "/var/lib/etcd/member",
            "/var/lib/etcd/member/snap/x",
            "/srv/../var",
        ] {
            assert!(check_dir(&m, dir).is_err(), "{dir} accepted");
        }
        assert!(check_dir(&m, "/var/lib/etcd/openshift-backup-x").is_ok());
        assert!(check_dir(&m, "/var/lib/etcd/member.old").is_ok());
    }
}
