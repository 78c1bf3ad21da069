//! The parsed inventory: hosts in inventory order, groups, variables.

use super::format::{self, Format};
use super::source::SourceFile;
use super::{ini, resolve, yaml, Host, InventoryError};
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
    /// Reads an INI or YAML inventory (chosen by content), then applies `overrides` (`-e NAME=VALUE`).
    pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<Inventory, InventoryError> {
        let shown = path.display().to_string();
        let read_error = |reason: String| InventoryError::Read {
            path: shown.clone(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            read_error(format!(
                "not UTF-8 text (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        let mut inventory = Inventory::from_text(&shown, &text, overrides)?;
        inventory.source = Some(path.to_path_buf());
        Ok(inventory)
    }

    /// Parses inventory text; `name` is shown in errors, and an extension `.yml`/`.yaml`/`.json`
    /// on it selects YAML (otherwise the content decides).
    pub fn from_text(
        name: &str,
        text: &str,
        overrides: &[(String, String)],
    ) -> Result<Inventory, InventoryError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let file = SourceFile::new(name, text);
        let raw = match format::detect(Path::new(name), text) {
            Format::Yaml => yaml::parse(&file)?,
            Format::Ini => ini::parse(&file)?,
        };
        Ok(resolve::resolve(raw, overrides))
    }

    /// An inventory with no file: the implicit `localhost` (local connection) only.
    pub fn implicit_localhost(overrides: &[(String, String)]) -> Inventory {
        let mut raw = super::raw::RawInventory::default();
        raw.add_host("all", "localhost");
        if let Some(host) = raw.hosts.get_mut("localhost") {
            let loc = super::raw::Loc {
                line: 0,
                span: (0, 0).into(),
            };
            host.vars.insert(
                "ansible_connection".to_string(),
                (serde_json::Value::String("local".to_string()), loc),
            );
        }
        let mut inventory = resolve::resolve(raw, overrides);
        // Ansible's implicit localhost belongs to `all` only.
        if let Some(ungrouped) = inventory.groups.get_mut("ungrouped") {
            ungrouped.members.clear();
        }
        inventory
    }

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
