//! An ssh connection refused over the host's key (unknown, or changed since it
//! was recorded) told apart from other connect failures, with the commands that
//! check and record the key.

use super::error::HostKeyDetail;
use super::{SshTarget, TransportError};

/// `Some` when ssh's `reason` for a failed connection is the host key check.
pub fn refusal(
    host: &str,
    address: &str,
    target: &SshTarget,
    reason: &str,
) -> Option<TransportError> {
    let changed = reason.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || reason.contains("Host key for ") && reason.contains(" has changed");
    let unknown =
        reason.contains("host key is known for") || reason.contains("Host key verification failed");
    if !changed && !unknown {
        return None;
    }
    let known_hosts = target
        .known_hosts_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.ssh/known_hosts".to_string());
    let entry = if target.port == 22 {
        target.address.clone()
    } else {
        format!("[{}]:{}", target.address, target.port)
    };
    let scan = format!(
        "ssh-keyscan -p {} {} >> {known_hosts}",
        target.port, target.address
    );
    let (problem, help) = if changed {
        (
            format!("its host key changed since it was recorded in {known_hosts}"),
            format!(
                "if {host} was reinstalled or its keys rotated, confirm the new key's fingerprint with its administrator (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on {host}), then replace the old entry: `ssh-keygen -R '{entry}' -f {known_hosts}` and `{scan}`; if nothing changed on {host}, someone may be intercepting the connection: do not go on"
            ),
        )
    } else {
        (
            format!("its host key is not in {known_hosts}"),
            format!(
                "check the key's fingerprint on {host} (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), then record it: `{scan}` (or `ssh -p {} {}` once and accept it), or set runbook_ssh_known_hosts_file for {host} to a known_hosts file that holds it; ansible_host_key_checking=false skips the check (not recommended: a warning is logged each run)",
                target.port, target.address
            ),
        )
    };
    Some(TransportError::HostKey {
        host: host.to_string(),
        address: address.to_string(),
        help,
        detail: Box::new(HostKeyDetail {
            problem,
            reason: reason.to_string(),
        }),
    })
}
