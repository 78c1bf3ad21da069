//! Free loopback ports for a lab's members, so labs can run side by side.
//!
//! The ports lie below the kernel's ephemeral range (`ip_local_port_range`): a port
//! from that range that a member frees when it stops (as the migration stops etcd)
//! can become the local end of any outgoing connection on the machine meanwhile, and
//! the member then cannot bind it again when it restarts. For the same reason a lab
//! notes its ports in a machine-wide registry, so another lab started meanwhile does not
//! pick the port of a member that is stopped for a while.

use super::error::LabError;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Where labs note the ports they use: one file per port, holding the lab's directory.
fn registry() -> PathBuf {
    std::env::temp_dir().join("runbook-lab-ports")
}

/// A reservation is young (its lab is being set up) or its lab still exists.
const SETUP_GRACE: Duration = Duration::from_secs(120);

/// Whether another lab that still exists holds `port`.
fn reserved_by_another(port: u16, owner: &Path) -> bool {
    let file = registry().join(port.to_string());
    let Ok(text) = std::fs::read_to_string(&file) else {
        return false;
    };
    let holder = Path::new(text.trim());
    if holder == owner {
        return false;
    }
    let young = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < SETUP_GRACE);
    young || holder.join("lab.json").is_file()
}

/// Notes `ports` as the lab's in `owner`. Best effort: without the registry, labs still
/// work, only less safely side by side.
fn reserve(ports: &[u16], owner: &Path) {
    let dir = registry();
    if super::fsutil::create_private_dir(&dir).is_err() {
        return;
    }
    for port in ports {
        let _ = std::fs::write(dir.join(port.to_string()), owner.display().to_string());
    }
}

/// `count` distinct ports that were free on 127.0.0.1 a moment ago and are not another
/// lab's, below the ephemeral range when it leaves room; noted in the registry for the
/// lab in `owner`. All are held open until every one is picked, so none is handed out
/// twice. Another process may still take one before etcd binds it: `up` retries with
/// new ports then.
pub fn pick_free_ports(count: usize, owner: &Path) -> Result<Vec<u16>, LabError> {
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
            if listeners.iter().any(|(p, _)| *p == port) || reserved_by_another(port, owner) {
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
    let ports: Vec<u16> = listeners.iter().map(|(port, _)| *port).collect();
    reserve(&ports, owner);
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn ports_are_distinct_and_below_the_ephemeral_range() {
        let owner = tempfile::tempdir().unwrap();
        let ports = super::pick_free_ports(8, owner.path()).unwrap();
        let again = super::pick_free_ports(8, Path::new("/another/lab")).unwrap();
        assert!(
            again.iter().all(|p| !ports.contains(p)),
            "a second lab got a port of the first: {ports:?} {again:?}"
        );
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
