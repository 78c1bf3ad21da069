//! Restoring a stopped member from its pre-migration backup, as "Restoring etcd"
//! describes it, made safer: the backup is re-verified against its manifest first,
//! copied next to the live data (so a failed copy leaves the member untouched), the
//! current `member` directory is moved aside to `member.migrated.<stamp>` (never
//! deleted), and the copy takes its place. The member's migration record is moved
//! aside too: the data it described is gone. A restored data dir comes from
//! `etcdctl backup`, so it must then be started with force-new-cluster.

use crate::ops::etcd::backup::verify::{self as backup_verify, VerifyError};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::member_host::stamp;
use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::ops::etcd::host::stopped::{self as etcd_stopped, EtcdRunning};
use crate::ops::etcd::migrate::record::{self as migration_record, RecordError};
use crate::transport::{shell_quote, RunOptions, Transport};
use tokio_util::sync::CancellationToken;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Restored {
    pub host: String,
    /// The backup restored.
    pub backup: String,
    /// When it was taken (from its manifest).
    pub backup_created: String,
    pub files: u64,
    pub bytes: u64,
    /// Where the replaced `member` directory went, if there was one.
    pub moved_to: Option<String>,
    /// Where the migration record went, if there was one.
    pub record_moved_to: Option<String>,
}

/// Why a member could not be restored.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RestoreError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Running(#[from] EtcdRunning),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Verify(#[from] VerifyError),
    #[error("{host}: the backup {dir} was taken on {taken_on}, not on {host}")]
    #[diagnostic(
        code(runbook::etcd::restore::other_host),
        help("restore each member from its own backup: etcd.restore(host) finds the newest one in its data dir, or pass one taken on {host} as #{{dir: \"...\"}}")
    )]
    OtherHost {
        host: String,
        dir: String,
        taken_on: String,
    },
    #[error("{host}: copying {dir}/member next to {data_dir}/member failed: {detail}")]
    #[diagnostic(
        code(runbook::etcd::restore::copy),
        help("{data_dir}/member on {host} was left as it was; check the free space of its filesystem (`df {data_dir}`) and that the connecting user may write there, then run the restore again")
    )]
    Copy {
        host: String,
        dir: String,
        data_dir: String,
        detail: String,
    },
    #[error("{host}: putting the restored copy in place of {data_dir}/member failed: {detail}")]
    #[diagnostic(
        code(runbook::etcd::restore::swap),
        help("look in {data_dir} on {host}: the migrated data is in member.migrated.<stamp> and the restored copy in member.restoring.<stamp>; move the copy to {data_dir}/member by hand, or run the restore again")
    )]
    Swap {
        host: String,
        data_dir: String,
        detail: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
}

/// `sh` that copies `<backup>/member` to `member.restoring.<stamp>` beside the live
/// data, gives it the owner of the data it replaces, moves the live `member` aside
/// and the copy into its place, owner-only whatever the backup's modes were. Prints `moved PATH` when a directory was moved aside.
fn swap_script(data_dir: &str, backup: &str, stamp: &str) -> String {
    format!(
        r#"umask 077; d={data}; b={backup}; s={stamp}
free() {{ n=0; p=$1; while [ -e "$p" ] || [ -L "$p" ]; do n=$((n + 1)); p="$1.$n"; done; printf '%s' "$p"; }}
t=$(free "$d/member.restoring.$s")
cp -a -- "$b/member" "$t" || {{ rm -rf -- "$t"; exit 10; }}
ref="$d/member"; [ -d "$ref" ] || ref=$d
if [ "$(id -u)" = 0 ]; then chown -R --reference="$ref" -- "$t" || {{ rm -rf -- "$t"; exit 10; }}; fi
chmod -R go-rwx -- "$t" && chmod 0700 -- "$t" || {{ rm -rf -- "$t"; exit 10; }}
if [ -e "$d/member" ] || [ -L "$d/member" ]; then
  m=$(free "$d/member.migrated.$s")
  mv -- "$d/member" "$m" || {{ rm -rf -- "$t"; exit 11; }}
  printf 'moved %s\n' "$m"
fi
mv -- "$t" "$d/member" || exit 12
if command -v restorecon >/dev/null 2>&1; then restorecon -R -- "$d/member" >/dev/null 2>&1; fi
exit 0"#,
        data = shell_quote(data_dir.trim_end_matches('/')),
        backup = shell_quote(backup.trim_end_matches('/')),
        stamp = shell_quote(stamp),
    )
}

/// Restores `member` (etcd stopped there) from the backup in `dir`, or from the
/// newest verified `openshift-backup-pre-migration*` in its data dir.
pub async fn restore_member(
    transport: &Transport,
    member: &EtcdMember,
    dir: Option<&str>,
    cancel: &CancellationToken,
) -> Result<Restored, RestoreError> {
    let host = member.host_name().to_string();
    etcd_stopped::check_stopped(transport, member, cancel).await?;
    let dir = match dir {
        Some(dir) => dir.to_string(),
        None => backup_verify::latest_backup_dir(transport, &member.data_dir, cancel).await?,
    };
    let (manifest, summary) = backup_verify::verify_backup(transport, &dir, cancel).await?;
    if manifest.host != host {
        return Err(RestoreError::OtherHost {
            host,
            dir,
            taken_on: manifest.host,
        });
    }

    let stamp = stamp();
    let script = swap_script(&member.data_dir, &dir, &stamp);
    let output = host_step::run(transport, &script, &RunOptions::default(), cancel).await?;
    let detail = || host_step::output_detail(&output);
    match output.code {
        0 => {}
        10 => {
            return Err(RestoreError::Copy {
                host,
                dir,
                data_dir: member.data_dir.clone(),
                detail: detail(),
            })
        }
        11 | 12 => {
            return Err(RestoreError::Swap {
                host,
                data_dir: member.data_dir.clone(),
                detail: detail(),
            })
        }
        _ => return Err(StepError::failed(&host, "restoring the backup", &output).into()),
    }
    let moved_to = output
        .stdout_text()
        .lines()
        .find_map(|l| l.strip_prefix("moved ").map(str::to_string));
    let record_moved_to = migration_record::move_aside(transport, member, &stamp, cancel).await?;
    Ok(Restored {
        host,
        backup: dir,
        backup_created: manifest.created,
        files: summary.files,
        bytes: summary.bytes,
        moved_to,
        record_moved_to,
    })
}
