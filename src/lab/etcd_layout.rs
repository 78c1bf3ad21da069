//! How the lab's etcd members are installed: the layouts of `runbook_etcd_layout` that a lab
//! can rehearse (the etcd package, or openshift-ansible's containerized install).

use serde::{Deserialize, Serialize};

/// An etcd layout the lab can build. `embedded` (etcd inside the master) is left out: the
/// migration refuses it, and the lab has no master process that could host etcd. `runc`
/// is left out too: from 3.7 its paths and service are the package's, and its etcdctl runs
/// through `runc exec`, which a lab of plain processes cannot offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum EtcdLayout {
    /// The etcd package: data in `/var/lib/etcd`, service `etcd`.
    #[default]
    #[value(name = "rpm")]
    Rpm,
    /// openshift-ansible's containerized install (`containerized=true`): etcd in docker as
    /// the `etcd_container` service, data in `/var/lib/etcd`, config `/etc/etcd/etcd.conf`.
    #[value(name = "docker")]
    Docker,
}

impl EtcdLayout {
    /// The value of `runbook_etcd_layout` for this layout.
    pub fn name(self) -> &'static str {
        match self {
            EtcdLayout::Rpm => "rpm",
            EtcdLayout::Docker => "docker",
        }
    }

    /// The etcd service on every member (the inventory's layout default of `etcd_service`).
    pub fn service(self) -> &'static str {
        match self {
            EtcdLayout::Rpm => "etcd",
            EtcdLayout::Docker => "etcd_container",
        }
    }

    /// The member's data directory (`etcd_data_dir`) on a real host, relative to `/`
    /// (a lab host mirrors it under its root).
    pub fn data_dir(self) -> &'static str {
        "var/lib/etcd"
    }
}

impl std::fmt::Display for EtcdLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;

    /// The lab names its layout the way openshift-ansible's inventories do; the inventory's
    /// own derivation must then pick the service and data dir the lab runs.
    #[test]
    fn the_inventory_derives_the_labs_service_and_data_dir() {
        for (layout, line) in [
            (EtcdLayout::Rpm, ""),
            (EtcdLayout::Docker, " containerized=true"),
        ] {
            let text = format!("[etcd]\ne1{line}\n");
            let inventory = Inventory::from_text("hosts", &text, &[]).unwrap();
            let host = inventory.host("e1").unwrap();
            assert_eq!(
                host.var_str("runbook_etcd_layout").as_deref(),
                Some(layout.name())
            );
            assert_eq!(
                host.var_str("etcd_service").as_deref(),
                Some(layout.service())
            );
            assert_eq!(
                host.var_str("etcd_data_dir"),
                Some(format!("/{}", layout.data_dir()))
            );
        }
        let json = serde_json::to_string(&EtcdLayout::Docker).unwrap();
        assert_eq!(json, "\"docker\"");
    }
}
