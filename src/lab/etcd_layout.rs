//! How the lab's etcd members are installed: the layouts of `runbook_etcd_layout` that a lab
//! can rehearse (the etcd package, or openshift-ansible's runc system container).

use serde::{Deserialize, Serialize};

/// An etcd layout the lab can build. `embedded` (etcd inside the master) is left out: the
/// migration refuses it, and the lab has no master process that could host etcd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum EtcdLayout {
    /// The etcd package: data in `/var/lib/etcd`, service `etcd`.
    #[default]
    #[value(name = "rpm")]
    Rpm,
    /// openshift-ansible's system container: etcd under runc as the `etcd_container`
    /// service, data in `/var/lib/etcd/etcd.etcd`, config still `/etc/etcd/etcd.conf`.
    #[value(name = "system_container")]
    SystemContainer,
}

impl EtcdLayout {
    /// The value of `runbook_etcd_layout` for this layout.
    pub fn name(self) -> &'static str {
        match self {
            EtcdLayout::Rpm => "rpm",
            EtcdLayout::SystemContainer => "system_container",
        }
    }

    /// The etcd service on every member (the inventory's layout default of `etcd_service`).
    pub fn service(self) -> &'static str {
        match self {
            EtcdLayout::Rpm => "etcd",
            EtcdLayout::SystemContainer => "etcd_container",
        }
    }

    /// The member's data directory (`etcd_data_dir`) on a real host, relative to `/`
    /// (a lab host mirrors it under its root).
    pub fn data_dir(self) -> &'static str {
        match self {
            EtcdLayout::Rpm => "var/lib/etcd",
            EtcdLayout::SystemContainer => "var/lib/etcd/etcd.etcd",
        }
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

    #[test]
    fn paths_and_services_match_the_inventory_defaults() {
        use crate::inventory::defaults::{spec, DefaultValue};
        let per_layout = |name: &str| match spec(name).map(|s| s.default) {
            Some(DefaultValue::PerLayout(values)) => values,
            other => panic!("{name}: {other:?}"),
        };
        for layout in [EtcdLayout::Rpm, EtcdLayout::SystemContainer] {
            let service = per_layout("etcd_service")
                .iter()
                .find(|(l, _)| *l == layout.name())
                .map(|(_, v)| *v);
            assert_eq!(service, Some(layout.service()));
            let data = per_layout("etcd_data_dir")
                .iter()
                .find(|(l, _)| *l == layout.name())
                .map(|(_, v)| *v);
            assert_eq!(Some(format!("/{}", layout.data_dir())).as_deref(), data);
        }
        let json = serde_json::to_string(&EtcdLayout::SystemContainer).unwrap();
        assert_eq!(json, "\"system_container\"");
    }
}
