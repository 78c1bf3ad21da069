//! The embedded etcd that runbook's `etcd.start_standalone` runs on a lab's master while
//! the master is stopped: found by runbook's pid file beside the data dir, so that `lab
//! down` stops it too when a run was cut short. Only a process whose command line names
//! that data dir counts.

use super::layout::{LabLayout, MASTER_HOST};
use super::pidfile::{start_time, RecordedProcess};
use super::state::LabState;
use crate::ops::etcd::embedded::etcd_config::data_dir_argument;
use crate::ops::etcd::embedded::standalone::pid_file;

/// The etcd runbook runs on its own on the lab's master, if one runs.
pub fn running(layout: &LabLayout, state: &LabState) -> Option<RecordedProcess> {
    if !state.layout.is_embedded() {
        return None;
    }
    let data_dir = layout.host(MASTER_HOST).etcd_data_dir(state.layout);
    let data_dir = data_dir.to_string_lossy();
    let pid: i32 = std::fs::read_to_string(pid_file(&data_dir))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let wanted = data_dir_argument(&data_dir);
    let ours = cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == wanted.as_bytes());
    ours.then(|| RecordedProcess {
        host: MASTER_HOST.to_string(),
        service: "etcd (run on its own by runbook)".to_string(),
        pid,
        start_time: start_time(pid).unwrap_or_default(),
    })
}
