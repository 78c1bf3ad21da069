//! Putting a member's `etcd.conf` back as its pre-migration backup holds it. Rebuilding the
//! cluster rewrites `ETCD_INITIAL_CLUSTER` and `ETCD_INITIAL_CLUSTER_STATE`, which a member
//! with data never reads again, so once the restored cluster runs, the file can be exactly
//! what it was before the migration; the file it replaces is kept beside it.

use crate::ops::etcd::backup::location::BACKUP_CONF;
use crate::ops::etcd::backup::verify::{self as backup_verify, VerifyError};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::member_host::stamp;
use crate::transport::Transport;
use tokio_util::sync::CancellationToken;

/// What putting etcd.conf back did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfRestored {
    pub host: String,
    /// The backup it came from.
    pub backup: String,
    /// Whether the file changed (false when it already was as backed up, or the backup,
    /// taken by an older runbook, holds no etcd.conf).
    pub restored: bool,
    /// Where the replaced file was kept.
    pub copy: Option<String>,
    /// Why nothing changed, when nothing did.
    pub note: Option<String>,
}

/// Puts `member`'s etcd.conf back from its newest verified pre-migration backup.
pub async fn restore_conf(
    transport: &Transport,
    member: &EtcdMember,
    cancel: &CancellationToken,
) -> Result<ConfRestored, VerifyError> {
    let dir = backup_verify::latest_backup_dir(transport, &member.data_dir, cancel).await?;
    let (manifest, _) = backup_verify::verify_backup(transport, &dir, cancel).await?;
    let host = member.host_name().to_string();
    let unchanged = |note: &str| ConfRestored {
        host: host.clone(),
        backup: dir.clone(),
        restored: false,
        copy: None,
        note: Some(note.to_string()),
    };
    if !manifest.files.iter().any(|f| f.path == BACKUP_CONF) {
        return Ok(unchanged(
            "the backup holds no etcd.conf (taken by an older runbook)",
        ));
    }
    let saved = transport
        .read_file(&format!("{dir}/{BACKUP_CONF}"), cancel)
        .await?;
    let current = transport.read_file(&member.conf_file, cancel).await?;
    if saved == current {
        return Ok(unchanged("etcd.conf is as backed up"));
    }
    let copy = format!("{}.runbook-{}", member.conf_file, stamp());
    transport.write_file(&copy, &current, cancel).await?;
    transport
        .write_file(&member.conf_file, &saved, cancel)
        .await?;
    Ok(ConfRestored {
        host,
        backup: dir,
        restored: true,
        copy: Some(copy),
        note: None,
    })
}
