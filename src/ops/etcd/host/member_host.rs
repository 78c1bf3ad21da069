//! An etcd member together with the means to act on its host: its transport
//! and its service manager (systemctl or the inventory's command template).

use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::conf_edit::EnvFile;
use crate::ops::etcd::membership::error::MembershipError;
use crate::ops::service::{ServiceAction, ServiceManager};
use crate::transport::{shell_quote, RunOptions, Transport};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A member and its host's transport and services.
#[derive(Clone)]
pub struct MemberHost {
    pub member: EtcdMember,
    pub transport: Arc<Transport>,
    pub services: ServiceManager,
}

impl MemberHost {
    pub fn new(member: EtcdMember, transport: Arc<Transport>) -> MemberHost {
        let services = ServiceManager::from_host(&member.host);
        MemberHost {
            member,
            transport,
            services,
        }
    }

    pub fn name(&self) -> &str {
        &self.member.name
    }

    pub async fn is_running(&self, cancel: &CancellationToken) -> Result<bool, MembershipError> {
        Ok(self
            .services
            .is_active(&self.transport, &self.member.service, cancel)
            .await?)
    }

    pub async fn service(
        &self,
        action: ServiceAction,
        cancel: &CancellationToken,
    ) -> Result<(), MembershipError> {
        Ok(self
            .services
            .control(&self.transport, action, &self.member.service, cancel)
            .await?)
    }

    /// The member's `etcd.conf`, as text.
    pub async fn read_conf(&self, cancel: &CancellationToken) -> Result<String, MembershipError> {
        let bytes = self
            .transport
            .read_file(&self.member.conf_file, cancel)
            .await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub async fn write_conf(
        &self,
        text: &str,
        cancel: &CancellationToken,
    ) -> Result<(), MembershipError> {
        Ok(self
            .transport
            .write_file(&self.member.conf_file, text.as_bytes(), cancel)
            .await?)
    }

    /// Keeps an owner-only copy of `etcd.conf` as `etcd.conf.runbook-<stamp>` and returns its path.
    pub async fn backup_conf(
        &self,
        original: &str,
        stamp: &str,
        cancel: &CancellationToken,
    ) -> Result<String, MembershipError> {
        let path = format!("{}.runbook-{stamp}", self.member.conf_file);
        self.transport
            .write_private_file(&path, original.as_bytes(), cancel)
            .await?;
        Ok(path)
    }

    /// Rewrites `etcd.conf` with `edit` applied, after keeping a copy; returns (original, copy path).
    pub async fn edit_conf(
        &self,
        stamp: &str,
        cancel: &CancellationToken,
        edit: impl FnOnce(&mut EnvFile),
    ) -> Result<(String, String), MembershipError> {
        let original = self.read_conf(cancel).await?;
        let backup = self.backup_conf(&original, stamp, cancel).await?;
        let mut conf = EnvFile::parse(&original);
        edit(&mut conf);
        self.write_conf(&conf.render(), cancel).await?;
        Ok((original, backup))
    }

    /// Runs a shell command there that must succeed.
    pub async fn run(
        &self,
        command: &str,
        cancel: &CancellationToken,
    ) -> Result<String, MembershipError> {
        let output = self
            .transport
            .run(command, &RunOptions::default(), cancel)
            .await?;
        if !output.success() {
            return Err(MembershipError::Request {
                operation: "host command",
                endpoints: self.member.host.name.clone(),
                reason: format!(
                    "`{command}` exited {}: {}",
                    output.code,
                    output.stderr_text().trim()
                ),
            });
        }
        Ok(output.stdout_text())
    }

    /// Moves `<data_dir>/member` aside to `member.old.<stamp>` (never deletes); None if there was none.
    pub async fn move_member_dir_aside(
        &self,
        stamp: &str,
        cancel: &CancellationToken,
    ) -> Result<Option<String>, MembershipError> {
        let from = format!("{}/member", self.member.data_dir.trim_end_matches('/'));
        if !self.transport.path_exists(&from, cancel).await? {
            return Ok(None);
        }
        let to = format!("{from}.old.{stamp}");
        self.run(
            &format!("mv -- {} {}", shell_quote(&from), shell_quote(&to)),
            cancel,
        )
        .await?;
        Ok(Some(to))
    }
}

/// A timestamp for file names: `YYYYmmddHHMMSS`, local time, as openshift-ansible's backups use.
pub fn stamp() -> String {
    chrono::Local::now().format("%Y%m%d%H%M%S").to_string()
}
