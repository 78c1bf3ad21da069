//! The network of a netns lab: one network namespace per host and one for the control side
//! (where `runbook` runs), each with an `eth0` on a bridge that lives in a lab-owned
//! namespace of its own. Nothing of it is in the root namespace, so no lab traffic can
//! leave the lab's namespaces. With a management network, each host has a second link on a
//! second bridge, and the control side sits on that network only, as an operator's
//! workstation does that reaches the hosts' sshd but not the cluster network. The names are
//! recorded before anything is created, so `lab down` removes exactly these, even after a
//! crash halfway through `up`.

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
/// The management network's subnet, when the lab has one.
pub const MANAGEMENT_SUBNET: &str = "10.214.0";
/// The control namespace's address on the management network (its only one there).
pub const MANAGEMENT_CONTROL_ADDRESS: &str = "10.214.0.2";
/// The domain of the hosts' management names (`etcd-1.mgmt.runbook.lab`).
pub const MANAGEMENT_DOMAIN: &str = "mgmt.runbook.lab";

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
    /// Its address on the management network (its `eth1`), when the lab has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management: Option<String>,
}

impl NetHost {
    /// The host's full name, as its certificates and `ETCD_NAME` carry it.
    pub fn fqdn(&self) -> String {
        format!("{}.{DOMAIN}", self.name)
    }

    /// The host's name on the management network (`etcd-1.mgmt.runbook.lab`).
    pub fn management_fqdn(&self) -> String {
        format!("{}.{MANAGEMENT_DOMAIN}", self.name)
    }

    /// Where the control side reaches the host's sshd: the management address if any.
    pub fn ssh_address(&self) -> &str {
        self.management.as_deref().unwrap_or(&self.address)
    }

    /// The name the inventory lists the host by: the one the control side reaches.
    pub fn inventory_name(&self) -> String {
        match self.management {
            Some(_) => self.management_fqdn(),
            None => self.name.clone(),
        }
    }

    /// The host's management link end on the management bridge (`m1` for port `p1`).
    pub fn management_port(&self) -> String {
        format!("m{}", self.port.trim_start_matches('p'))
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
    /// Whether the hosts have a second, management network (bridge `br1`), which is the
    /// only one the control namespace is on.
    #[serde(default)]
    pub management: bool,
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
    /// get .11, .12, ..., masters .21, ..., on each network.
    pub fn plan(dir: &Path, members: &[String], masters: &[String], management: bool) -> Network {
        let prefix = prefix(dir);
        let host = |name: &str, last: usize, port: usize| NetHost {
            name: name.to_string(),
            netns: format!("{prefix}-{name}"),
            address: format!("{SUBNET}.{last}"),
            port: format!("p{port}"),
            management: management.then(|| format!("{MANAGEMENT_SUBNET}.{last}")),
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
            management,
        }
    }

    /// The control namespace's address.
    pub fn control_address(&self) -> &'static str {
        if self.management {
            MANAGEMENT_CONTROL_ADDRESS
        } else {
            CONTROL_ADDRESS
        }
    }

    /// Where the lab's own tools (seeding, `lab status`) reach the members: the control
    /// namespace, or with a management network the master's, which is on both.
    fn tools_namespace(&self) -> &str {
        match self.hosts.last().filter(|_| self.management) {
            Some(master) => &master.netns,
            None => &self.control,
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
        let bridges: &[&str] = if self.management {
            &["br0", "br1"]
        } else {
            &["br0"]
        };
        for bridge in bridges {
            ip(&["-n", &self.fabric, "link", "add", bridge, "type", "bridge"])?;
            ip(&["-n", &self.fabric, "link", "set", bridge, "up"])?;
        }
        // (namespace, address, bridge port, bridge, interface)
        let control_bridge = if self.management { "br1" } else { "br0" };
        let mut ends: Vec<(&str, &str, String, &str, &str)> = vec![(
            self.control.as_str(),
            self.control_address(),
            "p0".to_string(),
            control_bridge,
            "eth0",
        )];
        for host in &self.hosts {
            ends.push((&host.netns, &host.address, host.port.clone(), "br0", "eth0"));
            if let Some(management) = &host.management {
                ends.push((
                    &host.netns,
                    management,
                    host.management_port(),
                    "br1",
                    "eth1",
                ));
            }
        }
        for (netns, address, port, bridge, interface) in ends {
            let port = port.as_str();
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
                interface,
                "netns",
                netns,
            ])?;
            ip(&["-n", &self.fabric, "link", "set", port, "master", bridge])?;
            ip(&["-n", &self.fabric, "link", "set", port, "up"])?;
            let cidr = format!("{address}/24");
            ip(&["-n", netns, "addr", "add", &cidr, "dev", interface])?;
            ip(&["-n", netns, "link", "set", interface, "up"])?;
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

    /// Moves the calling thread to where the lab's own tools reach the members (see
    /// `tools_namespace`). Threads started afterwards (the async runtime's) start there too.
    pub fn enter_tools(&self) -> Result<(), LabError> {
        let path = netns_path(self.tools_namespace());
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
        text.push_str(&format!(
            "{}\tcontrol.{DOMAIN} control\n",
            self.control_address()
        ));
        for host in &self.hosts {
            text.push_str(&format!(
                "{}\t{} {}\n",
                host.address,
                host.fqdn(),
                host.name
            ));
            if let Some(management) = &host.management {
                text.push_str(&format!(
                    "{management}\t{} {}-mgmt\n",
                    host.management_fqdn(),
                    host.name
                ));
            }
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
        let network = Network::plan(
            Path::new("/tmp/a"),
            &names,
            &["master-1".to_string()],
            false,
        );
        assert_eq!(network.host("etcd-2").unwrap().address, "10.213.0.12");
        assert_eq!(network.host("master-1").unwrap().address, "10.213.0.21");
        assert_eq!(network.host("etcd-2").unwrap().ssh_address(), "10.213.0.12");
        assert_eq!(network.host("etcd-2").unwrap().inventory_name(), "etcd-2");
        assert_eq!(network.tools_namespace(), network.control);
        let other = Network::plan(Path::new("/tmp/b"), &names, &[], false);
        assert_ne!(network.control, other.control);
        assert!(network
            .hosts_file()
            .contains("10.213.0.11\tetcd-1.runbook.lab etcd-1\n"));
    }

    #[test]
    fn a_management_network_gives_each_host_a_second_address_and_name() {
        let names = ["etcd-1".to_string()];
        let network = Network::plan(Path::new("/tmp/a"), &names, &["master-1".to_string()], true);
        let etcd = network.host("etcd-1").unwrap();
        assert_eq!(etcd.address, "10.213.0.11");
        assert_eq!(etcd.management.as_deref(), Some("10.214.0.11"));
        assert_eq!(etcd.ssh_address(), "10.214.0.11");
        assert_eq!(etcd.inventory_name(), "etcd-1.mgmt.runbook.lab");
        assert_eq!(etcd.management_port(), "m1");
        assert_eq!(
            network.tools_namespace(),
            network.host("master-1").unwrap().netns
        );
        let hosts = network.hosts_file();
        assert!(
            hosts.contains("10.214.0.2\tcontrol.runbook.lab control\n"),
            "{hosts}"
        );
        assert!(
            hosts.contains("10.213.0.11\tetcd-1.runbook.lab etcd-1\n"),
            "{hosts}"
        );
        assert!(
            hosts.contains("10.214.0.11\tetcd-1.mgmt.runbook.lab etcd-1-mgmt\n"),
            "{hosts}"
        );
    }
}
