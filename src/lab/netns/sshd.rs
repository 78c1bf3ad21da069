//! A lab host's sshd as a fault: stopped together with every session it carries (as when
//! sshd is killed, or stopped with its sessions), then started again in the host's own
//! namespaces and recorded as the host's anchor.

use super::host::{self, ANCHOR};
use super::network::NetHost;
use crate::lab::error::LabError;
use crate::lab::fsutil::write_file;
use crate::lab::layout::HostLayout;
use crate::lab::pidfile::{start_time, RecordedProcess};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long sshd may take to listen again.
const START_TIMEOUT: Duration = Duration::from_secs(20);

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
/// still living in them (a service such as etcd), and records it as the anchor.
pub fn start(host: &HostLayout, net: &NetHost) -> Result<RecordedProcess, LabError> {
    let fail = |reason: String| LabError::Netns {
        what: format!("starting sshd on {} again", host.name),
        reason,
    };
    let inside = process_in_host(host).ok_or_else(|| {
        fail("no service of the host runs, to enter its namespaces through".into())
    })?;
    let log_path = host.log_file(ANCHOR);
    let logged_before = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| LabError::io("open", &log_path, e))?;
    let err = log
        .try_clone()
        .map_err(|e| LabError::io("open", &log_path, e))?;
    let mut command = Command::new("nsenter");
    command
        .args(["-t", &inside.to_string(), "-m", "-n", "-u", "--wd=/", "--"])
        .args(["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    // SAFETY: setsid(2) in the child before exec, as at boot.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = command
        .spawn()
        .map_err(|e| LabError::io("run", Path::new("nsenter"), e))?;
    // nsenter enters no pid namespace, so it execs sshd itself: the child's pid is sshd's.
    let pid = child.id() as i32;
    let anchor = RecordedProcess {
        host: host.name.clone(),
        service: ANCHOR.to_string(),
        pid,
        start_time: start_time(pid).unwrap_or_default(),
    };
    write_file(
        &host.pid_file(ANCHOR),
        format!("{} {}\n", anchor.pid, anchor.start_time).as_bytes(),
    )?;
    let listening = format!("Server listening on {} port 22", net.ssh_address());
    let started = Instant::now();
    loop {
        let text = std::fs::read(&log_path).unwrap_or_default();
        let new = String::from_utf8_lossy(text.get(logged_before as usize..).unwrap_or(&[]));
        if new.contains(&listening) {
            return Ok(anchor);
        }
        if !anchor.is_alive() || started.elapsed() > START_TIMEOUT {
            return Err(LabError::HostBoot {
                host: host.name.clone(),
                what: "sshd listening on port 22 again".into(),
                waited_secs: started.elapsed().as_secs(),
                log: log_path,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
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
