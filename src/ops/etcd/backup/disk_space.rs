//! The free-space check before a backup, as openshift-ansible makes it: the
//! backup needs twice the size of the data dir (earlier `openshift-backup-*`
//! directories not counted) free on the filesystem that will hold it.

use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::transport::{shell_quote, Transport};
use tokio_util::sync::CancellationToken;

/// Sizes in KiB, as `du -k` and `df -k` report them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceReport {
    /// Disk usage of the data dir without earlier backups.
    pub used_kib: u64,
    /// Space available to the connecting user on the backup's filesystem.
    pub available_kib: u64,
    /// The existing directory `df` was asked about (the backup dir or its nearest existing parent).
    pub checked_at: String,
}

impl SpaceReport {
    /// What the backup needs: twice the data dir.
    pub fn needed_kib(&self) -> u64 {
        self.used_kib.saturating_mul(2)
    }

    pub fn enough(&self) -> bool {
        self.needed_kib() <= self.available_kib
    }
}

/// Why a backup may not start for lack of space, or the space could not be measured.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiskSpaceError {
    #[error(
        "{host}: not enough disk space for the backup in {backup_dir}: it needs {needed_kib} KiB \
         (2 x {used_kib} KiB used by {data_dir}), {available_kib} KiB are available on the filesystem of {checked_at}"
    )]
    #[diagnostic(
        code(runbook::etcd::backup::disk_space),
        help("free at least {missing_kib} KiB on {host} under {checked_at}, or back up to a filesystem with room: etcd.backup(#{{dir: \"/path/with/room/etcd-backup-{{host}}\"}})")
    )]
    NotEnough {
        host: String,
        data_dir: String,
        backup_dir: String,
        checked_at: String,
        used_kib: u64,
        needed_kib: u64,
        available_kib: u64,
        missing_kib: u64,
    },
    #[error("{host}: cannot measure disk space for the backup: {reason}")]
    #[diagnostic(
        code(runbook::etcd::backup::disk_space_unknown),
        help(
            "the host needs `du` and `df` (GNU coreutils); check that {data_dir} exists on {host}"
        )
    )]
    Unknown {
        host: String,
        data_dir: String,
        reason: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
}

/// `sh` printing `USED_KIB AVAIL_KIB DIR`: `du` of the data dir without old
/// backups, and `df -P` of the backup dir's nearest existing ancestor.
fn space_script(data_dir: &str, backup_dir: &str) -> String {
    format!(
        r#"d={data}; b={backup}
[ -d "$d" ] || {{ echo "no data dir $d" >&2; exit 2; }}
used=$(du -sk --exclude='openshift-backup-*' -- "$d") || exit 1
p=$b
while [ ! -e "$p" ]; do p=$(dirname -- "$p"); done
avail=$(df -Pk -- "$p" | awk 'NR == 2 {{ print $4 }}') || exit 1
printf '%s %s %s\n' "${{used%%[!0-9]*}}" "$avail" "$p""#,
        data = shell_quote(data_dir),
        backup = shell_quote(backup_dir)
    )
}

fn parse(text: &str) -> Option<SpaceReport> {
    let line = text.lines().last()?;
    let mut parts = line.splitn(3, ' ');
    let used_kib = parts.next()?.parse().ok()?;
    let available_kib = parts.next()?.parse().ok()?;
    let checked_at = parts.next()?.to_string();
    Some(SpaceReport {
        used_kib,
        available_kib,
        checked_at,
    })
}

/// Measures the data dir and the space where the backup will go.
pub async fn measure(
    transport: &Transport,
    data_dir: &str,
    backup_dir: &str,
    cancel: &CancellationToken,
) -> Result<SpaceReport, DiskSpaceError> {
    let host = transport.host_name().to_string();
    let output = host_step::run(
        transport,
        &space_script(data_dir, backup_dir),
        &Default::default(),
        cancel,
    )
    .await?;
    if !output.success() {
        return Err(DiskSpaceError::Unknown {
            host,
            data_dir: data_dir.to_string(),
            reason: host_step::output_detail(&output),
        });
    }
    parse(&output.stdout_text()).ok_or_else(|| DiskSpaceError::Unknown {
        host,
        data_dir: data_dir.to_string(),
        reason: format!("unexpected output {:?}", output.stdout_text()),
    })
}

/// Fails unless there is room for the backup.
pub async fn check(
    transport: &Transport,
    data_dir: &str,
    backup_dir: &str,
    cancel: &CancellationToken,
) -> Result<SpaceReport, DiskSpaceError> {
    let report = measure(transport, data_dir, backup_dir, cancel).await?;
    if report.enough() {
        return Ok(report);
    }
    Err(DiskSpaceError::NotEnough {
        host: transport.host_name().to_string(),
        data_dir: data_dir.to_string(),
        backup_dir: backup_dir.to_string(),
        checked_at: report.checked_at.clone(),
        used_kib: report.used_kib,
        needed_kib: report.needed_kib(),
        available_kib: report.available_kib,
        missing_kib: report.needed_kib() - report.available_kib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_and_a_path_with_spaces() {
        let report = parse("128 1000 /var/lib/my etcd\n").unwrap();
        assert_eq!(report.used_kib, 128);
        assert_eq!(report.available_kib, 1000);
        assert_eq!(report.checked_at, "/var/lib/my etcd");
        assert!(report.enough());
        assert!(!parse("600 1000 /x").unwrap().enough());
        assert!(parse("x 1 /").is_none());
    }
}
