//! The parsed inventory: hosts in inventory order, groups, variables.

use super::Host;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Variables of a host or group; values keep YAML's types (strings, numbers, booleans, lists, maps).
pub type VarMap = indexmap::IndexMap<String, serde_json::Value>;

/// Hosts with their effective variables, and the groups they form.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub(super) source: Option<PathBuf>,
    pub(super) hosts: Vec<Host>,
    pub(super) index: HashMap<String, usize>,
    pub(super) groups: IndexMap<String, Group>,
    pub(super) all_vars: VarMap,
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

    /// A variable of the `all` group (after overrides).
    pub fn var(&self, name: &str) -> Option<&serde_json::Value> {
        self.all_vars.get(name)
    }
}
