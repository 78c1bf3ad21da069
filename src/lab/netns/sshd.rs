//! A lab host's sshd as a fault: stopped together with every session it carries (as when
//! sshd is killed, or stopped with its sessions), then started again in the host's own
//! namespaces and recorded as the host's anchor.

use super::host::{self, ANCHOR};
use super::network::NetHost;
use crate::lab::error::LabError;
use crate::lab::layout::HostLayout;
use crate::lab::pidfile::{start_time, RecordedProcess};
use std::process::Command;
use std::time::Duration;

/// Stops the host's sshd (its anchor) and each connection's sshd process, so every ssh
/// session to the host ends. Services keep running, and keep the host's mount namespace.
/// Returns the pids stopped.
pub fn stop(host: &HostLayout) -> Result<Vec<i32>, LabError> {
    let Some(anchor) = host::anchor(host) else {
        return Err(LabError::Netns {
            what: format!("stopping sshd on {}", host.name),
            reason: "it does not run".into(),
        });
    };
    // The listener first, so no new connection is accepted while the others go.
    let sessions = children(anchor.pid);
    anchor.kill(Duration::from_secs(5));
    let mut stopped = vec![anchor.pid];
    for pid in sessions {
        let session = RecordedProcess {
            host: host.name.clone(),
            service: "sshd session".into(),
            pid,
            start_time: start_time(pid).unwrap_or_default(),
        };
        session.kill(Duration::from_secs(5));
        stopped.push(pid);
    }
    Ok(stopped)
}

/// Starts sshd again in the host's network and mount namespaces, entered through a process
/// still living in them (the host's holder, or a service such as etcd), and records it as
/// the anchor.
pub fn start(host: &HostLayout, net: &NetHost) -> Result<RecordedProcess, LabError> {
    let fail = |reason: String| LabError::Netns {
        what: format!("starting sshd on {} again", host.name),
        reason,
    };
    let inside = process_in_host(host).ok_or_else(|| {
        fail("no service of the host runs, to enter its namespaces through".into())
    })?;
    let mut command = Command::new("nsenter");
    command
        .args(["-t", &inside.to_string(), "-m", "-n", "-u", "--wd=/", "--"])
        .args(["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"]);
    // nsenter enters no pid namespace, so it execs sshd itself: the child's pid is sshd's.
    host::start_anchor(host, net, command, "sshd listening on port 22 again")
}

/// The direct children of `pid`.
fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A service the host's systemctl recorded (`/run/<service>.pid`) that still runs: it
/// lives in the host's namespaces.
fn process_in_host(host: &HostLayout) -> Option<i32> {
    let entries = std::fs::read_dir(host.root.join("run")).ok()?;
    entries.filter_map(Result::ok).find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let service = name.strip_suffix(".pid").filter(|s| *s != ANCHOR)?;
        RecordedProcess::read(&entry.path(), &host.name, service)
            .filter(RecordedProcess::is_alive)
            .map(|p| p.pid)
    })
}
