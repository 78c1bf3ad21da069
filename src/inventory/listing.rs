//! The inventory in `ansible-inventory --list` and `--host` shape: each group with its direct
//! `hosts` and its `children`, and `_meta.hostvars` with each host's variables as Ansible
//! would print them (before runbook's defaults).

use super::model::Inventory;
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// `ansible-inventory --list`: groups reachable from `all` (a group with neither hosts nor
/// children is left out, `all` shows no hosts), then `_meta.hostvars` for every host that
/// has variables.
pub fn list(inventory: &Inventory) -> Value {
    let mut out = Map::new();
    let mut seen = HashSet::new();
    group(inventory, "all", &mut seen, &mut out);
    let mut hostvars = Map::new();
    for host in inventory.hosts() {
        if let Some(vars) = inventory
            .declared_vars(&host.name)
            .filter(|v| !v.is_empty())
        {
            hostvars.insert(
                host.name.clone(),
                Value::Object(vars.clone().into_iter().collect()),
            );
        }
    }
    out.insert("_meta".to_string(), json!({ "hostvars": hostvars }));
    Value::Object(out)
}

/// `ansible-inventory --host NAME`: that host's variables; `None` for an unknown host.
pub fn host(inventory: &Inventory, name: &str) -> Option<Value> {
    inventory
        .declared_vars(name)
        .map(|vars| Value::Object(vars.clone().into_iter().collect()))
}

fn group(
    inventory: &Inventory,
    name: &str,
    seen: &mut HashSet<String>,
    out: &mut Map<String, Value>,
) {
    let mut entry = Map::new();
    if name != "all" {
        let hosts: Vec<Value> = inventory
            .direct_hosts(name)
            .unwrap_or_default()
            .iter()
            .map(|h| Value::String(h.name.clone()))
            .collect();
        if !hosts.is_empty() {
            entry.insert("hosts".to_string(), Value::Array(hosts));
        }
    }
    let children: Vec<String> = inventory
        .children(name)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    for child in &children {
        if seen.insert(child.clone()) {
            group(inventory, child, seen, out);
        }
    }
    if !children.is_empty() {
        entry.insert("children".to_string(), json!(children));
    }
    if !entry.is_empty() {
        out.insert(name.to_string(), Value::Object(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_of_the_listing() {
        let inv = Inventory::from_text(
            "inv.ini",
            "lonely\n[etcd]\ne1 etcd_ip=10.0.0.1\n[lb]\n[OSEv3:children]\netcd\nlb\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            list(&inv),
            json!({
                "all": {"children": ["ungrouped", "OSEv3"]},
                "ungrouped": {"hosts": ["lonely"]},
                "OSEv3": {"children": ["etcd", "lb"]},
                "etcd": {"hosts": ["e1"]},
                "_meta": {"hostvars": {"e1": {"etcd_ip": "10.0.0.1"}}}
            })
        );
        assert_eq!(host(&inv, "lonely"), Some(json!({})));
        assert_eq!(host(&inv, "nosuch"), None);
    }
}
