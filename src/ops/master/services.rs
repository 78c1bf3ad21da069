//! The master services: which they are, stopping them (controllers before the API)
//! and restarting them (API before controllers) so they read their configuration again.

use crate::inventory::{release, Host};
use crate::ops::service::{ServiceAction, ServiceError, ServiceManager};
use crate::transport::Transport;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The master services of a host in start order: `runbook_master_services`, else as
/// openshift-ansible installs them (`roles/openshift_master`): from 3.7, and before it for HA
/// masters with `openshift_master_cluster_method=native`, `<type>-master-api` and
/// `<type>-master-controllers`; otherwise the one service `<type>-master`. `masters` is the
/// number of hosts in `[masters]`, the default of `openshift_master_ha`.
pub fn master_services(host: &Host, masters: usize) -> Vec<String> {
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
    let release = release::of(&|name: &str| host.var_str(name));
    let split = match release {
        Some(release) if release < (3, 7) => {
            let ha = host
                .var_bool("openshift_master_ha")
                .ok()
                .flatten()
                .unwrap_or(masters > 1);
            let native =
                host.var_str("openshift_master_cluster_method").as_deref() == Some("native");
            ha && native
        }
        _ => true,
    };
    if split {
        vec![
            format!("{kind}-master-api"),
            format!("{kind}-master-controllers"),
        ]
    } else {
        vec![format!("{kind}-master")]
    }
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
    masters: usize,
    transport: &Transport,
    cancel: &CancellationToken,
) -> Result<Vec<String>, MasterServiceError> {
    let manager = ServiceManager::from_host(host);
    let mut stopped = Vec::new();
    for service in master_services(host, masters).iter().rev() {
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
    masters: usize,
    transport: &Transport,
    wait: Duration,
    cancel: &CancellationToken,
) -> Result<Vec<String>, MasterServiceError> {
    let manager = ServiceManager::from_host(host);
    let mut restarted = Vec::new();
    for service in master_services(host, masters) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;

    fn services(text: &str, host: &str) -> Vec<String> {
        let inventory = Inventory::from_text("hosts", text, &[]).unwrap();
        let masters = inventory.group("masters").map_or(0, |m| m.len());
        master_services(inventory.host(host).unwrap(), masters)
    }

    #[test]
    fn services_follow_the_release_the_ha_method_and_the_deployment_type() {
        let split = |kind: &str| {
            vec![
                format!("{kind}-master-api"),
                format!("{kind}-master-controllers"),
            ]
        };
        assert_eq!(services("[masters]\nm1\n", "m1"), split("atomic-openshift"));
        assert_eq!(
            services(
                "[masters]\nm1 openshift_release=\"3.7\" deployment_type=origin\n",
                "m1"
            ),
            split("origin")
        );
        // Before 3.7 a single master runs one service, and so do HA masters without the
        // native method.
        assert_eq!(
            services("[masters]\nm1 openshift_release=v3.6\n", "m1"),
            vec!["atomic-openshift-master"]
        );
        assert_eq!(
            services(
                "[masters]\nm1 openshift_image_tag=v3.6.1 deployment_type=origin\nm2\n",
                "m1"
            ),
            vec!["origin-master"]
        );
        assert_eq!(
            services(
                "[masters]\nm1\nm2\n[masters:vars]\nopenshift_release=v3.6\nopenshift_master_cluster_method=native\n",
                "m1"
            ),
            split("atomic-openshift")
        );
        assert_eq!(
            services(
                "[masters]\nm1 openshift_release=v3.6 openshift_master_cluster_method=native openshift_master_ha=false\nm2\n",
                "m1"
            ),
            vec!["atomic-openshift-master"]
        );
        assert_eq!(
            services(
                "[masters]\nm1 openshift_release=v3.6 runbook_master_services=a,b\n",
                "m1"
            ),
            vec!["a", "b"],
            "an explicit list wins"
        );
    }
}
