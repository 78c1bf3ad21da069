//! `inventory` in Rhai: groups, hosts and variables of the loaded inventory.

use super::error::ScriptError;
use super::host::ScriptHost;
use crate::script::context::RunContext;
use crate::transport::secret::{is_secret_variable, HIDDEN};
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult};
use std::sync::Arc;

/// The `inventory` global.
#[derive(Clone)]
pub struct ScriptInventory {
    pub ctx: Arc<RunContext>,
}

impl ScriptInventory {
    fn hosts_of<'a>(&self, hosts: impl IntoIterator<Item = &'a crate::inventory::Host>) -> Array {
        hosts
            .into_iter()
            .map(|h| Dynamic::from(ScriptHost::new(h.clone(), self.ctx.clone())))
            .collect()
    }
}

#[export_module]
pub mod inventory_api {
    use super::*;

    pub type Inventory = ScriptInventory;

    /// The hosts of a group (and of its child groups), in inventory order.
    /// Throws if the inventory has no such group.
    #[rhai_fn(pure, return_raw)]
    pub fn group(inventory: &mut ScriptInventory, name: &str) -> Result<Array, Box<EvalAltResult>> {
        match inventory.ctx.inventory.group(name) {
            Some(hosts) => Ok(inventory.hosts_of(hosts)),
            None => Err(ScriptError::new(
                format!("the inventory has no group `{name}`"),
                "runbook::inventory::no_group",
                Some(format!(
                    "add a [{name}] section to the inventory; it has: {}",
                    inventory.ctx.inventory.group_names().join(", ")
                )),
            )
            .into_rhai()),
        }
    }

    /// Whether the inventory has a group of that name.
    #[rhai_fn(pure)]
    pub fn has_group(inventory: &mut ScriptInventory, name: &str) -> bool {
        inventory.ctx.inventory.group(name).is_some()
    }

    /// Every host, in inventory order.
    #[rhai_fn(pure)]
    pub fn hosts(inventory: &mut ScriptInventory) -> Array {
        let inv = inventory.ctx.inventory.clone();
        inventory.hosts_of(inv.hosts())
    }

    /// One host by name; throws if there is none.
    #[rhai_fn(pure, return_raw)]
    pub fn host(
        inventory: &mut ScriptInventory,
        name: &str,
    ) -> Result<ScriptHost, Box<EvalAltResult>> {
        match inventory.ctx.inventory.host(name) {
            Some(host) => Ok(ScriptHost::new(host.clone(), inventory.ctx.clone())),
            None => Err(ScriptError::new(
                format!("the inventory has no host `{name}`"),
                "runbook::inventory::no_host",
                Some("check the name against `inventory.hosts()`".into()),
            )
            .into_rhai()),
        }
    }

    /// The names of all groups.
    #[rhai_fn(pure)]
    pub fn groups(inventory: &mut ScriptInventory) -> Array {
        inventory
            .ctx
            .inventory
            .group_names()
            .into_iter()
            .map(|g| Dynamic::from(g.to_string()))
            .collect()
    }

    /// A variable of the `all` group (with `-e` overrides), or `()` when unset; a password
    /// reads `(hidden)`.
    #[rhai_fn(pure, return_raw)]
    pub fn variable(
        inventory: &mut ScriptInventory,
        name: &str,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        match inventory.ctx.inventory.var(name) {
            Some(_) if is_secret_variable(name) => Ok(HIDDEN.into()),
            Some(value) => rhai::serde::to_dynamic(value),
            None => Ok(Dynamic::UNIT),
        }
    }

    #[rhai_fn(pure)]
    pub fn to_string(inventory: &mut ScriptInventory) -> String {
        format!(
            "inventory ({} hosts)",
            inventory.ctx.inventory.hosts().len()
        )
    }
}
