//! Where backups go: openshift-ansible's `<data_dir>/openshift-backup-pre-migration<stamp>`,
//! one stamp per run (one that names no existing directory), or a directory the runbook names.

use crate::ops::etcd::client::member::EtcdMember;
use crate::transport::files::FileError;
use crate::transport::Transport;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Name prefix of the backup directories inside the data dir (openshift-ansible's).
pub const BACKUP_PREFIX: &str = "openshift-backup-pre-migration";

/// The name of the member's etcd.conf copy inside a backup directory.
pub const BACKUP_CONF: &str = "etcd.conf";

/// Where the backups of one call go.
#[derive(Debug, Clone)]
pub struct BackupPlan {
    /// A directory for every host (`{host}` is replaced by the host's name);
    /// by default `<data_dir>/openshift-backup-pre-migration<stamp>`.
    pub dir: Option<String>,
    /// `YYYYmmddHHMMSS`, the same for every backup of a run.
    pub stamp: String,
}

impl BackupPlan {
    /// The backup directory of one member.
    pub fn dir_for(&self, member: &EtcdMember) -> String {
        match &self.dir {
            Some(template) => template.replace("{host}", member.host_name()),
            None => format!(
                "{}/{BACKUP_PREFIX}{}",
                member.data_dir.trim_end_matches('/'),
                self.stamp
            ),
        }
    }
}

/// The plan, with a stamp whose directories exist on none of `members`. A stamp has a
/// one-second resolution: a run resumed within the second of the attempt it resumes would
/// find that attempt's backups under the same names. A stamp that names an existing
/// directory is replaced by `renew()` a second later (up to three times).
pub async fn unused(
    mut plan: BackupPlan,
    members: &[(EtcdMember, Arc<Transport>)],
    renew: &mut (dyn FnMut() -> String + Send),
    cancel: &CancellationToken,
) -> Result<BackupPlan, FileError> {
    for _ in 0..3 {
        let mut taken = false;
        for (member, transport) in members {
            if transport.path_exists(&plan.dir_for(member), cancel).await? {
                taken = true;
                break;
            }
        }
        if !taken {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        plan.stamp = renew();
    }
    Ok(plan)
}
