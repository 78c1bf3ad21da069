//! The pid files the service controller writes (`run/<service>.pid`: "<pid> <start time>"),
//! read back so the lab can check and, as a last resort, kill exactly what it started.

use super::layout::LabLayout;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A process the lab started, as recorded in its pid file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedProcess {
    pub host: String,
    pub service: String,
    pub pid: i32,
    /// Start time in clock ticks since boot (field 22 of /proc/<pid>/stat).
    pub start_time: u64,
}

/// The start time of `pid`, or `None` if it is gone or a zombie.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

impl RecordedProcess {
    pub fn read(path: &Path, host: &str, service: &str) -> Option<RecordedProcess> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut parts = text.split_whitespace();
        let pid: i32 = parts.next()?.parse().ok()?;
        let start_time: u64 = parts.next()?.parse().ok()?;
        (pid > 0).then(|| RecordedProcess {
            host: host.to_string(),
            service: service.to_string(),
            pid,
            start_time,
        })
    }

    /// Alive and still the process that was started (not a reused pid).
    pub fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start_time)
    }

    /// SIGKILL, only if it is still the recorded process; waits up to `wait` for it to go.
    pub fn kill(&self, wait: Duration) -> bool {
        if self.is_alive() {
            // SAFETY: kill(2) has no memory effects; the pid was checked against its start time.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
            }
        }
        let deadline = Instant::now() + wait;
        while self.is_alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        !self.is_alive()
    }
}

/// Every pid file of the lab: `hosts/<host>/run/<service>.pid`.
pub fn recorded_processes(layout: &LabLayout) -> Vec<RecordedProcess> {
    let mut found = Vec::new();
    let Ok(hosts) = std::fs::read_dir(layout.hosts_dir()) else {
        return found;
    };
    let mut host_dirs: Vec<PathBuf> = hosts.filter_map(|e| e.ok().map(|e| e.path())).collect();
    host_dirs.sort();
    for host_dir in host_dirs {
        let host = host_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(entries) = std::fs::read_dir(host_dir.join("run")) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in files {
            let Some(name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            if let Some(service) = name.strip_suffix(".pid") {
                if let Some(process) = RecordedProcess::read(&file, &host, service) {
                    found.push(process);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_start_time() {
        let me = std::process::id() as i32;
        assert!(start_time(me).is_some());
        let process = RecordedProcess {
            host: "h".into(),
            service: "s".into(),
            pid: me,
            start_time: start_time(me).unwrap() + 1,
        };
        assert!(
            !process.is_alive(),
            "a different start time means a reused pid"
        );
    }
}
