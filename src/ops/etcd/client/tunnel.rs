//! Reaching a member's client port through its host's ssh session: a local port
//! forward (`ssh -L 127.0.0.1:PORT:etcd_ip:2379`), so the control machine needs
//! no route to the member's client port, only ssh to its host.

use crate::inventory::Host;
use crate::transport::ssh::SshTransport;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// Local ports tried before giving up (a port picked as free may be taken before ssh binds it).
const ATTEMPTS: usize = 5;

/// Why a tunnel could not be opened, or whether to open one is unclear.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TunnelError {
    #[error("{host}: runbook_etcd_tunnel={value} is not a boolean")]
    #[diagnostic(
        code(runbook::etcd::tunnel::variable),
        help("set runbook_etcd_tunnel for {host} to true (reach etcd through the host's ssh session) or false (connect to the client URL directly)")
    )]
    BadVariable { host: String, value: String },
    #[error(
        "cannot open an ssh tunnel to etcd of {member} ({remote}) through {address}: {reason}"
    )]
    #[diagnostic(
        code(runbook::etcd::tunnel::forward),
        help("the ssh server on {member} must allow TCP forwarding (AllowTcpForwarding yes in sshd_config); or set runbook_etcd_tunnel=false for {member} if this machine can reach {remote} directly")
    )]
    Forward {
        member: String,
        address: String,
        remote: String,
        reason: String,
    },
}

/// `runbook_etcd_tunnel` of a host: `Some(true|false)` when set, `None` when not.
pub fn tunnel_setting(host: &Host) -> Result<Option<bool>, TunnelError> {
    host.var_bool("runbook_etcd_tunnel")
        .map_err(|_| TunnelError::BadVariable {
            host: host.name.clone(),
            value: host.var_str("runbook_etcd_tunnel").unwrap_or_default(),
        })
}

/// Forwards a free loopback port of this machine to `remote_host:remote_port` as
/// the member's host sees it; returns the local address to dial.
pub async fn open(
    ssh: &SshTransport,
    member: &str,
    remote_host: &str,
    remote_port: u16,
) -> Result<SocketAddr, TunnelError> {
    let fail = |reason: String| TunnelError::Forward {
        member: member.to_string(),
        address: ssh.address().to_string(),
        remote: format!("{remote_host}:{remote_port}"),
        reason,
    };
    let mut last = String::new();
    for _ in 0..ATTEMPTS {
        let local = free_local_port().map_err(|e| fail(format!("no free local port: {e}")))?;
        match ssh.forward_local(local, remote_host, remote_port).await {
            Ok(()) => {
                tracing::debug!(member, %local, remote_host, remote_port, "ssh tunnel open");
                return Ok(local);
            }
            Err(reason) => last = reason,
        }
    }
    Err(fail(last))
}

fn free_local_port() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    listener.local_addr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(value: serde_json::Value) -> Host {
        let mut vars = indexmap::IndexMap::new();
        vars.insert("runbook_etcd_tunnel".to_string(), value);
        Host {
            name: "etcd-1".into(),
            vars,
        }
    }

    #[test]
    fn reads_booleans_leniently() {
        assert_eq!(tunnel_setting(&host(json!("yes"))).unwrap(), Some(true));
        assert_eq!(tunnel_setting(&host(json!(false))).unwrap(), Some(false));
        assert_eq!(tunnel_setting(&host(json!(0))).unwrap(), Some(false));
        assert_eq!(tunnel_setting(&host(json!(null))).unwrap(), None);
        let err = tunnel_setting(&host(json!("maybe"))).unwrap_err();
        assert!(
            err.to_string().contains("runbook_etcd_tunnel=maybe"),
            "{err}"
        );
    }
}
