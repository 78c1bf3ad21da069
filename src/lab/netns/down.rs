//! Taking a netns lab down: its services stopped by its hosts' systemctl, then every
//! process still inside the lab's namespaces (its own, by the names lab.json records) and
//! every recorded pid killed, then the namespaces removed. Mounts live only in the hosts'
//! mount namespaces and go with their last process.

use super::host;
use crate::lab::error::LabError;
use crate::lab::layout::{LabLayout, MASTER_SERVICES};
use crate::lab::pidfile::{recorded_processes, start_time, RecordedProcess};
use crate::lab::state::LabState;
use std::process::Command;
use std::time::Duration;

/// What `down` did.
pub struct Stopped {
    pub pids: Vec<i32>,
    pub namespaces: usize,
}

/// Stops everything of the lab and removes its namespaces; the directory stays.
pub fn tear_down(layout: &LabLayout, state: &LabState) -> Stopped {
    let mut pids = Vec::new();
    let mut services: Vec<String> = MASTER_SERVICES.iter().map(|s| s.to_string()).collect();
    services.push(state.etcd_service().to_string());
    let hosts: Vec<String> = state
        .network
        .iter()
        .flat_map(|n| n.hosts.iter().map(|h| h.name.clone()))
        .collect();
    for name in hosts.iter().rev() {
        let layout_host = layout.host(name);
        if let Some(anchor) = host::anchor(&layout_host) {
            for service in &services {
                if layout_host.pid_file(service).exists() {
                    let _ = host::run_in(&anchor, &["systemctl", "stop", service]);
                }
            }
        }
    }
    for process in recorded_processes(layout) {
        if process.is_alive() {
            pids.push(process.pid);
            process.kill(Duration::from_secs(5));
        }
    }
    let mut namespaces = 0;
    if let Some(network) = &state.network {
        for name in network.namespaces() {
            // Never this process: `lab down` may itself run through `lab exec`.
            let me = std::process::id() as i32;
            for pid in pids_in(name).into_iter().filter(|p| *p != me) {
                let process = RecordedProcess {
                    host: name.to_string(),
                    service: "process in the lab's namespace".into(),
                    pid,
                    start_time: start_time(pid).unwrap_or_default(),
                };
                pids.push(pid);
                process.kill(Duration::from_secs(5));
            }
        }
        namespaces = network
            .namespaces()
            .iter()
            .filter(|n| super::network::netns_path(n).exists())
            .count();
        for failure in network.remove() {
            tracing::warn!("{failure}");
        }
    }
    Stopped { pids, namespaces }
}

/// The processes in network namespace `name` (`ip netns pids`).
fn pids_in(name: &str) -> Vec<i32> {
    if !super::network::netns_path(name).exists() {
        return Vec::new();
    }
    Command::new("ip")
        .args(["netns", "pids", name])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `runbook lab down` of a netns lab: everything stopped, namespaces and directory removed.
pub fn down(layout: &LabLayout, state: &LabState) -> Result<Stopped, LabError> {
    let stopped = tear_down(layout, state);
    if let Some(still) = recorded_processes(layout)
        .into_iter()
        .find(|p| p.is_alive())
    {
        return Err(LabError::StillRunning {
            host: still.host,
            service: still.service,
            pid: still.pid,
        });
    }
    if let Some(network) = &state.network {
        if let Some(left) = network
            .namespaces()
            .into_iter()
            .find(|n| super::network::netns_path(n).exists())
        {
            return Err(LabError::Netns {
                what: format!("removing network namespace {left}"),
                reason: "it is still there".into(),
            });
        }
    }
    std::fs::remove_dir_all(&layout.dir).map_err(|e| LabError::io("remove", &layout.dir, e))?;
    Ok(stopped)
}
