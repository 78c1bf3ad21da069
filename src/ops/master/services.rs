//! The master services: which they are, stopping them (controllers before the API)
//! and restarting them (API before controllers) so they read their configuration again.

use crate::inventory::Host;
use crate::ops::service::{ServiceAction, ServiceError, ServiceManager};
use crate::transport::Transport;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The master services of a host in start order: `runbook_master_services`, else
/// `<openshift_service_type>-master-api` and `-master-controllers`.
pub fn master_services(host: &Host) -> Vec<String> {
    if let Some(list) = host.var_str("runbook_master_services") {
        let names: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if !names.is_empty() {
            return names;
        }
    }
    let kind = host
        .var_str("openshift_service_type")
        .unwrap_or_else(|| "atomic-openshift".to_string());
    vec![
        format!("{kind}-master-api"),
        format!("{kind}-master-controllers"),
    ]
}

/// Why a master's services did not reach the wanted state.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MasterServiceError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Service(#[from] ServiceError),
    #[error("{service} on {host} is not active {waited} after its restart")]
    #[diagnostic(
        code(runbook::master::not_active),
        help("look at its log (`journalctl -u {service}`); the master config was changed just before, and its previous version is kept beside it")
    )]
    NotActive {
        host: String,
        service: String,
        waited: String,
    },
}

/// Stops the services in reverse start order (controllers before the API).
pub async fn stop(
    host: &Host,
    transport: &Transport,
    cancel: &CancellationToken,
) -> Result<Vec<String>, MasterServiceError> {
    let manager = ServiceManager::from_host(host);
    let mut stopped = Vec::new();
    for service in master_services(host).iter().rev() {
        manager
            .control(transport, ServiceAction::Stop, service, cancel)
            .await?;
        stopped.push(service.clone());
    }
    Ok(stopped)
}

/// Restarts the services in start order (API before controllers) and waits until
/// each is active again. Restart, not start: a running master must read its new config.
pub async fn restart(
    host: &Host,
    transport: &Transport,
    wait: Duration,
    cancel: &CancellationToken,
) -> Result<Vec<String>, MasterServiceError> {
    let manager = ServiceManager::from_host(host);
    let mut restarted = Vec::new();
    for service in master_services(host) {
        manager
            .control(transport, ServiceAction::Restart, &service, cancel)
            .await?;
        let started = Instant::now();
        while !manager.is_active(transport, &service, cancel).await? {
            if started.elapsed() >= wait {
                return Err(MasterServiceError::NotActive {
                    host: host.name.clone(),
                    service,
                    waited: crate::duration::format_duration(wait),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        restarted.push(service);
    }
    Ok(restarted)
}
