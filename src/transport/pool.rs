//! One connection per host, opened on first use and shared by every primitive.

use super::{ConnectionTarget, Transport, TransportError};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Open transports by host name.
#[derive(Default)]
pub struct TransportPool {
    open: Mutex<HashMap<String, Arc<Transport>>>,
}

impl TransportPool {
    pub fn new() -> TransportPool {
        TransportPool::default()
    }

    /// The transport to `host_name`, connecting on first use.
    pub async fn get(
        &self,
        host_name: &str,
        target: &ConnectionTarget,
        cancel: &CancellationToken,
    ) -> Result<Arc<Transport>, TransportError> {
        let _ = (host_name, target, cancel, &self.open);
        todo!("transport::pool::get")
    }
}
