//! `runbook inventory -i FILE [--host NAME]`: what runbook read from an inventory, in
//! `ansible-inventory --list` / `--host` shape, to compare with Ansible's own view.

use super::Failure;
use crate::cli::InventoryArgs;
use crate::inventory::{listing, Inventory};
use crate::report::Reporter;

/// `--host` names no host of the inventory.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("no host named `{host}` in {inventory}")]
#[diagnostic(
    code(runbook::inventory::unknown_host),
    help("`runbook inventory -i {inventory}` lists every host under `_meta.hostvars` and in its groups")
)]
pub struct UnknownHost {
    host: String,
    inventory: String,
}

pub fn print(args: InventoryArgs, reporter: &Reporter) -> Result<(), Failure> {
    let inventory = match &args.inventory {
        Some(path) => Inventory::load(path, &args.extra_vars).map_err(Failure::bad_input)?,
        None => Inventory::implicit_localhost(&args.extra_vars),
    };
    let value = match &args.host {
        Some(host) => listing::host(&inventory, host).ok_or_else(|| {
            Failure::bad_input(UnknownHost {
                host: host.clone(),
                inventory: args
                    .inventory
                    .as_ref()
                    .map_or("the implicit localhost inventory".to_string(), |p| {
                        p.display().to_string()
                    }),
            })
        })?,
        None => listing::list(&inventory),
    };
    let human = serde_json::to_string_pretty(&value).unwrap_or_default();
    reporter.result(&human, value);
    Ok(())
}
