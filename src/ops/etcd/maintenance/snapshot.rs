//! `etcd.snapshot_save` and `etcd.snapshot_status`: a v3 snapshot of one member written by
//! the host's own etcdctl to a file on that host (a temp name in the same directory, owner
//! only, then linked to its name, so a file is never overwritten nor left half written), and
//! what the file holds as `etcdctl snapshot status` reads it, with its sha256 and size.

use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::etcdctl::command::{self as etcdctl, Api, EtcdctlCall, EtcdctlError};
use crate::ops::etcd::host::step::output_detail;
use crate::ops::etcd::maintenance::error::MaintenanceError;
use crate::transport::{shell_quote, RunOptions, Transport};
use tokio_util::sync::CancellationToken;

/// The etcdctl that works on the host's files (a containerized one sees its own).
const HOST_ETCDCTL: &str = "etcdctl";

/// A snapshot file and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    pub host: String,
    pub path: String,
    /// The newest revision in the file.
    pub revision: i64,
    /// The entries in the file as etcdctl counts them (`totalKey`).
    pub keys: i64,
    /// The file's size.
    pub bytes: u64,
    /// sha256 of the file, hex.
    pub sha256: String,
    /// etcdctl's hash of the file's contents.
    pub hash: u32,
}

fn path_error(member: &EtcdMember, path: &str, reason: &'static str) -> MaintenanceError {
    MaintenanceError::SnapshotPath {
        host: member.host_name().to_string(),
        path: path.to_string(),
        reason,
    }
}

/// Refuses a relative path, a missing directory and (unless `existing`) a taken path.
async fn check_path(
    transport: &Transport,
    member: &EtcdMember,
    path: &str,
    existing: bool,
    cancel: &CancellationToken,
) -> Result<(), MaintenanceError> {
    if !path.starts_with('/') || path.ends_with('/') {
        return Err(path_error(member, path, "it is not an absolute file path"));
    }
    let script = format!(
        r#"p={}; d=$(dirname -- "$p"; echo .); d=${{d%??}}
[ -d "$d" ] || exit 20
if [ -e "$p" ] || [ -L "$p" ]; then [ -f "$p" ] || exit 23; exit 22; fi
exit 0"#,
        shell_quote(path)
    );
    let output = transport
        .run(&script, &RunOptions::default(), cancel)
        .await?;
    match (output.code, existing) {
        (0, false) | (22, true) => Ok(()),
        (0, true) => Err(path_error(member, path, "there is no such file")),
        (20, _) => Err(path_error(member, path, "its directory does not exist")),
        (22, false) | (23, false) => Err(MaintenanceError::SnapshotExists {
            host: member.host_name().to_string(),
            path: path.to_string(),
        }),
        (23, true) => Err(path_error(member, path, "it is not a regular file")),
        _ => Err(MaintenanceError::SnapshotSave {
            host: member.host_name().to_string(),
            path: path.to_string(),
            detail: output_detail(&output),
        }),
    }
}

/// The temp name a snapshot is written under, in the directory of `path`.
fn temp_name(path: &str) -> String {
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{dir}/.{base}.runbook-{}-{stamp}", std::process::id())
}

/// Saves a v3 snapshot of `member` to `path` on its host.
pub async fn save(
    transport: &Transport,
    member: &EtcdMember,
    path: &str,
    cancel: &CancellationToken,
) -> Result<SnapshotFile, MaintenanceError> {
    check_path(transport, member, path, false, cancel).await?;
    let temp = temp_name(path);
    let quoted_temp = shell_quote(&temp);
    let call = EtcdctlCall {
        api: Api::V3,
        args: format!("snapshot save {quoted_temp} >/dev/null"),
        json: false,
        timeout: None,
    };
    // etcdctl runs with umask 077: the file is owner-only from the start.
    let saved = etcdctl::run_with(transport, member, HOST_ETCDCTL, &call, cancel).await;
    let cleanup = format!("rm -f -- {quoted_temp} {quoted_temp}.part");
    if let Err(error) = saved {
        let _ = transport
            .run(&cleanup, &RunOptions::default(), cancel)
            .await;
        return Err(match error {
            EtcdctlError::Failed { stderr, .. } => MaintenanceError::SnapshotSave {
                host: member.host_name().to_string(),
                path: path.to_string(),
                detail: stderr,
            },
            other => other.into(),
        });
    }
    // A link never replaces a file that appeared meanwhile; then the temp name goes.
    let finish = format!(
        r#"t={quoted_temp}; p={}
chmod 0600 -- "$t" || exit 1
ln -- "$t" "$p" || exit 22
rm -f -- "$t""#,
        shell_quote(path)
    );
    let output = transport
        .run(&finish, &RunOptions::default(), cancel)
        .await?;
    if !output.success() {
        let _ = transport
            .run(&cleanup, &RunOptions::default(), cancel)
            .await;
        if output.code == 22 && transport.path_exists(path, cancel).await.unwrap_or(false) {
            return Err(MaintenanceError::SnapshotExists {
                host: member.host_name().to_string(),
                path: path.to_string(),
            });
        }
        return Err(MaintenanceError::SnapshotSave {
            host: member.host_name().to_string(),
            path: path.to_string(),
            detail: output_detail(&output),
        });
    }
    read_status(transport, member, path, cancel).await
}

/// What the snapshot file at `path` on the member's host holds.
pub async fn status(
    transport: &Transport,
    member: &EtcdMember,
    path: &str,
    cancel: &CancellationToken,
) -> Result<SnapshotFile, MaintenanceError> {
    check_path(transport, member, path, true, cancel).await?;
    read_status(transport, member, path, cancel).await
}

async fn read_status(
    transport: &Transport,
    member: &EtcdMember,
    path: &str,
    cancel: &CancellationToken,
) -> Result<SnapshotFile, MaintenanceError> {
    let quoted = shell_quote(path);
    let call = EtcdctlCall {
        api: Api::V3,
        args: format!("snapshot status {quoted}"),
        json: true,
        timeout: None,
    };
    let output = etcdctl::run_with(transport, member, HOST_ETCDCTL, &call, cancel).await?;
    let unreadable = |reason: String| MaintenanceError::SnapshotStatus {
        host: member.host_name().to_string(),
        path: path.to_string(),
        reason,
    };
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| unreadable(format!("{e}: {}", output.stdout_text().trim())))?;
    let number = |name: &str| {
        json[name]
            .as_i64()
            .ok_or_else(|| unreadable(format!("no `{name}` in {json}")))
    };
    let (revision, keys, hash) = (number("revision")?, number("totalKey")?, number("hash")?);
    let sums = format!("p={quoted}; sha256sum -- \"$p\" | cut -d' ' -f1 && wc -c < \"$p\"");
    let output = transport.run(&sums, &RunOptions::default(), cancel).await?;
    let text = output.stdout_text();
    let mut lines = text.lines();
    let (Some(sha256), Some(bytes), true) = (lines.next(), lines.next(), output.success()) else {
        return Err(unreadable(format!(
            "sha256sum and wc failed: {}",
            output_detail(&output)
        )));
    };
    Ok(SnapshotFile {
        host: member.host_name().to_string(),
        path: path.to_string(),
        revision,
        keys,
        bytes: bytes
            .trim()
            .parse()
            .map_err(|_| unreadable(format!("size `{bytes}`")))?,
        sha256: sha256.trim().to_string(),
        hash: u32::try_from(hash).unwrap_or(0),
    })
}
