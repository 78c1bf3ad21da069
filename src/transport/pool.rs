//! One connection per host, opened on first use and shared by every primitive; one
//! connection attempt per host, whose failure every later caller gets at once.

use super::{ConnectionTarget, Transport, TransportError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

/// What connecting to one host gave.
type Connection = Result<Arc<Transport>, TransportError>;

/// Open transports (and failed attempts) by host name.
#[derive(Default)]
pub struct TransportPool {
    /// One cell per host: the map lock is held only to find the cell (never across an
    /// await), so hosts connect in parallel, while callers for the same host wait on
    /// its cell.
    open: Mutex<HashMap<String, Arc<OnceCell<Connection>>>>,
}

impl TransportPool {
    pub fn new() -> TransportPool {
        TransportPool::default()
    }

    /// The transport to `host_name`, connecting on first use.
    ///
    /// Concurrent callers for one host share a single connection attempt. A failed
    /// attempt is kept: every later caller gets the same error without trying again (an
    /// unreachable host costs one connect timeout per run, not one per caller), until
    /// [`TransportPool::forget_failures`]. An attempt the run's cancellation interrupted
    /// is not kept.
    pub async fn get(
        &self,
        host_name: &str,
        target: &ConnectionTarget,
        cancel: &CancellationToken,
    ) -> Result<Arc<Transport>, TransportError> {
        let cell = Arc::clone(self.lock().entry(host_name.to_string()).or_default());
        let connection = cell
            .get_or_init(|| async {
                let connection = Transport::connect(host_name, target, cancel)
                    .await
                    .map(Arc::new);
                if let Err(error) = &connection {
                    tracing::debug!(host = host_name, %error, "connection failed; later uses of the host in this run fail with the same error");
                }
                connection
            })
            .await
            .clone();
        if let Err(TransportError::Interrupted { .. }) = &connection {
            let mut open = self.lock();
            if open
                .get(host_name)
                .is_some_and(|kept| Arc::ptr_eq(kept, &cell))
            {
                open.remove(host_name);
            }
        }
        connection
    }

    /// Forgets every failed connection attempt, so the next use of those hosts tries
    /// again (the REPL does this before each input: the operator may have fixed a host).
    pub fn forget_failures(&self) {
        self.lock()
            .retain(|_, cell| !matches!(cell.get(), Some(Err(_))));
    }

    /// Number of hosts with an open transport.
    pub async fn len(&self) -> usize {
        self.lock()
            .values()
            .filter(|cell| matches!(cell.get(), Some(Ok(_))))
            .count()
    }

    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<OnceCell<Connection>>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::SshTarget;
    use std::time::{Duration, Instant};

    /// A loopback port that accepts connections and never says anything: ssh waits for
    /// the banner until its connect timeout.
    fn silent_listener() -> std::net::TcpListener {
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback")
    }

    fn silent_target(port: u16) -> ConnectionTarget {
        ConnectionTarget::Ssh(SshTarget {
            address: "127.0.0.1".into(),
            port,
            user: None,
            key_file: None,
            known_hosts_file: Some("/dev/null".into()),
            strict_host_key_checking: true,
            connect_timeout: Duration::from_secs(1),
            escalation: None,
        })
    }

    #[tokio::test]
    async fn a_failed_connection_is_tried_once_until_forgotten() {
        let listener = silent_listener();
        let target = silent_target(listener.local_addr().unwrap().port());
        let pool = TransportPool::new();
        let cancel = CancellationToken::new();

        let started = Instant::now();
        let first = pool.get("silent", &target, &cancel).await.err().unwrap();
        let first_took = started.elapsed();
        assert!(first_took >= Duration::from_millis(900), "{first_took:?}");
        assert!(matches!(first, TransportError::Connect { .. }), "{first}");

        let again = Instant::now();
        let second = pool.get("silent", &target, &cancel).await.err().unwrap();
        assert!(again.elapsed() < Duration::from_millis(100));
        assert_eq!(second.to_string(), first.to_string());
        assert_eq!(pool.len().await, 0);

        pool.forget_failures();
        let retried = Instant::now();
        assert!(pool.get("silent", &target, &cancel).await.is_err());
        assert!(retried.elapsed() >= Duration::from_millis(900));
    }

    #[tokio::test]
    async fn an_interrupted_attempt_is_not_kept() {
        let listener = silent_listener();
        let target = silent_target(listener.local_addr().unwrap().port());
        let pool = TransportPool::new();
        let cancel = CancellationToken::new();
        cancel.cancel();
        let interrupted = pool.get("silent", &target, &cancel).await.err().unwrap();
        assert!(matches!(interrupted, TransportError::Interrupted { .. }));

        let started = Instant::now();
        let error = pool
            .get("silent", &target, &CancellationToken::new())
            .await
            .err()
            .unwrap();
        assert!(matches!(error, TransportError::Connect { .. }), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(900));
    }
}
