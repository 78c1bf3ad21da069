//! What an inventory file says, before precedence: groups with their vars, children and hosts,
//! and hosts with the vars set on them (and where).

use super::error::{self, InventoryError};
use super::source::SourceFile;
use super::value::value_text;
use super::VarMap;
use indexmap::{IndexMap, IndexSet};
use miette::SourceSpan;
use serde_json::Value;

/// Where something was written: 1-based line and the byte span to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub line: usize,
    pub span: SourceSpan,
}

/// A group as written: its own vars, child groups and hosts listed directly under it.
#[derive(Debug, Clone, Default)]
pub struct RawGroup {
    pub vars: VarMap,
    pub children: IndexSet<String>,
    pub hosts: IndexSet<String>,
    /// `ansible_group_priority`, which Ansible keeps apart from the group's vars.
    pub priority: Option<i64>,
}

/// A host as written: the vars set on its host lines or host entries.
#[derive(Debug, Clone, Default)]
pub struct RawHost {
    pub vars: IndexMap<String, (Value, Loc)>,
}

/// A parsed inventory file. Groups and hosts keep the order of their first mention;
/// `all` and `ungrouped` always exist. `warnings` are for stderr.
#[derive(Debug, Clone)]
pub struct RawInventory {
    pub groups: IndexMap<String, RawGroup>,
    pub hosts: IndexMap<String, RawHost>,
    pub warnings: Vec<String>,
}

impl Default for RawInventory {
    fn default() -> Self {
        let mut groups = IndexMap::new();
        let mut all = RawGroup::default();
        // As in Ansible, `ungrouped` is the first child of `all`.
        all.children.insert("ungrouped".to_string());
        groups.insert("all".to_string(), all);
        groups.insert("ungrouped".to_string(), RawGroup::default());
        RawInventory {
            groups,
            hosts: IndexMap::new(),
            warnings: Vec::new(),
        }
    }
}

impl RawInventory {
    /// The group called `name`, created empty on first mention.
    pub fn group_mut(&mut self, name: &str) -> &mut RawGroup {
        self.groups.entry(name.to_string()).or_default()
    }

    /// Lists `host` under `group` (a host may be listed under many groups); `true` if the host
    /// is new to the inventory.
    pub fn add_host(&mut self, group: &str, host: &str) -> bool {
        let new = !self.hosts.contains_key(host);
        self.hosts.entry(host.to_string()).or_default();
        self.group_mut(group).hosts.insert(host.to_string());
        new
    }

    /// Sets a group variable as Ansible's `Group.set_variable` does: a later setting replaces
    /// an earlier one (two maps are merged, key by key), and `ansible_group_priority` sets the
    /// group's priority instead of a variable.
    pub fn set_group_var(&mut self, group: &str, key: &str, value: Value) {
        let group = self.group_mut(group);
        if key == "ansible_group_priority" {
            group.priority = priority(&value);
            return;
        }
        let merged = merge_maps(group.vars.get(key), value);
        group.vars.insert(key.to_string(), merged);
    }

    /// Sets a host variable. The same host may be listed in several places; as in Ansible a
    /// later setting wins (two maps are merged, key by key), and a changed value leaves a
    /// warning naming both lines.
    pub fn set_host_var(
        &mut self,
        file: &SourceFile,
        host: &str,
        key: &str,
        value: Value,
        loc: Loc,
    ) {
        let entry = self.hosts.entry(host.to_string()).or_default();
        let old = entry.vars.get(key).cloned();
        if let Some((old, old_loc)) = &old {
            if *old != value && loc.line != 0 && old_loc.line != 0 {
                self.warnings.push(format!(
                    "{}: host {host} sets {key} twice: {} at line {}, then {} at line {}; the later line wins, as in Ansible",
                    file.name(),
                    show(old),
                    old_loc.line,
                    show(&value),
                    loc.line
                ));
            }
        }
        let merged = merge_maps(old.as_ref().map(|(v, _)| v), value);
        let entry = self.hosts.entry(host.to_string()).or_default();
        entry.vars.insert(key.to_string(), (merged, loc));
    }

    /// Makes `child` a child group of `parent`, refusing loops (`all` contains every group,
    /// so it can be no one's child).
    pub fn add_child(
        &mut self,
        file: &SourceFile,
        parent: &str,
        child: &str,
        loc: Loc,
    ) -> Result<(), InventoryError> {
        if child == parent || child == "all" || self.contains_group(child, parent) {
            return Err(InventoryError::from(error::GroupLoop {
                file: file.name().to_string(),
                line: loc.line,
                group: parent.to_string(),
                child: child.to_string(),
                src: file.src(),
                span: loc.span,
            }));
        }
        self.group_mut(child);
        self.group_mut(parent).children.insert(child.to_string());
        Ok(())
    }

    /// Whether `inner` is `outer` or one of its descendants.
    fn contains_group(&self, outer: &str, inner: &str) -> bool {
        let mut stack = vec![outer];
        let mut seen = IndexSet::new();
        while let Some(g) = stack.pop() {
            if g == inner {
                return true;
            }
            if !seen.insert(g) {
                continue;
            }
            if let Some(group) = self.groups.get(g) {
                stack.extend(group.children.iter().map(String::as_str));
            }
        }
        false
    }
}

/// A new value for a variable that holds `old`: two maps are merged (the new keys win),
/// anything else is replaced.
fn merge_maps(old: Option<&Value>, value: Value) -> Value {
    match (old, value) {
        (Some(Value::Object(old)), Value::Object(new)) => {
            let mut merged = old.clone();
            merged.extend(new);
            Value::Object(merged)
        }
        (_, value) => value,
    }
}

/// `int(value)` as Ansible applies it to `ansible_group_priority`; `None` where Python raises.
fn priority(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value for a message: text quoted, everything else as JSON.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => value_text(other).unwrap_or_else(|| "null".to_string()),
    }
}
