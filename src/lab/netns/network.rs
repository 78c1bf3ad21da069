//! The network of a netns lab: one network namespace per host and one for the control side
//! (where `runbook` runs), each with an `eth0` on a bridge that lives in a lab-owned
//! namespace of its own. Nothing of it is in the root namespace, so no lab traffic can
//! leave the lab's namespaces. The names are recorded before anything is created, so
//! `lab down` removes exactly these, even after a crash halfway through `up`.

use crate::lab::error::LabError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

/// The lab's subnet (a /24 inside each lab's own namespaces, so labs never clash).
pub const SUBNET: &str = "10.213.0";
/// The control namespace's address.
pub const CONTROL_ADDRESS: &str = "10.213.0.2";
/// The domain of the hosts' full names (`etcd-1.runbook.lab`).
pub const DOMAIN: &str = "runbook.lab";

/// One host on the lab network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetHost {
    /// Inventory name (`etcd-1`).
    pub name: String,
    /// Its network namespace (`/run/netns/<netns>`).
    pub netns: String,
    pub address: String,
    /// Its link's end on the bridge, in the fabric namespace (`ip -n <fabric> link set
    /// <port> down` cuts the host off).
    pub port: String,
}

impl NetHost {
    /// The host's full name, as its certificates and `ETCD_NAME` carry it.
    pub fn fqdn(&self) -> String {
        format!("{}.{DOMAIN}", self.name)
    }
}

/// Every namespace of a lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Holds the bridge `br0`.
    pub fabric: String,
    /// Where `runbook` runs (`lab exec`).
    pub control: String,
    pub hosts: Vec<NetHost>,
}

/// A name prefix unique to the lab directory: two labs never share a namespace.
fn prefix(dir: &Path) -> String {
    format!(
        "rbl{:08x}",
        crc32c::crc32c(dir.to_string_lossy().as_bytes())
    )
}

impl Network {
    /// The namespaces and addresses of a lab in `dir` with these hosts: etcd members
    /// get .11, .12, ..., masters .21, ...
    pub fn plan(dir: &Path, members: &[String], masters: &[String]) -> Network {
        let prefix = prefix(dir);
        let host = |name: &str, last: usize, port: usize| NetHost {
            name: name.to_string(),
            netns: format!("{prefix}-{name}"),
            address: format!("{SUBNET}.{last}"),
            port: format!("p{port}"),
        };
        // Port p0 is the control namespace's.
        let mut hosts: Vec<NetHost> = members
            .iter()
            .enumerate()
            .map(|(i, name)| host(name, 11 + i, 1 + i))
            .collect();
        hosts.extend(
            masters
                .iter()
                .enumerate()
                .map(|(i, name)| host(name, 21 + i, 1 + members.len() + i)),
        );
        Network {
            fabric: format!("{prefix}-net"),
            control: format!("{prefix}-control"),
            hosts,
        }
    }

    pub fn host(&self, name: &str) -> Option<&NetHost> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Every namespace name, the fabric last.
    pub fn namespaces(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.hosts.iter().map(|h| h.netns.as_str()).collect();
        names.push(&self.control);
        names.push(&self.fabric);
        names
    }

    /// Creates the namespaces, the bridge and one link per namespace.
    pub fn create(&self) -> Result<(), LabError> {
        for name in self.namespaces() {
            if netns_path(name).exists() {
                return Err(LabError::Netns {
                    what: format!("creating network namespace {name}"),
                    reason: "it already exists: a lab in this directory was not taken down".into(),
                });
            }
        }
        for name in self.namespaces() {
            ip(&["netns", "add", name])?;
            ip(&["-n", name, "link", "set", "lo", "up"])?;
        }
        ip(&["-n", &self.fabric, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &self.fabric, "link", "set", "br0", "up"])?;
        let mut ends: Vec<(&str, &str, &str)> =
            vec![(self.control.as_str(), CONTROL_ADDRESS, "p0")];
        ends.extend(
            self.hosts
                .iter()
                .map(|h| (h.netns.as_str(), h.address.as_str(), h.port.as_str())),
        );
        for (netns, address, port) in ends {
            // Both ends are made where they live: the bridge side in the fabric, eth0 in
            // the host's namespace. Neither ever exists in the root namespace.
            ip(&[
                "-n",
                &self.fabric,
                "link",
                "add",
                port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                netns,
            ])?;
            ip(&["-n", &self.fabric, "link", "set", port, "master", "br0"])?;
            ip(&["-n", &self.fabric, "link", "set", port, "up"])?;
            let cidr = format!("{address}/24");
            ip(&["-n", netns, "addr", "add", &cidr, "dev", "eth0"])?;
            ip(&["-n", netns, "link", "set", "eth0", "up"])?;
        }
        Ok(())
    }

    /// Removes every namespace of the lab that still exists (their links go with them).
    pub fn remove(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for name in self.namespaces() {
            if netns_path(name).exists() {
                if let Err(error) = ip(&["netns", "del", name]) {
                    failures.push(error.to_string());
                }
            }
        }
        failures
    }

    /// Moves the calling thread into the control namespace. Threads started afterwards
    /// (the async runtime's) start there too.
    pub fn enter_control(&self) -> Result<(), LabError> {
        let path = netns_path(&self.control);
        let file = std::fs::File::open(&path).map_err(|e| LabError::io("open", &path, e))?;
        use std::os::fd::AsRawFd;
        // SAFETY: setns(2) on a namespace file we hold open; it changes only this thread's
        // network namespace.
        let done = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        if done != 0 {
            return Err(LabError::io(
                "enter the network namespace",
                &path,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// `/etc/hosts` of every lab host and of the control side.
    pub fn hosts_file(&self) -> String {
        let mut text = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n");
        text.push_str(&format!("{CONTROL_ADDRESS}\tcontrol.{DOMAIN} control\n"));
        for host in &self.hosts {
            text.push_str(&format!(
                "{}\t{} {}\n",
                host.address,
                host.fqdn(),
                host.name
            ));
        }
        text
    }
}

pub fn netns_path(name: &str) -> std::path::PathBuf {
    Path::new("/run/netns").join(name)
}

/// Runs `ip ARGS`, failing with its stderr.
fn ip(args: &[&str]) -> Result<(), LabError> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| LabError::io("run", Path::new("ip"), e))?;
    if output.status.success() {
        return Ok(());
    }
    Err(LabError::Netns {
        what: format!("`ip {}`", args.join(" ")),
        reason: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_addresses_and_names_per_lab_directory() {
        let names = ["etcd-1".to_string(), "etcd-2".to_string()];
        let network = Network::plan(Path::new("/tmp/a"), &names, &["master-1".to_string()]);
        assert_eq!(network.host("etcd-2").unwrap().address, "10.213.0.12");
        assert_eq!(network.host("master-1").unwrap().address, "10.213.0.21");
        let other = Network::plan(Path::new("/tmp/b"), &names, &[]);
        assert_ne!(network.control, other.control);
        assert!(network
            .hosts_file()
            .contains("10.213.0.11\tetcd-1.runbook.lab etcd-1\n"));
    }
}
