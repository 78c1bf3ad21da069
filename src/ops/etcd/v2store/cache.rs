//! Stores already read in this run, by `host:dir`: the copy a migration keeps does not
//! change, and verifying, copying the hidden keys and restoring TTLs all read it.

use super::source::{read_member_dir, V2StoreError};
use super::V2Store;
use crate::transport::Transport;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// The stores of one run.
#[derive(Default)]
pub struct V2StoreCache {
    stores: Mutex<HashMap<String, Arc<V2Store>>>,
}

fn key(host: &str, dir: &str) -> String {
    format!("{host}:{}", dir.trim_end_matches('/'))
}

impl V2StoreCache {
    /// Keeps a store read from `dir` (a `member` directory) on `host`.
    pub fn insert(&self, host: &str, dir: &str, store: Arc<V2Store>) {
        self.lock().insert(key(host, dir), store);
    }

    /// The store in `dir` on the transport's host, read on first use.
    pub async fn get_or_read(
        &self,
        transport: &Transport,
        dir: &str,
        cancel: &CancellationToken,
    ) -> Result<Arc<V2Store>, V2StoreError> {
        let key = key(transport.host_name(), dir);
        if let Some(store) = self.lock().get(&key) {
            return Ok(store.clone());
        }
        let store = Arc::new(read_member_dir(transport, dir, cancel).await?);
        self.lock().insert(key, store.clone());
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<V2Store>>> {
        self.stores.lock().unwrap_or_else(|e| e.into_inner())
    }
}
