//! The backup of a cluster whose members are all stopped: what etcd left on disk is the
//! backup. Every member's `member` directory is hashed where it is, its manifest written, and
//! then renamed into the backup directory: the backup is the original files, untouched, at
//! the cost of a rename. The member about to be migrated (`keep`) then gets a copy of them
//! back in place for `etcdctl migrate` to work on; that copy needs no flush to disk, since
//! if it is lost the backup still holds the original. Restoring every member gives back the
//! cluster itself, same member IDs and peer URLs.
//!
//! The manifest is written before the rename, so an interrupted move leaves a complete,
//! verifiable backup, which a second call finds and returns (making the kept member's copy
//! again if it is missing). A backup directory on another filesystem than the data (where
//! `mv` would copy) gets a copy instead, hashed side by side with the live files.

use super::working_copy::WORKING_COPY;
use crate::ops::etcd::backup::disk_space;
use crate::ops::etcd::backup::location::{BackupPlan, BACKUP_CONF};
use crate::ops::etcd::backup::manifest::{
    self, BackupMethod, FileEntry, Manifest, MANIFEST_FORMAT,
};
use crate::ops::etcd::backup::take::{
    aborted, check_dir, dir_created, gate_with, outcomes, BackupError, BackupGateError,
};
use crate::ops::etcd::backup::verify::{self as backup_verify, BackupSummary, VerifyError};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::step as host_step;
use crate::ops::etcd::host::stopped as etcd_stopped;
use crate::transport::{shell_quote, ConnectionTarget, RunOptions, Transport, TransportPool};
use chrono::{SecondsFormat, Utc};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The paths of a hash of `<data_dir>/member` as they are inside a backup directory.
fn under_member(files: Vec<FileEntry>) -> Vec<FileEntry> {
    files
        .into_iter()
        .map(|f| FileEntry {
            path: format!("member/{}", f.path),
            ..f
        })
        .collect()
}

fn write_manifest_json(
    member: &EtcdMember,
    files: Vec<FileEntry>,
    method: BackupMethod,
) -> Vec<u8> {
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        host: member.host_name().to_string(),
        data_dir: member.data_dir.clone(),
        created: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        runbook_version: env!("CARGO_PKG_VERSION").to_string(),
        files,
        method,
    };
    serde_json::to_vec_pretty(&manifest).unwrap_or_default()
}

/// `sh` that creates the backup directory (0700, never an existing one) and copies the
/// member's etcd.conf into it. Exit 10: no data; 11: the directory exists.
fn prepare_script(member: &EtcdMember, dir: &str) -> String {
    format!(
        r#"umask 077; d={data}; b={dir}; c={conf}
[ -d "$d/member" ] || exit 10
[ ! -e "$b" ] && [ ! -L "$b" ] || exit 11
mkdir -p -- "$(dirname -- "$b")" && mkdir -m 0700 -- "$b" || exit 1
if [ -f "$c" ]; then cp -- "$c" "$b/{BACKUP_CONF}" && chmod 0600 -- "$b/{BACKUP_CONF}" || exit 1; fi
[ "$(stat -c %d -- "$d")" = "$(stat -c %d -- "$b")" ] && echo same-filesystem
exit 0"#,
        data = shell_quote(member.data_dir.trim_end_matches('/')),
        dir = shell_quote(dir),
        conf = shell_quote(&member.conf_file),
    )
}

/// Flushes the backup's files to disk: the data they copy is about to change.
fn sync_script(dir: &str) -> String {
    format!(
        r#"b={dir}; find "$b" -type f -exec sync -- {{}} + 2>/dev/null || sync"#,
        dir = shell_quote(dir)
    )
}

/// Backs up the stopped `member` into `dir`: a move, with a copy of the data put back in
/// place when `keep`; a copy when `dir` is on another filesystem. A member whose data is
/// already in a moved backup (an interrupted call) gets that backup back, verified.
pub async fn backup_stopped_member(
    transport: &Transport,
    member: &EtcdMember,
    dir: &str,
    keep: bool,
    cancel: &CancellationToken,
) -> Result<BackupSummary, BackupError> {
    let host = member.host_name().to_string();
    check_dir(member, dir)?;
    etcd_stopped::check_stopped(transport, member, cancel)
        .await
        .map_err(|e| BackupError::Running(Box::new(e)))?;
    if let Some(moved) = earlier_move(transport, member, cancel).await? {
        if keep {
            copy_back(transport, member, &moved.dir, cancel).await?;
        }
        return Ok(moved);
    }
    let output = host_step::run(
        transport,
        &prepare_script(member, dir),
        &RunOptions::default(),
        cancel,
    )
    .await?;
    dir_created(member, dir, &output)?;
    let same_filesystem = output.stdout_text().contains("same-filesystem");
    let filled = if !same_filesystem {
        copy(transport, member, dir, cancel).await
    } else if keep {
        move_and_copy_back(transport, member, dir, cancel).await
    } else {
        move_aside(transport, member, dir, cancel).await
    };
    match filled {
        Ok(summary) => Ok(summary),
        Err(error) => {
            // A move puts the data back first; then the unfinished directory goes.
            let restore = format!(
                r#"d={data}; b={dir}
if [ -d "$b/member" ] && [ ! -e "$d/member" ]; then mv -- "$b/member" "$d/member" || exit 1; fi
rm -rf -- "$b""#,
                data = shell_quote(member.data_dir.trim_end_matches('/')),
                dir = shell_quote(dir),
            );
            let done = "was removed, the data left where it was";
            Err(aborted(transport, &host, dir, &restore, done, error, cancel).await)
        }
    }
}

/// `sh` that copies `<dir>/member` back to the member's `member` (never over one), through
/// [`WORKING_COPY`]; a failed copy is removed.
fn copy_back_script(member: &EtcdMember, dir: &str) -> String {
    format!(
        r#"umask 077; d={data}; b={dir}; w="$d/{WORKING_COPY}"
[ ! -e "$d/member" ] || exit 12
rm -rf -- "$w" || exit 1
if ! cp -a --reflink=auto -- "$b/member" "$w"; then rm -rf -- "$w"; exit 1; fi
mv -- "$w" "$d/member""#,
        data = shell_quote(member.data_dir.trim_end_matches('/')),
        dir = shell_quote(dir),
    )
}

/// Puts a copy of the moved backup in `dir` back in place, for `etcdctl migrate`.
async fn copy_back(
    transport: &Transport,
    member: &EtcdMember,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<(), BackupError> {
    host_step::run_ok(
        transport,
        "copying the stopped member's data",
        &copy_back_script(member, dir),
        cancel,
    )
    .await?;
    Ok(())
}

/// The kept member: room for a second copy checked, its data moved into `dir` as the others'
/// are, then a copy put back in place.
async fn move_and_copy_back(
    transport: &Transport,
    member: &EtcdMember,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<BackupSummary, BackupError> {
    disk_space::check(transport, &member.data_dir, dir, cancel).await?;
    let summary = move_aside(transport, member, dir, cancel).await?;
    copy_back(transport, member, dir, cancel).await?;
    Ok(summary)
}

/// The copy (a backup on another filesystem): `cp -a` (reflinked where the filesystem can),
/// then the live `member` and the copy hashed side by side; the copy counts only if every
/// file matches.
async fn copy(
    transport: &Transport,
    member: &EtcdMember,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<BackupSummary, BackupError> {
    let host = member.host_name().to_string();
    disk_space::check(transport, &member.data_dir, dir, cancel).await?;
    let live = format!("{}/member", member.data_dir.trim_end_matches('/'));
    let script = format!(
        r#"umask 077; cp -a --reflink=auto -- {live} {dir}/member"#,
        live = shell_quote(&live),
        dir = shell_quote(dir),
    );
    host_step::run_ok(
        transport,
        "copying the stopped member's data",
        &script,
        cancel,
    )
    .await?;
    let (source, copied) = tokio::join!(
        manifest::hash_tree(transport, &live, cancel),
        manifest::hash_tree(transport, dir, cancel),
    );
    let source = under_member(source?);
    let copied = copied?;
    let member_files: Vec<FileEntry> = copied
        .iter()
        .filter(|f| f.path.starts_with("member/"))
        .cloned()
        .collect();
    let problems = manifest::compare(&source, &member_files);
    if !problems.is_empty() {
        return Err(VerifyError::mismatch(&host, dir, &problems).into());
    }
    seal(transport, member, dir, copied, BackupMethod::Copy, cancel).await
}

/// The move: `member` hashed where it is, the manifest written, then renamed into `dir`.
async fn move_aside(
    transport: &Transport,
    member: &EtcdMember,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<BackupSummary, BackupError> {
    let live = format!("{}/member", member.data_dir.trim_end_matches('/'));
    let mut files = under_member(manifest::hash_tree(transport, &live, cancel).await?);
    files.extend(manifest::hash_tree(transport, dir, cancel).await?);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let json = write_manifest_json(member, files, BackupMethod::Move);
    transport
        .write_private_file(&manifest::manifest_path(dir), &json, cancel)
        .await?;
    let script = format!(
        "mv -- {live} {dir}/member",
        live = shell_quote(&live),
        dir = shell_quote(dir)
    );
    host_step::run_ok(
        transport,
        "moving the stopped member's data",
        &script,
        cancel,
    )
    .await?;
    host_step::run_ok(transport, "flushing the backup", &sync_script(dir), cancel).await?;
    summary_of(transport, dir, cancel).await
}

/// Writes the manifest of a filled directory, flushes it, and returns its summary.
async fn seal(
    transport: &Transport,
    member: &EtcdMember,
    dir: &str,
    files: Vec<FileEntry>,
    method: BackupMethod,
    cancel: &CancellationToken,
) -> Result<BackupSummary, BackupError> {
    let json = write_manifest_json(member, files, method);
    transport
        .write_private_file(&manifest::manifest_path(dir), &json, cancel)
        .await?;
    host_step::run_ok(transport, "flushing the backup", &sync_script(dir), cancel).await?;
    summary_of(transport, dir, cancel).await
}

/// The summary of a directory whose manifest was just written from its hashed files.
async fn summary_of(
    transport: &Transport,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<BackupSummary, BackupError> {
    let manifest = backup_verify::read_manifest(transport, dir, cancel).await?;
    Ok(BackupSummary {
        host: transport.host_name().to_string(),
        dir: dir.to_string(),
        files: manifest.files.len() as u64,
        bytes: manifest.bytes(),
        method: manifest.method,
    })
}

/// A member with no `member` directory whose newest backup is a move of its data: an
/// earlier call moved it. That backup, verified, or `None` if the data is still in place.
async fn earlier_move(
    transport: &Transport,
    member: &EtcdMember,
    cancel: &CancellationToken,
) -> Result<Option<BackupSummary>, BackupError> {
    let live = format!("{}/member", member.data_dir.trim_end_matches('/'));
    if transport.path_exists(&live, cancel).await? {
        return Ok(None);
    }
    let dir = match backup_verify::latest_backup_dir(transport, &member.data_dir, cancel).await {
        Ok(dir) => dir,
        Err(VerifyError::NoneFound { .. }) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let (manifest, summary) = backup_verify::verify_backup(transport, &dir, cancel).await?;
    if manifest.method != BackupMethod::Move || manifest.host != member.host_name() {
        return Ok(None);
    }
    Ok(Some(summary))
}

/// Backs up every member (all stopped) concurrently, each by a move, those in `keep` with a
/// copy of their data put back in place. Fails, listing each host's outcome, if any failed.
pub async fn backup_stopped_members(
    members: &[EtcdMember],
    keep: &[String],
    transports: Arc<TransportPool>,
    plan: &BackupPlan,
    cancel: &CancellationToken,
) -> Result<Vec<BackupSummary>, BackupGateError> {
    let mut tasks = Vec::with_capacity(members.len());
    for member in members {
        let member = member.clone();
        let dir = plan.dir_for(&member);
        let keep = keep.iter().any(|k| k == member.host_name());
        let transports = transports.clone();
        let cancel = cancel.clone();
        tasks.push(tokio::spawn(async move {
            let target = ConnectionTarget::from_host(&member.host)?;
            let transport = transports.get(member.host_name(), &target, &cancel).await?;
            backup_stopped_member(&transport, &member, &dir, keep, &cancel).await
        }));
    }
    // Run again, the moved members find their backups (the kept ones their copy too).
    gate_with(members, outcomes(members, tasks).await, "stopped: true, ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_paths_become_the_backups_paths() {
        let files = under_member(vec![FileEntry {
            path: "wal/0.wal".into(),
            size: 3,
            sha256: "a".repeat(64),
        }]);
        assert_eq!(files[0].path, "member/wal/0.wal");
    }
}
