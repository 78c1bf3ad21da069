//! What an inventory file says, before precedence: groups with their vars, children and hosts,
//! and hosts with the vars set on them (and where).

use super::error::InventoryError;
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
}

/// A host as written: the vars set on its host lines or host entries.
#[derive(Debug, Clone, Default)]
pub struct RawHost {
    pub vars: IndexMap<String, (Value, Loc)>,
}

/// A parsed inventory file. Groups and hosts keep the order of their first mention;
/// `all` and `ungrouped` always exist.
#[derive(Debug, Clone)]
pub struct RawInventory {
    pub groups: IndexMap<String, RawGroup>,
    pub hosts: IndexMap<String, RawHost>,
}

impl Default for RawInventory {
    fn default() -> Self {
        let mut groups = IndexMap::new();
        groups.insert("all".to_string(), RawGroup::default());
        groups.insert("ungrouped".to_string(), RawGroup::default());
        RawInventory {
            groups,
            hosts: IndexMap::new(),
        }
    }
}

impl RawInventory {
    /// The group called `name`, created empty on first mention.
    pub fn group_mut(&mut self, name: &str) -> &mut RawGroup {
        self.groups.entry(name.to_string()).or_default()
    }

    /// Lists `host` under `group` (a host may be listed under many groups).
    pub fn add_host(&mut self, group: &str, host: &str) {
        self.hosts.entry(host.to_string()).or_default();
        self.group_mut(group).hosts.insert(host.to_string());
    }

    /// Sets a group variable; a later setting of the same variable replaces an earlier one.
    pub fn set_group_var(&mut self, group: &str, key: &str, value: Value) {
        self.group_mut(group).vars.insert(key.to_string(), value);
    }

    /// Sets a host variable. The same host may be listed in several places, but giving one
    /// variable two different values there is an error that names both lines.
    pub fn set_host_var(
        &mut self,
        file: &SourceFile,
        host: &str,
        key: &str,
        value: Value,
        loc: Loc,
    ) -> Result<(), InventoryError> {
        let entry = self.hosts.entry(host.to_string()).or_default();
        if let Some((old, old_loc)) = entry.vars.get(key) {
            if *old != value {
                return Err(InventoryError::ConflictingHostVar {
                    file: file.name().to_string(),
                    host: host.to_string(),
                    var: key.to_string(),
                    first: show(old),
                    second: show(&value),
                    first_line: old_loc.line,
                    second_line: loc.line,
                    src: file.src(),
                    first_span: old_loc.span,
                    second_span: loc.span,
                });
            }
            return Ok(());
        }
        entry.vars.insert(key.to_string(), (value, loc));
        Ok(())
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
            return Err(InventoryError::GroupLoop {
                file: file.name().to_string(),
                line: loc.line,
                group: parent.to_string(),
                child: child.to_string(),
                src: file.src(),
                span: loc.span,
            });
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

/// A value for an error message: text quoted, everything else as JSON.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => value_text(other).unwrap_or_else(|| "null".to_string()),
    }
}
