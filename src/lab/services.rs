//! Starting, stopping and checking the lab's services through `ServiceManager` with the
//! lab's `runbook_service_command` template, over the local transport: the same path a
//! runbook takes on a real host.

use super::error::LabError;
use super::layout::LabLayout;
use super::service_script::command_template;
use crate::ops::service::{ServiceAction, ServiceManager};
use crate::transport::local::LocalTransport;
use crate::transport::Transport;
use tokio_util::sync::CancellationToken;

/// The lab's services, controlled as runbooks control them.
pub struct LabServices {
    layout: LabLayout,
}

impl LabServices {
    pub fn new(layout: &LabLayout) -> LabServices {
        LabServices {
            layout: layout.clone(),
        }
    }

    fn manager(&self, host: &str) -> ServiceManager {
        let host = self.layout.host(host);
        // A host of a netns lab has its own systemctl, run inside its namespaces.
        if let Some(anchor) = crate::lab::netns::host::anchor(&host) {
            return ServiceManager::Template(format!(
                "nsenter -t {} -m -n --wd=/ -- systemctl {{action}} {{service}}",
                anchor.pid
            ));
        }
        ServiceManager::Template(command_template(&self.layout, &host))
    }

    /// Starts, stops or restarts `service` on lab host `host`.
    pub async fn control(
        &self,
        host: &str,
        service: &str,
        action: ServiceAction,
        cancel: &CancellationToken,
    ) -> Result<(), LabError> {
        let transport = Transport::Local(LocalTransport::new(host));
        self.manager(host)
            .control(&transport, action, service, cancel)
            .await
            .map_err(|source| LabError::Service {
                host: host.to_string(),
                service: service.to_string(),
                action: action.verb(),
                log: self.layout.host(host).log_file(service),
                source: Box::new(source),
            })
    }

    /// Whether `service` runs on lab host `host`.
    pub async fn is_active(
        &self,
        host: &str,
        service: &str,
        cancel: &CancellationToken,
    ) -> Result<bool, LabError> {
        let transport = Transport::Local(LocalTransport::new(host));
        self.manager(host)
            .is_active(&transport, service, cancel)
            .await
            .map_err(|source| LabError::Service {
                host: host.to_string(),
                service: service.to_string(),
                action: "check",
                log: self.layout.host(host).log_file(service),
                source: Box::new(source),
            })
    }
}
