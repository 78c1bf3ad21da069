//! From what a file says to what each host sees: group membership, Ansible's variable
//! precedence, `-e` overrides and the defaults table.

use super::defaults;
use super::model::{Group, Inventory};
use super::raw::RawInventory;
use super::value::type_unquoted;
use super::{Host, VarMap};
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::HashMap;

/// Ansible's default `ansible_group_priority`.
const DEFAULT_PRIORITY: i64 = 1;

/// Builds the inventory. Variables of a host, lowest precedence first: the defaults table,
/// `all`, then its other groups ordered by depth (parents before children), then
/// `ansible_group_priority`, then name; then its own vars; then the overrides.
pub fn resolve(mut raw: RawInventory, overrides: &[(String, String)]) -> Inventory {
    let overrides: VarMap = overrides
        .iter()
        .map(|(k, v)| (k.clone(), type_unquoted(v)))
        .collect();

    attach_top_level_groups(&mut raw);
    fill_ungrouped(&mut raw);

    let host_index: HashMap<String, usize> = raw
        .hosts
        .keys()
        .enumerate()
        .map(|(i, name)| (name.clone(), i))
        .collect();

    let depths = depths(&raw);
    let mut members_memo: HashMap<String, Vec<usize>> = HashMap::new();
    let mut groups: IndexMap<String, Group> = IndexMap::new();
    for (name, group) in &raw.groups {
        let members = members(&raw, name, &host_index, &mut members_memo);
        groups.insert(
            name.clone(),
            Group {
                vars: group.vars.clone(),
                children: group.children.iter().cloned().collect(),
                members,
            },
        );
    }

    // Groups in the order their vars apply.
    let mut order: Vec<&str> = groups.keys().map(String::as_str).collect();
    order.sort_by(|a, b| {
        let key = |g: &str| {
            (
                depths.get(g).copied().unwrap_or(0),
                priority(&groups[g].vars),
            )
        };
        key(a).cmp(&key(b)).then_with(|| a.cmp(b))
    });

    let mut hosts = Vec::with_capacity(raw.hosts.len());
    for (i, (name, raw_host)) in raw.hosts.iter().enumerate() {
        let mut vars = VarMap::new();
        for g in &order {
            let group = &groups[*g];
            if group.members.binary_search(&i).is_ok() {
                merge(&mut vars, &group.vars);
            }
        }
        for (k, (v, _)) in &raw_host.vars {
            vars.insert(k.clone(), v.clone());
        }
        merge(&mut vars, &overrides);
        defaults::apply(name, &mut vars);
        hosts.push(Host::new(name.clone(), vars));
    }

    let mut all_vars = groups
        .get("all")
        .map(|g| g.vars.clone())
        .unwrap_or_default();
    merge(&mut all_vars, &overrides);

    Inventory {
        source: None,
        hosts,
        index: host_index,
        groups,
        all_vars,
    }
}

fn merge(into: &mut VarMap, from: &VarMap) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}

fn priority(vars: &VarMap) -> i64 {
    match vars.get("ansible_group_priority") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(DEFAULT_PRIORITY),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(DEFAULT_PRIORITY),
        _ => DEFAULT_PRIORITY,
    }
}

/// Every group that is no other group's child becomes a child of `all`.
fn attach_top_level_groups(raw: &mut RawInventory) {
    let has_parent: std::collections::HashSet<String> = raw
        .groups
        .values()
        .flat_map(|g| g.children.iter().cloned())
        .collect();
    let top: Vec<String> = raw
        .groups
        .keys()
        .filter(|name| *name != "all" && !has_parent.contains(*name))
        .cloned()
        .collect();
    let all = raw.group_mut("all");
    for name in top {
        all.children.insert(name);
    }
}

/// `ungrouped` holds exactly the hosts that are in no group but `all` (and `ungrouped`).
fn fill_ungrouped(raw: &mut RawInventory) {
    let grouped: std::collections::HashSet<&String> = raw
        .groups
        .iter()
        .filter(|(name, _)| *name != "all" && *name != "ungrouped")
        .flat_map(|(_, g)| g.hosts.iter())
        .collect();
    let ungrouped: indexmap::IndexSet<String> = raw
        .hosts
        .keys()
        .filter(|h| !grouped.contains(h))
        .cloned()
        .collect();
    raw.group_mut("ungrouped").hosts = ungrouped;
}

/// Each group's depth: `all` is 0, a child is one deeper than its deepest parent.
fn depths(raw: &RawInventory) -> HashMap<String, usize> {
    let mut depth: HashMap<String, usize> = HashMap::new();
    // Groups form a DAG (loops are refused while parsing), so relaxing edges
    // at most `groups` times settles every depth.
    depth.insert("all".to_string(), 0);
    for _ in 0..raw.groups.len() {
        let mut changed = false;
        for (name, group) in &raw.groups {
            let Some(&d) = depth.get(name) else { continue };
            for child in &group.children {
                let entry = depth.entry(child.clone()).or_insert(0);
                if *entry < d + 1 {
                    *entry = d + 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

/// The sorted host indexes of `group` and all its descendants.
fn members(
    raw: &RawInventory,
    group: &str,
    index: &HashMap<String, usize>,
    memo: &mut HashMap<String, Vec<usize>>,
) -> Vec<usize> {
    if let Some(m) = memo.get(group) {
        return m.clone();
    }
    let mut out: Vec<usize> = Vec::new();
    if let Some(g) = raw.groups.get(group) {
        out.extend(g.hosts.iter().filter_map(|h| index.get(h).copied()));
        for child in &g.children {
            out.extend(members(raw, child, index, memo));
        }
    }
    out.sort_unstable();
    out.dedup();
    memo.insert(group.to_string(), out.clone());
    out
}
