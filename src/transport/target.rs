//! Where a host is and how to reach it, read from its inventory variables.

use std::path::PathBuf;
use std::time::Duration;

/// How to reach a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionTarget {
    /// `ansible_connection=local`: run commands on this machine.
    Local,
    /// `ansible_connection=ssh` (the default).
    Ssh(SshTarget),
}

/// Everything needed to open an ssh session to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// `ansible_host`, else the inventory name.
    pub address: String,
    /// `ansible_port` (default 22).
    pub port: u16,
    /// `ansible_user` / `ansible_ssh_user`, else ssh's own default.
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file`.
    pub key_file: Option<PathBuf>,
    /// `runbook_ssh_known_hosts_file`: a known_hosts file to use instead of the user's.
    pub known_hosts_file: Option<PathBuf>,
    /// Strict host-key checking; `ansible_host_key_checking=false` turns it off.
    pub strict_host_key_checking: bool,
    /// `ansible_ssh_timeout` / `ansible_timeout` (default 10s).
    pub connect_timeout: Duration,
}

impl ConnectionTarget {
    /// Reads `ansible_connection`, `ansible_host`, `ansible_port`, ... from a host's variables.
    pub fn from_host(
        host: &crate::inventory::Host,
    ) -> Result<ConnectionTarget, super::TransportError> {
        let _ = host;
        todo!("transport::target::from_host")
    }
}
