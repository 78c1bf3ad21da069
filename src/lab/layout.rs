//! Where everything of a lab lives: `DIR/hosts/<name>/` mirrors a real host's
//! filesystem (`etc/etcd`, `var/lib/etcd`, `etc/origin/master`, `var/lib/origin`, `var/log`,
//! `run`); where etcd's data and service are depends on the lab's `EtcdLayout`.

use super::etcd_layout::{EtcdLayout, EMBEDDED_MASTER_SERVICE};
use std::path::{Path, PathBuf};

/// The name of the lab's master host.
pub const MASTER_HOST: &str = "master-1";
/// The services of a 3.7 master, in the order they start (API before controllers); a lab
/// of embedded etcd has one master service instead (`master_services`).
pub const MASTER_SERVICES: [&str; 2] = [
    "atomic-openshift-master-api",
    "atomic-openshift-master-controllers",
];

/// The master's services in start order for a lab whose etcd is installed as `etcd`: a 3.7
/// master's API and controllers, or the one service of a 3.6 single master, which also
/// runs the embedded etcd.
pub fn master_services(etcd: EtcdLayout) -> &'static [&'static str] {
    match etcd {
        EtcdLayout::Rpm | EtcdLayout::Docker => &MASTER_SERVICES,
        EtcdLayout::Embedded => &[EMBEDDED_MASTER_SERVICE],
    }
}

/// The name of the `index`-th (0-based) etcd member: `etcd-1`, `etcd-2`, ...
pub fn member_name(index: usize) -> String {
    format!("etcd-{}", index + 1)
}

/// Paths of a whole lab.
#[derive(Debug, Clone)]
pub struct LabLayout {
    pub dir: PathBuf,
}

impl LabLayout {
    pub fn new(dir: &Path) -> LabLayout {
        LabLayout {
            dir: dir.to_path_buf(),
        }
    }

    /// `DIR/lab.json`: marks a directory as a lab and records what it holds.
    pub fn state_file(&self) -> PathBuf {
        self.dir.join("lab.json")
    }

    /// `DIR/bin/lab-service`: the service controller.
    pub fn service_script(&self) -> PathBuf {
        self.dir.join("bin").join("lab-service")
    }

    pub fn inventory_file(&self) -> PathBuf {
        self.dir.join("inventory.ini")
    }

    pub fn env_file(&self) -> PathBuf {
        self.dir.join("env")
    }

    /// `DIR/inventory-external.ini`: an embedded lab's inventory for moving its etcd out to
    /// the spare host, as openshift-ansible's `embedded2external.yml` reads its inventory.
    pub fn external_inventory_file(&self) -> PathBuf {
        self.dir.join("inventory-external.ini")
    }

    /// `DIR/env-external`: `DIR/env` for the spare host's etcd once the move made it.
    pub fn external_env_file(&self) -> PathBuf {
        self.dir.join("env-external")
    }

    pub fn hosts_dir(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    pub fn host(&self, name: &str) -> HostLayout {
        HostLayout {
            name: name.to_string(),
            root: self.hosts_dir().join(name),
        }
    }
}

/// Paths on one lab host, rooted at `DIR/hosts/<name>`.
#[derive(Debug, Clone)]
pub struct HostLayout {
    pub name: String,
    pub root: PathBuf,
}

impl HostLayout {
    /// `etcd_data_dir` of a member installed as `etcd`.
    pub fn etcd_data_dir(&self, etcd: EtcdLayout) -> PathBuf {
        self.root.join(etcd.data_dir())
    }

    /// `etcd_conf_dir`.
    pub fn etcd_conf_dir(&self) -> PathBuf {
        self.root.join("etc/etcd")
    }

    /// `etcd_conf_file`: the `ETCD_*` environment file.
    pub fn etcd_conf_file(&self) -> PathBuf {
        self.etcd_conf_dir().join("etcd.conf")
    }

    /// A file in `etcd_conf_dir` (`ca.crt`, `server.key`, ...).
    pub fn etcd_file(&self, name: &str) -> PathBuf {
        self.etcd_conf_dir().join(name)
    }

    /// `openshift_master_config_dir`.
    pub fn master_config_dir(&self) -> PathBuf {
        self.root.join("etc/origin/master")
    }

    /// `openshift_data_dir`: the master's state, and an embedded etcd's data below it.
    pub fn openshift_data_dir(&self) -> PathBuf {
        self.root.join("var/lib/origin")
    }

    pub fn master_config_file(&self) -> PathBuf {
        self.master_config_dir().join("master-config.yaml")
    }

    /// The executable a service runs, like a unit's ExecStart.
    pub fn service_start_script(&self, service: &str) -> PathBuf {
        self.root.join("lib/lab-service").join(service)
    }

    /// `run/<service>.pid`: "<pid> <start time in clock ticks>" of the running service.
    pub fn pid_file(&self, service: &str) -> PathBuf {
        self.root.join("run").join(format!("{service}.pid"))
    }

    /// `var/log/<service>.log`: the service's stdout and stderr.
    pub fn log_file(&self, service: &str) -> PathBuf {
        self.root.join("var/log").join(format!("{service}.log"))
    }
}
