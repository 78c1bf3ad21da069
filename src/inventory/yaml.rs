//! Ansible's YAML inventory syntax: `all:` with `hosts:`, `vars:` and `children:`.

use super::error::{self, InventoryError};
use super::range;
use super::raw::{Loc, RawInventory};
use super::source::SourceFile;
use super::VarMap;
use indexmap::IndexMap;
use serde::Deserialize;

/// A group: its hosts (each with its vars, or nothing), its vars and its child groups.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlGroup {
    #[serde(default)]
    hosts: Option<IndexMap<String, Option<VarMap>>>,
    #[serde(default)]
    vars: Option<VarMap>,
    #[serde(default)]
    children: Option<IndexMap<String, Option<YamlGroup>>>,
}

/// The document: group names (normally only `all`) to groups.
type YamlTop = Option<IndexMap<String, Option<YamlGroup>>>;

/// Parses a YAML inventory. Groups at the top other than `all` are children of `all`.
pub fn parse(file: &SourceFile) -> Result<RawInventory, InventoryError> {
    let top: YamlTop = serde_yaml::from_str(file.text()).map_err(|e| yaml_error(file, &e))?;
    let mut raw = RawInventory::default();
    let Some(top) = top else {
        return Ok(raw);
    };
    let mut walker = Walker {
        file,
        raw: &mut raw,
        locator: Locator::new(file.text()),
    };
    for (name, group) in &top {
        walker.group(&[name.as_str()], name, group.as_ref())?;
    }
    Ok(raw)
}

struct Walker<'a> {
    file: &'a SourceFile,
    raw: &'a mut RawInventory,
    locator: Locator<'a>,
}

impl Walker<'_> {
    fn group(
        &mut self,
        path: &[&str],
        name: &str,
        group: Option<&YamlGroup>,
    ) -> Result<(), InventoryError> {
        self.raw.group_mut(name);
        let Some(group) = group else { return Ok(()) };
        for (key, value) in group.vars.iter().flatten() {
            self.raw.set_group_var(name, key, value.clone());
        }
        for (pattern, vars) in group.hosts.iter().flatten() {
            let host_path = [path, &["hosts", pattern.as_str()]].concat();
            let hosts = range::expand(pattern).map_err(|e| {
                let (offset, line) = self.locator.key(self.file, &host_path);
                InventoryError::from(error::BadRange {
                    file: self.file.name().to_string(),
                    line,
                    pattern: pattern.clone(),
                    reason: e.reason,
                    help: e.help,
                    src: self.file.src(),
                    span: self.file.span(offset + e.offset, e.len),
                })
            })?;
            let mut located = Vec::new();
            for (key, value) in vars.iter().flatten() {
                let var_path = [host_path.as_slice(), &[key.as_str()]].concat();
                located.push((key, value, self.locator.entry(self.file, &var_path)));
            }
            for host in &hosts {
                self.raw.add_host(name, host);
                for (key, value, loc) in &located {
                    self.raw
                        .set_host_var(self.file, host, key, (*value).clone(), *loc)?;
                }
            }
        }
        for (child, child_group) in group.children.iter().flatten() {
            let child_path = [path, &["children", child.as_str()]].concat();
            let loc = self.locator.entry(self.file, &child_path);
            self.raw.add_child(self.file, name, child, loc)?;
            self.group(&child_path, child, child_group.as_ref())?;
        }
        Ok(())
    }
}

/// A serde_yaml error as a report pointing at its line and column.
fn yaml_error(file: &SourceFile, e: &serde_yaml::Error) -> InventoryError {
    let text = file.text();
    // YAML also breaks lines at a lone `\r`, NEL, LS and PS, so its line and column can
    // disagree with the lines a report shows; its byte index does not.
    let (mut offset, yaml_position) = e
        .location()
        .map_or((0, None), |l| (l.index(), Some((l.line(), l.column()))));
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line = file.line_of(offset);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    // serde_yaml writes the position into the message; the report shows it already.
    // Other positions (where the enclosing construct started) stay.
    let mut message = e.to_string();
    if let Some((yaml_line, yaml_column)) = yaml_position {
        message = message.replacen(&format!(" at line {yaml_line} column {yaml_column}"), "", 1);
    }
    // Underline the word at the position (a key, a value), not just its first character.
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

/// Finds where a key path (`all`, `children`, `etcd`, `hosts`, `etcd1`) is written, for
/// error reports about values serde has already read. Follows block-style mappings by
/// indentation; flow-style (`{...}`) keys fall back to the first line naming the key.
struct Locator<'a> {
    /// (indent, key, byte offset of the key, byte offset of the line end) per mapping-key line.
    keys: Vec<(usize, &'a str, usize, usize)>,
    text: &'a str,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Locator<'a> {
        let mut keys = Vec::new();
        let mut start = 0;
        for chunk in text.split_inclusive('\n') {
            let line = chunk.trim_end_matches(['\n', '\r']);
            let body = line.trim_start_matches(' ');
            let indent = line.len() - body.len();
            if let Some(key) = mapping_key(body) {
                let key_at = start + indent + usize::from(body.starts_with(['"', '\'']));
                keys.push((indent, key, key_at, start + line.trim_end().len()));
            }
            start += chunk.len();
        }
        Locator { keys, text }
    }

    /// Byte offset of the key and its 1-based line.
    fn key(&self, file: &SourceFile, path: &[&str]) -> (usize, usize) {
        let offset = self.find(path).map(|(at, _)| at).unwrap_or_else(|| {
            let last = path.last().copied().unwrap_or_default();
            self.text.find(last).unwrap_or(0)
        });
        (offset, file.line_of(offset))
    }

    /// Where an entry (key and value on its line) is written.
    fn entry(&self, file: &SourceFile, path: &[&str]) -> Loc {
        match self.find(path) {
            Some((at, end)) => Loc {
                line: file.line_of(at),
                span: file.span(at, end - at),
            },
            None => {
                let (at, line) = self.key(file, path);
                let len = path.last().map_or(0, |k| k.len());
                Loc {
                    line,
                    span: file.span(at, len),
                }
            }
        }
    }

    fn find(&self, path: &[&str]) -> Option<(usize, usize)> {
        let mut stack: Vec<(usize, &str)> = Vec::new();
        for &(indent, key, at, end) in &self.keys {
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            stack.push((indent, key));
            if stack.len() == path.len() && stack.iter().zip(path).all(|((_, k), p)| k == p) {
                return Some((at, end));
            }
        }
        None
    }
}

/// The key of a `key:` / `key: value` line (plain, "double" or 'single' quoted).
fn mapping_key(body: &str) -> Option<&str> {
    if body.starts_with('#') || body.starts_with('-') {
        return None;
    }
    if let Some(q) = body.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = body[1..].find(q)? + 1;
        let rest = &body[close + 1..];
        return rest.trim_start().starts_with(':').then(|| &body[1..close]);
    }
    let bytes = body.as_bytes();
    (0..bytes.len()).find_map(|i| {
        let ends = bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| *b == b' ' || *b == b'\t');
        ends.then(|| body[..i].trim_end())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys() {
        let text = "all:\n  children:\n    etcd:\n      hosts:\n        e1:\n          a: 1\n    nodes:\n      hosts:\n        e1:\n          a: 2\n";
        let file = SourceFile::new("t.yml", text);
        let loc = Locator::new(text);
        let l = loc.entry(&file, &["all", "children", "nodes", "hosts", "e1", "a"]);
        assert_eq!(l.line, 10);
        let l = loc.entry(&file, &["all", "children", "etcd", "hosts", "e1", "a"]);
        assert_eq!(l.line, 6);
        assert_eq!(
            &text[l.span.offset()..l.span.offset() + l.span.len()],
            "a: 1"
        );
    }

    #[test]
    fn errors_point_where_the_report_counts_lines() {
        // YAML counts the lone `\r` as a line break; the report counts `\n` only.
        let file = SourceFile::new("h.yml", "\ré");
        let e = parse(&file).unwrap_err();
        assert_eq!(e.line(), Some(1), "{e}");
        assert!(e.to_string().starts_with("h.yml:1:2: "), "{e}");
        let file = SourceFile::new("h.yml", "all:\n  hosts: [a\u{2028}\n");
        let e = parse(&file).unwrap_err();
        assert!(e.line().is_some_and(|l| l <= 3), "{e}");
    }

    #[test]
    fn keys() {
        assert_eq!(mapping_key("all:"), Some("all"));
        assert_eq!(mapping_key("a: b"), Some("a"));
        assert_eq!(mapping_key("\"e[1:3]\":"), Some("e[1:3]"));
        assert_eq!(mapping_key("etcd[1:3]:"), Some("etcd[1:3]"));
        assert_eq!(mapping_key("url: http://x"), Some("url"));
        assert_eq!(mapping_key("- a"), None);
    }
}
