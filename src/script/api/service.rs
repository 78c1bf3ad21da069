//! `Service` in Rhai: start, stop, restart and query one service on one host.

use crate::inventory::Host;
use crate::ops::service::{ServiceAction, ServiceError, ServiceManager};
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::EvalAltResult;
use std::sync::Arc;

/// A named service on a host, controlled by systemctl or the host's `runbook_service_command`.
#[derive(Clone)]
pub struct ScriptService {
    host: Arc<Host>,
    ctx: Arc<RunContext>,
    name: String,
}

/// The registry's name of the primitive behind an action.
fn action_primitive(action: ServiceAction) -> &'static str {
    match action {
        ServiceAction::Start => "service.start",
        ServiceAction::Stop => "service.stop",
        ServiceAction::Restart => "service.restart",
        ServiceAction::IsActive => "service.is_active",
    }
}

impl ScriptService {
    pub fn new(host: Arc<Host>, ctx: Arc<RunContext>, name: &str) -> ScriptService {
        ScriptService {
            host,
            ctx,
            name: name.to_string(),
        }
    }

    fn control(&self, action: ServiceAction) -> Result<(), Box<EvalAltResult>> {
        if self.ctx.planned_change(action_primitive(action), || {
            format!("{} {} on {}", action.verb(), self.name, self.host.name)
        })? {
            return Ok(());
        }
        let ctx = self.ctx.clone();
        let manager = ServiceManager::from_host(&self.host);
        tracing::info!(host = %self.host.name, service = %self.name, action = action.verb(), "service");
        ctx.block_on(async {
            let transport = ctx
                .transport(&self.host)
                .await
                .map_err(ServiceError::from)?;
            manager
                .control(&transport, action, &self.name, &ctx.cancel.token())
                .await
        })
    }

    fn active(&self) -> Result<bool, Box<EvalAltResult>> {
        if self
            .ctx
            .planned_read(|| format!("is {} active on {}", self.name, self.host.name))
        {
            return Ok(false);
        }
        let ctx = self.ctx.clone();
        let manager = ServiceManager::from_host(&self.host);
        ctx.block_on(async {
            let transport = ctx
                .transport(&self.host)
                .await
                .map_err(ServiceError::from)?;
            manager
                .is_active(&transport, &self.name, &ctx.cancel.token())
                .await
        })
    }
}

#[export_module]
pub mod service_api {
    use super::*;

    pub type Service = ScriptService;

    /// The service's name.
    #[rhai_fn(get = "name", pure)]
    pub fn name(service: &mut ScriptService) -> String {
        service.name.clone()
    }

    /// Starts the service.
    #[rhai_fn(pure, return_raw)]
    pub fn start(service: &mut ScriptService) -> Result<(), Box<EvalAltResult>> {
        service.control(ServiceAction::Start)
    }

    /// Stops the service.
    #[rhai_fn(pure, return_raw)]
    pub fn stop(service: &mut ScriptService) -> Result<(), Box<EvalAltResult>> {
        service.control(ServiceAction::Stop)
    }

    /// Restarts the service (so it reads its configuration again).
    #[rhai_fn(pure, return_raw)]
    pub fn restart(service: &mut ScriptService) -> Result<(), Box<EvalAltResult>> {
        service.control(ServiceAction::Restart)
    }

    /// Whether the service is running.
    #[rhai_fn(pure, return_raw)]
    pub fn is_active(service: &mut ScriptService) -> Result<bool, Box<EvalAltResult>> {
        service.active()
    }

    #[rhai_fn(pure)]
    pub fn to_string(service: &mut ScriptService) -> String {
        format!("{} on {}", service.name, service.host.name)
    }
}
