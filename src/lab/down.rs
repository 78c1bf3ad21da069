//! `runbook lab down`: stop exactly the processes the lab started (through the service
//! controller, then by recorded pid), check they are gone, then remove the directory.

use super::error::LabError;
use super::pidfile::recorded_processes;
use super::services::LabServices;
use super::state::LabState;
use crate::ops::service::ServiceAction;
use crate::report::Reporter;
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub async fn down(dir: &Path, reporter: &Reporter) -> Result<(), LabError> {
    let (dir, layout, state) = LabState::open(dir)?;
    let dir = &dir;
    let cancel = CancellationToken::new();
    let mut processes = recorded_processes(&layout);
    // The master's etcd that an interrupted runbook run left running on its own.
    processes.extend(super::standalone_etcd::running(&layout, &state));
    let services = LabServices::new(&layout);
    // Masters first, as an operator would: clients before the store. The spare host's etcd,
    // which a runbook may have started as the store moved out of the master, comes last.
    let mut order = state.services();
    order.reverse();
    order.extend(state.spare_service());
    let mut stop_errors = Vec::new();
    for (host, service) in &order {
        let has_pid_file = layout.host(host).pid_file(service).exists();
        if !has_pid_file || !layout.service_script().exists() {
            continue;
        }
        reporter.status(&format!("stopping {service} on {host}"));
        if let Err(error) = services
            .control(host, service, ServiceAction::Stop, &cancel)
            .await
        {
            stop_errors.push(error);
        }
    }
    // Whatever the controller could not stop (or processes of services the state does not
    // list) is killed by its recorded pid, and only if that pid is still the same process.
    for process in &processes {
        if process.is_alive() && !process.kill(Duration::from_secs(5)) {
            return Err(LabError::StillRunning {
                host: process.host.clone(),
                service: process.service.clone(),
                pid: process.pid,
            });
        }
    }
    if let Some(still) = processes.iter().find(|p| p.is_alive()) {
        return Err(LabError::StillRunning {
            host: still.host.clone(),
            service: still.service.clone(),
            pid: still.pid,
        });
    }
    for error in &stop_errors {
        reporter.status(&format!("warning: {error}"));
    }
    std::fs::remove_dir_all(dir).map_err(|e| LabError::io("remove", dir, e))?;
    let pids: Vec<i32> = processes.iter().map(|p| p.pid).collect();
    reporter.result(
        &format!(
            "lab in {} is down: stopped {} process(es), removed the directory",
            dir.display(),
            processes.len()
        ),
        json!({"dir": dir, "stopped_pids": pids, "removed": true}),
    );
    Ok(())
}
