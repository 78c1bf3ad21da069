//! Service control on a host: `systemctl`, or a command template from the inventory.

use crate::inventory::Host;
use crate::transport::{shell_quote, RunOptions, Transport, TransportError};
use serde_json::Value;
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
    #[diagnostic(
        code(runbook::service::failed),
        help("run `{command}` on {host} by hand to see why; check the service name (etcd_service) and runbook_service_command in the inventory")
    )]
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
    /// `runbook_service_command` when the host sets one, else systemd.
    pub fn from_host(host: &Host) -> ServiceManager {
        match host.vars.get("runbook_service_command") {
            Some(Value::String(template)) if !template.trim().is_empty() => {
                ServiceManager::Template(template.clone())
            }
            _ => ServiceManager::Systemd,
        }
    }

    /// The shell command for `action` on `service`.
    ///
    /// The service name is shell-quoted; in a template, `{service}` should
    /// therefore appear unquoted.
    pub fn command(&self, action: ServiceAction, service: &str) -> String {
        let service = shell_quote(service);
        match self {
            ServiceManager::Systemd => format!("systemctl {} {service}", action.verb()),
            ServiceManager::Template(template) => template
                .replace("{action}", action.verb())
                .replace("{service}", &service),
        }
    }

    /// Starts, stops or restarts `service`; an error names the host, the command and its stderr.
    pub async fn control(
        &self,
        transport: &Transport,
        action: ServiceAction,
        service: &str,
        cancel: &CancellationToken,
    ) -> Result<(), ServiceError> {
        let command = self.command(action, service);
        let output = transport
            .run(&command, &RunOptions::default(), cancel)
            .await?;
        if output.success() {
            return Ok(());
        }
        let stderr = output.stderr_text().trim().to_string();
        Err(ServiceError::Failed {
            host: transport.host_name().to_string(),
            command,
            code: output.code,
            stderr: if stderr.is_empty() {
                output.stdout_text().trim().to_string()
            } else {
                stderr
            },
        })
    }

    /// Whether `service` is running (`is-active` exits 0).
    pub async fn is_active(
        &self,
        transport: &Transport,
        service: &str,
        cancel: &CancellationToken,
    ) -> Result<bool, ServiceError> {
        let command = self.command(ServiceAction::IsActive, service);
        let output = transport
            .run(&command, &RunOptions::default(), cancel)
            .await?;
        Ok(output.success())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemctl_by_default() {
        let host = Host {
            name: "etcd-1".into(),
            vars: Default::default(),
        };
        let manager = ServiceManager::from_host(&host);
        assert_eq!(manager, ServiceManager::Systemd);
        assert_eq!(
            manager.command(ServiceAction::Stop, "etcd"),
            "systemctl stop etcd"
        );
        assert_eq!(
            manager.command(ServiceAction::IsActive, "etcd member"),
            "systemctl is-active 'etcd member'"
        );
    }

    #[test]
    fn template_fills_action_and_quoted_service() {
        let mut host = Host {
            name: "etcd-1".into(),
            vars: Default::default(),
        };
        host.vars.insert(
            "runbook_service_command".into(),
            Value::String("/usr/local/bin/svc {action} {service}".into()),
        );
        let manager = ServiceManager::from_host(&host);
        assert_eq!(
            manager.command(ServiceAction::Restart, "it's"),
            "/usr/local/bin/svc restart 'it'\\''s'"
        );
    }
}
