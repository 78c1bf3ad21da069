//! Free loopback ports for a lab's members, so labs can run side by side.
//!
//! The ports lie below the kernel's ephemeral range (`ip_local_port_range`): a port
//! from that range that a member frees when it stops (as the migration stops etcd)
//! can become the local end of any outgoing connection on the machine meanwhile, and
//! the member then cannot bind it again when it restarts.

use super::error::LabError;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::Path;

/// The lowest port a lab uses.
const FLOOR: u16 = 10_000;

/// The start of the ephemeral port range (Linux's default when it cannot be read).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A random number from the standard library's per-process random keys and the clock.
fn random_seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    hasher.finish() | 1
}

/// `count` distinct ports that were free on 127.0.0.1 a moment ago, below the ephemeral
/// range when it leaves room. All are held open until every one is picked, so none is
/// handed out twice. Another process may still take one before etcd binds it: `up`
/// retries with new ports then.
pub fn pick_free_ports(count: usize) -> Result<Vec<u16>, LabError> {
    let bind_error = |e| LabError::io("bind a port on", Path::new("127.0.0.1"), e);
    let mut listeners: Vec<(u16, TcpListener)> = Vec::with_capacity(count);
    let top = ephemeral_start();
    if top > FLOOR {
        let span = u64::from(top - FLOOR);
        let mut state = random_seed();
        for _ in 0..count * 100 {
            if listeners.len() == count {
                break;
            }
            // xorshift64: enough to spread tries over the range.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let port = FLOOR + (state % span) as u16;
            if listeners.iter().any(|(p, _)| *p == port) {
                continue;
            }
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
                listeners.push((port, listener));
            }
        }
    }
    // A crowded (or unusual) machine: whatever the kernel hands out.
    while listeners.len() < count {
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        listeners.push((port, listener));
    }
    Ok(listeners.iter().map(|(port, _)| *port).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_distinct_and_below_the_ephemeral_range() {
        let ports = super::pick_free_ports(8).unwrap();
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 8);
        let top = super::ephemeral_start();
        if top > super::FLOOR {
            assert!(
                ports.iter().all(|p| *p >= super::FLOOR && *p < top),
                "{ports:?}"
            );
        }
    }
}
