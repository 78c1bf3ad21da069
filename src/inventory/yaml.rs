//! Ansible's YAML inventory syntax: `all:` with `hosts:`, `vars:` and `children:`, walked as
//! Ansible's yaml plugin walks it (keys in the order written, unknown keys skipped with a
//! warning).

use super::error::{self, InventoryError};
use super::ini::split_port;
use super::range;
use super::raw::{Loc, RawInventory};
use super::source::SourceFile;
use super::yaml_events::Mark;
use super::yaml_tree::{self, Data, Node};
use serde_json::Value;

/// Parses a YAML (or JSON) inventory. Groups at the top other than `all` are children of `all`.
pub fn parse(file: &SourceFile) -> Result<RawInventory, InventoryError> {
    let loaded = yaml_tree::load(file.text()).map_err(|e| shape(file, e.mark, e.message))?;
    let mut raw = RawInventory::default();
    for (message, mark) in &loaded.warnings {
        let line = line_of(file, mark);
        raw.warnings
            .push(format!("{}:{line}: {message}", file.name()));
    }
    let Some(root) = loaded.root else {
        return Err(shape(
            file,
            Mark::default(),
            "the file holds no YAML document (it is empty)".to_string(),
        ));
    };
    let Data::Map(top) = &root.data else {
        return Err(shape(
            file,
            root.mark,
            format!(
                "a YAML inventory is a mapping of group names, not {}",
                root.kind()
            ),
        ));
    };
    if let Some((_, _, plugin)) = top.iter().find(|(k, _, _)| k == "plugin") {
        if truthy(&plugin.to_value()) {
            return Err(shape(
                file,
                plugin.mark,
                "this is an inventory plugin's configuration (`plugin:`), not a YAML inventory"
                    .to_string(),
            ));
        }
    }
    let mut walker = Walker {
        file,
        raw: &mut raw,
    };
    for (name, key, group) in top {
        let name = group_name(file, key, name)?;
        walker.group(&name, group)?;
    }
    Ok(raw)
}

struct Walker<'a> {
    file: &'a SourceFile,
    raw: &'a mut RawInventory,
}

impl Walker<'_> {
    fn warn(&mut self, mark: Mark, message: String) {
        let line = line_of(self.file, &mark);
        self.raw
            .warnings
            .push(format!("{}:{line}: {message}", self.file.name()));
    }

    /// One group (`_parse_group`): `false` if it was skipped for not being a mapping.
    fn group(&mut self, name: &str, node: &Node) -> Result<bool, InventoryError> {
        let entries = match &node.data {
            Data::Map(entries) => entries.as_slice(),
            Data::Scalar(Value::Null) => &[],
            _ => {
                self.warn(
                    node.mark,
                    format!(
                        "skipping `{name}`: a group is a mapping (or nothing), not {}",
                        node.kind()
                    ),
                );
                return Ok(false);
            }
        };
        self.raw.group_mut(name);
        for (key, _, value) in entries {
            let section = matches!(key.as_str(), "vars" | "children" | "hosts");
            // A section written as one string means that one name.
            let single;
            let value = match (&value.data, section) {
                (Data::Scalar(Value::String(s)), true) => {
                    single = Node {
                        data: Data::Map(vec![(
                            s.clone(),
                            value.clone(),
                            Node {
                                data: Data::Scalar(Value::Null),
                                mark: value.mark,
                            },
                        )]),
                        mark: value.mark,
                    };
                    &single
                }
                _ => value,
            };
            let entries = match &value.data {
                Data::Map(entries) => entries,
                Data::Scalar(Value::Null) => continue,
                _ if section => {
                    return Err(shape(
                        self.file,
                        value.mark,
                        format!(
                            "`{key}` of group {name} must be a mapping, not {}",
                            value.kind()
                        ),
                    ))
                }
                _ => {
                    self.warn(
                        value.mark,
                        format!(
                            "skipping key `{key}` in group {name}: it is {}, not a mapping",
                            value.kind()
                        ),
                    );
                    continue;
                }
            };
            match key.as_str() {
                "vars" => {
                    for (var, _, v) in entries {
                        self.raw.set_group_var(name, var, v.to_value());
                    }
                }
                "children" => {
                    for (child, child_key, child_node) in entries {
                        let child = group_name(self.file, child_key, child)?;
                        if self.group(&child, child_node)? || self.raw.groups.contains_key(&child) {
                            let loc = self.loc(child_key.mark);
                            self.raw.add_child(self.file, name, &child, loc)?;
                        } else {
                            return Err(shape(
                                self.file,
                                child_node.mark,
                                format!("{child} is not a known host nor group"),
                            ));
                        }
                    }
                }
                "hosts" => {
                    for (pattern, pattern_key, vars) in entries {
                        self.hosts(name, pattern, pattern_key, vars)?;
                    }
                }
                other => {
                    self.warn(
                        value.mark,
                        format!("skipping unexpected key `{other}` in group {name}: only `vars`, `children` and `hosts` are valid"),
                    );
                }
            }
        }
        Ok(true)
    }

    fn hosts(
        &mut self,
        group: &str,
        pattern: &str,
        key: &Node,
        vars: &Node,
    ) -> Result<(), InventoryError> {
        if !matches!(key.data, Data::Scalar(Value::String(_))) {
            return Err(shape(
                self.file,
                key.mark,
                format!("host pattern {pattern} must be a string: enclose numbers in quotes"),
            ));
        }
        let (name_part, port) = split_port(pattern);
        let hosts = range::expand(name_part).map_err(|e| {
            let offset = key.mark.index + usize::from(self.quoted_at(key.mark.index));
            InventoryError::from(error::BadRange {
                file: self.file.name().to_string(),
                line: line_of(self.file, &key.mark),
                pattern: pattern.to_string(),
                reason: e.reason,
                help: e.help,
                src: self.file.src(),
                span: self.file.span(offset + e.offset, e.len),
            })
        })?;
        let entries: &[(String, Node, Node)] = match &vars.data {
            Data::Map(entries) => entries,
            Data::Scalar(Value::Null) => &[],
            _ => {
                return Err(shape(
                    self.file,
                    vars.mark,
                    format!("host {pattern} maps to {}: a host maps to its variables (a mapping) or to nothing", vars.kind()),
                ))
            }
        };
        for host in &hosts {
            let new = self.raw.add_host(group, host);
            if let (true, Some(port)) = (new, port) {
                let loc = self.loc(key.mark);
                let port = port
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::from(port));
                self.raw
                    .set_host_var(self.file, host, "ansible_port", port, loc);
            }
            for (var, var_key, value) in entries {
                let loc = self.loc(var_key.mark);
                self.raw
                    .set_host_var(self.file, host, var, value.to_value(), loc);
            }
        }
        Ok(())
    }

    fn quoted_at(&self, index: usize) -> bool {
        self.file
            .text()
            .as_bytes()
            .get(index)
            .is_some_and(|b| *b == b'"' || *b == b'\'')
    }

    /// From a key to the end of its line.
    fn loc(&self, mark: Mark) -> Loc {
        let text = self.file.text();
        let at = mark.index.min(text.len());
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        Loc {
            line: line_of(self.file, &mark),
            span: self.file.span(at, text[at..end].trim_end().len()),
        }
    }
}

fn group_name(file: &SourceFile, key: &Node, name: &str) -> Result<String, InventoryError> {
    match &key.data {
        Data::Scalar(Value::String(_)) => Ok(name.to_string()),
        _ => Err(shape(
            file,
            key.mark,
            format!("group name {name} must be a string: enclose it in quotes"),
        )),
    }
}

/// Python's truth of a value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The 1-based line of a mark, counted as the report counts lines (`\n` only; YAML also breaks
/// lines at a lone `\r`, NEL, LS and PS, so its own line number can disagree).
fn line_of(file: &SourceFile, mark: &Mark) -> usize {
    file.line_of(mark.index.min(file.text().len()))
}

/// A YAML error or a wrong shape, pointing at the word at `mark`.
fn shape(file: &SourceFile, mark: Mark, message: String) -> InventoryError {
    let text = file.text();
    let mut offset = mark.index.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line = file.line_of(offset);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    let word = text[offset..]
        .find(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | ']' | '}'))
        .unwrap_or(text.len() - offset);
    InventoryError::from(error::YamlError {
        file: file.name().to_string(),
        line,
        column,
        message,
        src: file.src(),
        span: file.span(offset, word),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_point_where_the_report_counts_lines() {
        // YAML counts the lone `\r` as a line break; the report counts `\n` only.
        let file = SourceFile::new("h.yml", "\ré");
        let e = parse(&file).unwrap_err();
        assert_eq!(e.line(), Some(1), "{e}");
        assert!(e.to_string().starts_with("h.yml:1:"), "{e}");
        let file = SourceFile::new("h.yml", "all:\n  hosts: [a\u{2028}\n");
        let e = parse(&file).unwrap_err();
        assert!(e.line().is_some_and(|l| l <= 3), "{e}");
    }

    #[test]
    fn unknown_keys_are_skipped_with_a_warning() {
        let file = SourceFile::new(
            "h.yml",
            "all:\n  children:\n    etcd:\n      host:\n        e1:\n      hosts:\n        e2:\n",
        );
        let raw = parse(&file).unwrap();
        assert_eq!(raw.hosts.keys().collect::<Vec<_>>(), vec!["e2"]);
        assert!(
            raw.warnings[0].starts_with("h.yml:5: skipping unexpected key `host`"),
            "{:?}",
            raw.warnings
        );
    }

    #[test]
    fn ports() {
        assert_eq!(split_port("h:2222"), ("h", Some("2222")));
        assert_eq!(split_port("h[1:3]"), ("h[1:3]", None));
        assert_eq!(split_port("h[1:3]:22"), ("h[1:3]", Some("22")));
        assert_eq!(split_port("fe80::1"), ("fe80::1", None));
    }
}
