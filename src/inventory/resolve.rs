//! From what a file says to what each host sees: group membership, Ansible's variable
//! precedence (with group_vars/ and host_vars/), `-e` overrides and the defaults table.

use super::defaults;
use super::model::{Group, Inventory};
use super::raw::RawInventory;
use super::vars_files::VarsFiles;
use super::{Host, VarMap};
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::HashMap;

/// Ansible's default `ansible_group_priority`.
const DEFAULT_PRIORITY: i64 = 1;

/// Builds the inventory. Variables of a host, lowest precedence first, as Ansible's
/// VariableManager merges them: the file's `all` vars, the file's vars of the host's other
/// groups (ordered by depth, parents before children, then `ansible_group_priority`, then
/// name), `group_vars/all`, `group_vars/<group>` in the same group order, the host's own vars
/// in the file, `host_vars/<host>`; then `-e` overrides (text, as Ansible's `-e name=value`);
/// then the defaults table fills what is still unset.
pub fn resolve(
    mut raw: RawInventory,
    files: VarsFiles,
    overrides: &[(String, String)],
) -> Inventory {
    let overrides: VarMap = overrides
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
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
                hosts: group
                    .hosts
                    .iter()
                    .filter_map(|h| host_index.get(h).copied())
                    .collect(),
            },
        );
    }
    let priorities: HashMap<&str, i64> = raw
        .groups
        .iter()
        .map(|(name, g)| (name.as_str(), g.priority.unwrap_or(DEFAULT_PRIORITY)))
        .collect();

    // Groups in the order their vars apply.
    let mut order: Vec<&str> = groups.keys().map(String::as_str).collect();
    order.sort_by(|a, b| {
        let key = |g: &str| (depths.get(g).copied().unwrap_or(0), priorities[g]);
        key(a).cmp(&key(b)).then_with(|| a.cmp(b))
    });

    // No [etcd] hosts but masters: openshift-ansible runs etcd inside the master.
    let no_etcd_hosts = groups.get("etcd").is_none_or(|g| g.members.is_empty());
    let masters: &[usize] = groups.get("masters").map_or(&[], |g| g.members.as_slice());
    let embedded = |i: usize| no_etcd_hosts && masters.binary_search(&i).is_ok();

    let empty = VarMap::new();
    let mut hosts = Vec::with_capacity(raw.hosts.len());
    let mut declared = Vec::with_capacity(raw.hosts.len());
    for (i, (name, raw_host)) in raw.hosts.iter().enumerate() {
        let host_groups: Vec<&str> = order
            .iter()
            .copied()
            .filter(|g| groups[*g].members.binary_search(&i).is_ok())
            .collect();
        let mut vars = VarMap::new();
        for g in &host_groups {
            merge(&mut vars, &groups[*g].vars);
        }
        // `all` sorts first (depth 0), so the same order serves the files.
        for g in &host_groups {
            merge(&mut vars, files.groups.get(*g).unwrap_or(&empty));
        }
        for (k, (v, _)) in &raw_host.vars {
            vars.insert(k.clone(), v.clone());
        }
        merge(&mut vars, files.hosts.get(name).unwrap_or(&empty));
        merge(&mut vars, &overrides);
        declared.push(vars.clone());
        if embedded(i) && !vars.contains_key("runbook_etcd_layout") {
            vars.insert(
                "runbook_etcd_layout".to_string(),
                Value::String("embedded".to_string()),
            );
        }
        defaults::apply(name, &mut vars);
        hosts.push(Host::new(name.clone(), vars));
    }

    let mut all_vars = groups
        .get("all")
        .map(|g| g.vars.clone())
        .unwrap_or_default();
    merge(&mut all_vars, files.groups.get("all").unwrap_or(&empty));
    merge(&mut all_vars, &overrides);

    let mut warnings = raw.warnings;
    warnings.extend(files.warnings);
    Inventory {
        source: None,
        hosts,
        index: host_index,
        groups,
        all_vars,
        declared,
        warnings,
    }
}

fn merge(into: &mut VarMap, from: &VarMap) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
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
