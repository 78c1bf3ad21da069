//! Service control on a host: `systemctl`, or a command template from the inventory.

use crate::inventory::Host;
use crate::transport::{Transport, TransportError};
use tokio_util::sync::CancellationToken;

/// What to do to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    Start,
    Stop,
    Restart,
    IsActive,
}

impl ServiceAction {
    /// The word `systemctl` uses for it (`start`, `stop`, `restart`, `is-active`).
    pub fn verb(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Restart => "restart",
            ServiceAction::IsActive => "is-active",
        }
    }
}

/// How services are controlled on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceManager {
    /// `systemctl <action> <service>`.
    Systemd,
    /// `runbook_service_command`, with `{action}` and `{service}` filled in.
    Template(String),
}

/// Why a service could not be controlled.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ServiceError {
    #[error("`{command}` failed on {host} (exit {code}): {stderr}")]
    #[diagnostic(code(runbook::service::failed))]
    Failed {
        host: String,
        command: String,
        code: i32,
        stderr: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
}

impl ServiceManager {
    pub fn from_host(host: &Host) -> ServiceManager {
        let _ = host;
        todo!("ops::service::from_host")
    }

    /// The shell command for `action` on `service`.
    pub fn command(&self, action: ServiceAction, service: &str) -> String {
        let _ = (action, service);
        todo!("ops::service::command")
    }

    /// Starts, stops or restarts `service`; an error names the host, the command and its stderr.
    pub async fn control(
        &self,
        transport: &Transport,
        action: ServiceAction,
        service: &str,
        cancel: &CancellationToken,
    ) -> Result<(), ServiceError> {
        let _ = (transport, action, service, cancel);
        todo!("ops::service::control")
    }

    /// Whether `service` is running (`is-active` exits 0).
    pub async fn is_active(
        &self,
        transport: &Transport,
        service: &str,
        cancel: &CancellationToken,
    ) -> Result<bool, ServiceError> {
        let _ = (transport, service, cancel);
        todo!("ops::service::is_active")
    }
}
