//! The parsed inventory: hosts in inventory order, groups, variables.

use super::{Host, InventoryError};
use std::path::Path;

/// Variables of a host or group; values keep YAML's types (strings, numbers, booleans, lists, maps).
pub type VarMap = indexmap::IndexMap<String, serde_json::Value>;

#[derive(Debug, Clone, Default)]
pub struct Inventory {}

impl Inventory {
    /// Reads an INI or YAML inventory (chosen by content), then applies `overrides` (`-e NAME=VALUE`).
    pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<Inventory, InventoryError> {
        let _ = (path, overrides);
        todo!("inventory::load")
    }

    /// An inventory with no file: the implicit `localhost` (local connection) only.
    pub fn implicit_localhost(overrides: &[(String, String)]) -> Inventory {
        let _ = overrides;
        todo!("inventory::implicit_localhost")
    }

    /// Every host, in inventory order (first appearance).
    pub fn hosts(&self) -> Vec<&Host> {
        todo!()
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        let _ = name;
        todo!()
    }

    /// The hosts of a group and of its child groups, in inventory order; `None` if there is no such group.
    pub fn group(&self, name: &str) -> Option<Vec<&Host>> {
        let _ = name;
        todo!()
    }

    pub fn group_names(&self) -> Vec<&str> {
        todo!()
    }

    /// A variable of the `all` group (after overrides).
    pub fn var(&self, name: &str) -> Option<&serde_json::Value> {
        let _ = name;
        todo!()
    }
}
