//! How the lab's etcd members are installed: the layouts of `runbook_etcd_layout` that a lab
//! can rehearse (the etcd package, openshift-ansible's containerized install, or etcd
//! embedded in a single OpenShift 3.6 master).

use serde::{Deserialize, Serialize};

/// The one master service of an OpenShift 3.6 non-HA master (`roles/openshift_master`),
/// which runs the master's embedded etcd.
pub const EMBEDDED_MASTER_SERVICE: &str = "atomic-openshift-master";

/// An etcd layout the lab can build. `runc` is left out: from 3.7 its paths and service are
/// the package's, and its etcdctl runs through `runc exec`, which a lab of plain processes
/// cannot offer.
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
    /// etcd inside the one master of an OpenShift 3.6 cluster, as openshift-ansible installs
    /// it when the inventory has no `[etcd]` hosts: the `atomic-openshift-master` service
    /// runs it from `etcdConfig` in master-config.yaml, data in
    /// `/var/lib/origin/openshift.local.etcd`.
    #[value(name = "embedded")]
    Embedded,
}

impl EtcdLayout {
    /// The value of `runbook_etcd_layout` for this layout.
    pub fn name(self) -> &'static str {
        match self {
            EtcdLayout::Rpm => "rpm",
            EtcdLayout::Docker => "docker",
            EtcdLayout::Embedded => "embedded",
        }
    }

    /// The etcd service on every member (the inventory's layout default of `etcd_service`).
    pub fn service(self) -> &'static str {
        match self {
            EtcdLayout::Rpm => "etcd",
            EtcdLayout::Docker => "etcd_container",
            EtcdLayout::Embedded => EMBEDDED_MASTER_SERVICE,
        }
    }

    /// The member's data directory (`etcd_data_dir`) on a real host, relative to `/`
    /// (a lab host mirrors it under its root).
    pub fn data_dir(self) -> &'static str {
        match self {
            EtcdLayout::Rpm | EtcdLayout::Docker => "var/lib/etcd",
            // `etcdConfig.storageDirectory`: `{openshift_data_dir}/openshift.local.etcd`.
            EtcdLayout::Embedded => "var/lib/origin/openshift.local.etcd",
        }
    }

    /// Whether etcd runs inside the master rather than on etcd hosts of its own.
    pub fn is_embedded(self) -> bool {
        self == EtcdLayout::Embedded
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

    /// An embedded etcd is the master's: on a 3.6 single master, the derived etcd service
    /// is the one master service, and runbook's own master services are that one too.
    #[test]
    fn an_embedded_etcd_runs_in_the_one_service_of_a_36_master() {
        let layout = EtcdLayout::Embedded;
        let text = "[masters]\nm1 runbook_etcd_layout=embedded openshift_release=v3.6\n";
        let inventory = Inventory::from_text("hosts", text, &[]).unwrap();
        let host = inventory.host("m1").unwrap();
        assert_eq!(
            host.var_str("etcd_service").as_deref(),
            Some(layout.service())
        );
        assert_eq!(
            host.var_str("etcd_data_dir"),
            Some(format!("/{}", layout.data_dir()))
        );
        assert_eq!(
            crate::ops::master::services::master_services(host, 1),
            [layout.service()]
        );
        assert_eq!(serde_json::to_string(&layout).unwrap(), "\"embedded\"");
    }
}
