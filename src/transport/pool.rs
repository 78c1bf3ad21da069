//! One connection per host, opened on first use and shared by every primitive.

use super::{ConnectionTarget, Transport, TransportError};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Mutex, OnceCell};
use tokio_util::sync::CancellationToken;

/// Open transports by host name.
#[derive(Default)]
pub struct TransportPool {
    /// One cell per host: the map lock is held only to find the cell, so hosts
    /// connect in parallel, while callers for the same host wait on its cell.
    open: Mutex<HashMap<String, Arc<OnceCell<Arc<Transport>>>>>,
}

impl TransportPool {
    pub fn new() -> TransportPool {
        TransportPool::default()
    }

    /// The transport to `host_name`, connecting on first use.
    ///
    /// Concurrent callers for one host share a single connection attempt; if it
    /// fails, the next caller tries again.
    pub async fn get(
        &self,
        host_name: &str,
        target: &ConnectionTarget,
        cancel: &CancellationToken,
    ) -> Result<Arc<Transport>, TransportError> {
        let cell = {
            let mut open = self.open.lock().await;
            Arc::clone(open.entry(host_name.to_string()).or_default())
        };
        cell.get_or_try_init(|| async {
            Transport::connect(host_name, target, cancel)
                .await
                .map(Arc::new)
        })
        .await
        .cloned()
    }

    /// Number of hosts with an open transport.
    pub async fn len(&self) -> usize {
        let open = self.open.lock().await;
        open.values().filter(|cell| cell.initialized()).count()
    }

    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }
}
