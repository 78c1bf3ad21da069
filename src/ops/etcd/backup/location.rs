//! Where backups go: openshift-ansible's `<data_dir>/openshift-backup-pre-migration<stamp>`,
//! one stamp per run, or a directory the runbook names.

use crate::ops::etcd::client::member::EtcdMember;

/// Name prefix of the backup directories inside the data dir (openshift-ansible's).
pub const BACKUP_PREFIX: &str = "openshift-backup-pre-migration";

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
