//! What every primitive of a run shares: the runtime, the inventory, open
//! connections, the reporter and the cancellation token.

use super::api::error::to_rhai;
use crate::inventory::{Host, Inventory};
use crate::report::Reporter;
use crate::transport::{ConnectionTarget, Transport, TransportError, TransportPool};
use rhai::EvalAltResult;
use std::future::Future;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The state of one run, shared by all primitives.
pub struct RunContext {
    pub runtime: tokio::runtime::Handle,
    pub cancel: CancellationToken,
    pub inventory: Arc<Inventory>,
    pub transports: TransportPool,
    pub reporter: Reporter,
}

impl RunContext {
    pub fn new(
        runtime: tokio::runtime::Handle,
        cancel: CancellationToken,
        inventory: Inventory,
        reporter: Reporter,
    ) -> Arc<RunContext> {
        Arc::new(RunContext {
            runtime,
            cancel,
            inventory: Arc::new(inventory),
            transports: TransportPool::new(),
            reporter,
        })
    }

    /// Runs an operation to completion from the script's thread, turning its
    /// error into a Rhai error that keeps the diagnostic's code and help.
    pub fn block_on<T, E, F>(&self, operation: F) -> Result<T, Box<EvalAltResult>>
    where
        F: Future<Output = Result<T, E>>,
        E: miette::Diagnostic,
    {
        self.runtime.block_on(operation).map_err(to_rhai)
    }

    /// The transport to a host, connecting on first use.
    pub async fn transport(&self, host: &Host) -> Result<Arc<Transport>, TransportError> {
        let target = ConnectionTarget::from_host(host)?;
        self.transports.get(&host.name, &target, &self.cancel).await
    }
}
