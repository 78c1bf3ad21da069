//! Free loopback ports for a lab's members, so labs can run side by side.

use super::error::LabError;
use std::net::TcpListener;
use std::path::Path;

/// `count` distinct ports that were free on 127.0.0.1 a moment ago. All are held open
/// until every one is picked, so the kernel never hands out the same one twice. Another
/// process may still take one before etcd binds it: `up` retries with new ports then.
pub fn pick_free_ports(count: usize) -> Result<Vec<u16>, LabError> {
    let mut listeners = Vec::with_capacity(count);
    for _ in 0..count {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| LabError::io("bind a port on", Path::new("127.0.0.1"), e))?;
        listeners.push(listener);
    }
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .map(|a| a.port())
                .map_err(|e| LabError::io("bind a port on", Path::new("127.0.0.1"), e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_distinct() {
        let ports = super::pick_free_ports(8).unwrap();
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 8);
    }
}
