//! The parsed inventory: hosts in inventory order, groups, variables.

use super::Host;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Variables of a host or group, typed as Ansible types them (strings, numbers, booleans, null,
/// lists, maps).
pub type VarMap = indexmap::IndexMap<String, serde_json::Value>;

/// Hosts with their effective variables, and the groups they form.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub(super) source: Option<PathBuf>,
    pub(super) hosts: Vec<Host>,
    pub(super) index: HashMap<String, usize>,
    pub(super) groups: IndexMap<String, Group>,
    pub(super) all_vars: VarMap,
    /// Each host's variables after precedence and `-e`, before the defaults table: what
    /// `ansible-inventory` shows. Same order as `hosts`.
    pub(super) declared: Vec<VarMap>,
    /// What reading the inventory had to say that is no error (for stderr).
    pub(super) warnings: Vec<String>,
}

/// A group after resolution.
#[derive(Debug, Clone, Default)]
pub(super) struct Group {
    /// The group's own vars, as written.
    pub vars: VarMap,
    /// Direct child groups.
    pub children: Vec<String>,
    /// Indexes into `Inventory::hosts` of the group's hosts and its descendants' hosts, sorted.
    pub members: Vec<usize>,
    /// Indexes of the hosts listed directly under the group, in the order listed.
    pub hosts: Vec<usize>,
}

impl Inventory {
    /// The file this inventory was read from (`None` for the implicit localhost).
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Every host, in inventory order (first appearance).
    pub fn hosts(&self) -> Vec<&Host> {
        self.hosts.iter().collect()
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.index.get(name).map(|&i| &self.hosts[i])
    }

    /// The hosts of a group and of its child groups, in inventory order; `None` if there is no such group.
    pub fn group(&self, name: &str) -> Option<Vec<&Host>> {
        let group = self.groups.get(name)?;
        Some(group.members.iter().map(|&i| &self.hosts[i]).collect())
    }

    /// Every group, `all` and `ungrouped` first, then in order of first mention.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups.keys().map(String::as_str).collect()
    }

    pub fn has_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }

    /// A group's own variables as written (without its parents' or the defaults).
    pub fn group_vars(&self, name: &str) -> Option<&VarMap> {
        self.groups.get(name).map(|g| &g.vars)
    }

    /// A group's direct child groups.
    pub fn children(&self, name: &str) -> Option<Vec<&str>> {
        self.groups
            .get(name)
            .map(|g| g.children.iter().map(String::as_str).collect())
    }

    /// The groups a host belongs to, directly or through child groups (`all` included),
    /// in [`Inventory::group_names`] order; empty for an unknown host.
    pub fn groups_of(&self, host: &str) -> Vec<&str> {
        let Some(&i) = self.index.get(host) else {
            return Vec::new();
        };
        self.groups
            .iter()
            .filter(|(_, g)| g.members.binary_search(&i).is_ok())
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// A host's variables as the inventory, its group_vars/host_vars and `-e` set them, before
    /// `runbook`'s defaults: what `ansible-inventory --host` prints.
    pub fn declared_vars(&self, host: &str) -> Option<&VarMap> {
        self.index.get(host).map(|&i| &self.declared[i])
    }

    /// A master whose etcd runs embedded in it, as the inventory would read it had it no
    /// `[etcd]` hosts: its own variables with `runbook_etcd_layout=embedded` (unless set),
    /// and the embedded layout's defaults (data dir under `openshift_data_dir`, the master
    /// service, `openshift_master_etcd_port`, the master's client certificate). How a
    /// runbook that moves that etcd out reaches it while `[etcd]` already lists the new
    /// member (openshift-ansible's embedded2external inventory).
    pub fn as_embedded_etcd(&self, host: &str) -> Option<Host> {
        let mut vars = self.declared_vars(host)?.clone();
        vars.entry("runbook_etcd_layout".to_string())
            .or_insert_with(|| serde_json::Value::String("embedded".to_string()));
        super::defaults::apply(host, &mut vars);
        Some(Host::new(host.to_string(), vars))
    }

    /// The hosts listed directly under a group (not through its children), in the order listed.
    pub fn direct_hosts(&self, group: &str) -> Option<Vec<&Host>> {
        let group = self.groups.get(group)?;
        Some(group.hosts.iter().map(|&i| &self.hosts[i]).collect())
    }

    /// What reading the inventory warned about (a variable set twice, a skipped YAML key, ...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A variable of the `all` group (after overrides).
    pub fn var(&self, name: &str) -> Option<&serde_json::Value> {
        self.all_vars.get(name)
    }
}
