//! Changing a YAML document the way a person would: each change is a textual edit of
//! the lines that hold the key, found where the parsed document says it is, and every
//! other byte (comments, quoting, indentation, key order, line endings) stays as it was.
//! The result is parsed again and must be the intended document, or nothing is edited.

use super::lines::{self, Line, LineKind, ValueText};
use serde_yaml::{Mapping, Value};
use std::ops::Range;

/// One change to a document, at a path of mapping keys from the root.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Sets the key to the value (scalars, sequences and mappings of them), creating the
    /// mappings on the way when absent or null.
    Set(Vec<String>, Value),
    /// Removes the key (nothing when absent). A mapping left with no keys reads as null,
    /// as an emptied block mapping does.
    Remove(Vec<String>),
}

impl Edit {
    pub fn set(path: &[&str], value: Value) -> Edit {
        Edit::Set(path.iter().map(|k| k.to_string()).collect(), value)
    }

    pub fn remove(path: &[&str]) -> Edit {
        Edit::Remove(path.iter().map(|k| k.to_string()).collect())
    }

    fn path(&self) -> &[String] {
        match self {
            Edit::Set(path, _) | Edit::Remove(path) => path,
        }
    }

    /// What the edit does, for messages: `set a.b to [x]`.
    pub fn describe(&self) -> String {
        match self {
            Edit::Set(path, value) => {
                let value = serde_json::to_string(value).unwrap_or_else(|_| "?".into());
                format!("set {} to {value}", path.join("."))
            }
            Edit::Remove(path) => format!("remove {}", path.join(".")),
        }
    }
}

/// Why a document could not be edited in place.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum YamlEditError {
    #[error("{file} is not valid YAML: {reason}")]
    #[diagnostic(
        code(runbook::master::yaml),
        help("fix the file (or restore it from its backup) before running again")
    )]
    NotYaml { file: String, reason: String },
    #[error("{file}:{line}: `{key}` is written as {form}, which runbook does not edit in place")]
    #[diagnostic(
        code(runbook::master::yaml_form),
        help("nothing was written. Rewrite `{key}` in block style (one `key: value` per line, lists as `- item` lines, no anchors or aliases), or make the change by hand: {wanted}")
    )]
    Unsupported {
        file: String,
        line: usize,
        key: String,
        form: &'static str,
        wanted: String,
    },
    #[error("{file}: `{key}` is a {found}, expected a mapping")]
    #[diagnostic(
        code(runbook::master::shape),
        help("nothing was written; `{key}` must be a mapping (key: value lines) for runbook to {wanted}")
    )]
    NotAMapping {
        file: String,
        key: String,
        found: &'static str,
        wanted: String,
    },
    #[error("{file}: the in-place edit did not give the intended document ({wanted})")]
    #[diagnostic(
        code(runbook::master::yaml_edit),
        help("nothing was written; make the change by hand: {wanted}")
    )]
    Unintended { file: String, wanted: String },
}

/// Parses `text` as YAML.
pub fn parse(file: &str, text: &str) -> Result<Value, YamlEditError> {
    serde_yaml::from_str(text).map_err(|e| YamlEditError::NotYaml {
        file: file.to_string(),
        reason: e.to_string(),
    })
}

/// The document with `edits` applied: the same text when they change nothing.
pub fn apply(file: &str, text: &str, edits: &[Edit]) -> Result<String, YamlEditError> {
    let original = parse(file, text)?;
    let mut wanted = original.clone();
    let mut edited = text.to_string();
    for edit in edits {
        let before = wanted.clone();
        apply_to_value(file, &mut wanted, edit)?;
        if wanted != before {
            edited = Editor::new(file, &edited, edit).edit()?;
        }
    }
    if edited != text && serde_yaml::from_str::<Value>(&edited).ok().as_ref() != Some(&wanted) {
        return Err(YamlEditError::Unintended {
            file: file.to_string(),
            wanted: edits
                .iter()
                .map(Edit::describe)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(edited)
}

/// The edit applied to the parsed document: what the text must parse to afterwards.
fn apply_to_value(file: &str, document: &mut Value, edit: &Edit) -> Result<(), YamlEditError> {
    let path = edit.path();
    let (last, parents) = path.split_last().expect("an edit has a key");
    let mut mapping = as_mapping(file, "(the document)", document, edit)?;
    for key in parents {
        let entry = mapping
            .entry(Value::String(key.clone()))
            .or_insert(Value::Null);
        if entry.is_null() {
            if matches!(edit, Edit::Remove(_)) {
                return Ok(());
            }
            *entry = Value::Mapping(Mapping::new());
        }
        mapping = as_mapping(file, key, entry, edit)?;
    }
    match edit {
        Edit::Set(_, value) => {
            mapping.insert(Value::String(last.clone()), value.clone());
        }
        Edit::Remove(_) => {
            mapping.shift_remove(last.as_str());
        }
    }
    if matches!(edit, Edit::Remove(_)) && !parents.is_empty() {
        // An emptied block mapping is a key with nothing below it: null.
        let mut parent = &mut *document;
        for key in &parents[..parents.len() - 1] {
            parent = &mut parent[key.as_str()];
        }
        let slot = &mut parent[parents[parents.len() - 1].as_str()];
        if slot.as_mapping().is_some_and(Mapping::is_empty) {
            *slot = Value::Null;
        }
    }
    Ok(())
}

fn as_mapping<'a>(
    file: &str,
    key: &str,
    value: &'a mut Value,
    edit: &Edit,
) -> Result<&'a mut Mapping, YamlEditError> {
    let found = kind(value);
    value
        .as_mapping_mut()
        .ok_or_else(|| YamlEditError::NotAMapping {
            file: file.to_string(),
            key: key.to_string(),
            found,
            wanted: edit.describe(),
        })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged value",
    }
}

/// A block mapping in the text: the lines that may hold its keys, the line of its own
/// key (none for the document), and its keys' indentation when it has any.
#[derive(Debug, Clone)]
struct Block {
    lines: Range<usize>,
    key_line: Option<usize>,
    indent: Option<usize>,
    /// A `{}` line that stands for the block while it has no keys (a document that is
    /// only `{}`): the first key replaces it.
    placeholder: Option<usize>,
}

/// The value of an entry, as the text holds it.
enum Held {
    /// Nothing below the key, `null`, `~` or `{}`: no keys yet.
    Empty,
    Mapping(Block),
    /// A block sequence.
    Sequence,
    /// A scalar on the key's line.
    Scalar,
}

/// One edit of one text.
struct Editor<'a> {
    file: &'a str,
    text: &'a str,
    lines: Vec<Line>,
    edit: &'a Edit,
    newline: &'static str,
}

impl<'a> Editor<'a> {
    fn new(file: &'a str, text: &'a str, edit: &'a Edit) -> Editor<'a> {
        let lines = lines::read(text);
        let newline = match lines.first() {
            Some(first) if text[first.end..first.full_end].starts_with('\r') => "\r\n",
            _ => "\n",
        };
        Editor {
            file,
            text,
            lines,
            edit,
            newline,
        }
    }

    fn unsupported(&self, line: usize, key: &str, form: &'static str) -> YamlEditError {
        YamlEditError::Unsupported {
            file: self.file.to_string(),
            line: line + 1,
            key: key.to_string(),
            form,
            wanted: self.edit.describe(),
        }
    }

    fn line_text(&self, index: usize) -> &'a str {
        &self.text[self.lines[index].start..self.lines[index].end]
    }

    /// The document's top-level mapping.
    fn root(&self) -> Result<Block, YamlEditError> {
        let mut first = 0;
        while first < self.lines.len()
            && (!self.lines[first].is_content() || self.lines[first].kind == LineKind::Marker)
        {
            first += 1;
        }
        if let Some(marker) =
            (first..self.lines.len()).find(|&i| self.lines[i].kind == LineKind::Marker)
        {
            return Err(self.unsupported(marker, "(the document)", "more than one document"));
        }
        match self.lines.get(first) {
            None => Ok(Block {
                lines: first..first,
                key_line: None,
                indent: None,
                placeholder: None,
            }),
            Some(line) if matches!(line.kind, LineKind::Entry { .. }) => Ok(Block {
                lines: first..self.lines.len(),
                key_line: None,
                indent: Some(line.indent),
                placeholder: None,
            }),
            Some(_)
                if self.line_text(first).trim() == "{}"
                    && !self.lines[first + 1..].iter().any(Line::is_content) =>
            {
                Ok(Block {
                    lines: first..first,
                    key_line: None,
                    indent: None,
                    placeholder: Some(first),
                })
            }
            Some(_) => {
                Err(self.unsupported(first, "(the document)", "a flow mapping or a complex key"))
            }
        }
    }

    /// The line of `key` among the block's keys.
    fn find(&self, block: &Block, key: &str) -> Result<Option<usize>, YamlEditError> {
        let Some(indent) = block.indent else {
            return Ok(None);
        };
        for index in block.lines.clone() {
            let line = &self.lines[index];
            if !line.is_content() || line.indent > indent {
                continue;
            }
            match &line.kind {
                LineKind::Entry { key: found, .. } if line.indent == indent => {
                    if found == key {
                        return Ok(Some(index));
                    }
                }
                LineKind::Item if line.indent == indent => {}
                _ => {
                    let what = if line.indent < indent {
                        "a line indented less than its mapping"
                    } else {
                        "a line that is not a `key: value` entry"
                    };
                    return Err(self.unsupported(index, key, what));
                }
            }
        }
        Ok(None)
    }

    /// The lines of the entry at `index`: its key line, its value's lines, and comments
    /// indented deeper than its key, but not the comments and blank lines after it.
    fn extent(&self, index: usize, within: &Range<usize>) -> Range<usize> {
        let indent = self.lines[index].indent;
        let mut end = index + 1;
        while end < within.end {
            let line = &self.lines[end];
            let ends = line.is_content()
                && (line.indent < indent || (line.indent == indent && line.kind != LineKind::Item));
            if ends {
                break;
            }
            end += 1;
        }
        while end > index + 1 {
            let line = &self.lines[end - 1];
            let trailing = line.kind == LineKind::Blank
                || (line.kind == LineKind::Comment && line.indent <= indent);
            if !trailing {
                break;
            }
            end -= 1;
        }
        index..end
    }

    /// What the entry at `index` holds.
    fn held(&self, index: usize, key: &str, within: &Range<usize>) -> Result<Held, YamlEditError> {
        let LineKind::Entry { value, .. } = &self.lines[index].kind else {
            unreachable!("held is asked of entries");
        };
        match value {
            ValueText::Empty => {}
            ValueText::EmptyFlow => return Ok(Held::Empty),
            ValueText::Scalar(text) if matches!(text.as_str(), "null" | "Null" | "NULL" | "~") => {
                return Ok(Held::Empty)
            }
            ValueText::Scalar(_) => return Ok(Held::Scalar),
            ValueText::Flow => {
                return Err(self.unsupported(index, key, "a flow collection (`{...}` or `[...]`)"))
            }
            ValueText::BlockScalar => {
                return Err(self.unsupported(index, key, "a block scalar (`|` or `>`)"))
            }
            ValueText::Node => return Err(self.unsupported(index, key, "an anchor, alias or tag")),
        }
        let extent = self.extent(index, within);
        let Some(first) = extent.clone().skip(1).find(|&i| self.lines[i].is_content()) else {
            return Ok(Held::Empty);
        };
        let line = &self.lines[first];
        match &line.kind {
            LineKind::Item => Ok(Held::Sequence),
            LineKind::Entry { .. } => Ok(Held::Mapping(Block {
                lines: first..extent.end,
                key_line: Some(index),
                indent: Some(line.indent),
                placeholder: None,
            })),
            _ if self.line_text(first).trim() == "{}" => Ok(Held::Empty),
            _ => Err(self.unsupported(first, key, "a flow collection or a multi-line scalar")),
        }
    }

    fn edit(&self) -> Result<String, YamlEditError> {
        let path = self.edit.path();
        let mut block = self.root()?;
        for (depth, key) in path.iter().enumerate() {
            let last = depth + 1 == path.len();
            let found = self.find(&block, key)?;
            match (found, self.edit, last) {
                (None, Edit::Remove(_), _) => return Ok(self.text.to_string()),
                (None, Edit::Set(_, value), _) => {
                    let nested = nest(&path[depth + 1..], value);
                    return self.insert(&block, key, &nested);
                }
                (Some(index), Edit::Remove(_), true) => {
                    let extent = self.extent(index, &block.lines);
                    return Ok(self.replace(extent, String::new()));
                }
                (Some(index), Edit::Set(_, value), true) => {
                    return self.replace_value(index, &block, value);
                }
                (Some(index), _, false) => match self.held(index, key, &block.lines)? {
                    Held::Mapping(inner) => block = inner,
                    Held::Empty => match self.edit {
                        Edit::Remove(_) => return Ok(self.text.to_string()),
                        Edit::Set(_, value) => {
                            let nested = nest(&path[depth + 1..], value);
                            return self.fill_empty(index, &block, &nested);
                        }
                    },
                    held @ (Held::Sequence | Held::Scalar) => {
                        return Err(YamlEditError::NotAMapping {
                            file: self.file.to_string(),
                            key: key.clone(),
                            found: if matches!(held, Held::Sequence) {
                                "list"
                            } else {
                                "scalar"
                            },
                            wanted: self.edit.describe(),
                        })
                    }
                },
            }
        }
        Ok(self.text.to_string())
    }

    /// The text with the lines in `range` replaced by `with`.
    fn replace(&self, range: Range<usize>, with: String) -> String {
        let start = self
            .lines
            .get(range.start)
            .map_or(self.text.len(), |l| l.start);
        let end = if range.end > range.start {
            self.lines[range.end - 1].full_end
        } else {
            start
        };
        let mut text = String::with_capacity(self.text.len() + with.len());
        text.push_str(&self.text[..start]);
        if start > 0 && !self.text[..start].ends_with('\n') && !with.is_empty() {
            // The last line had no line ending; the new lines go after one.
            text.push_str(self.newline);
        }
        text.push_str(&with);
        text.push_str(&self.text[end..]);
        text
    }

    /// Adds `key: value` as the block's last key.
    fn insert(&self, block: &Block, key: &str, value: &Value) -> Result<String, YamlEditError> {
        let indent = match (block.indent, block.key_line) {
            (Some(indent), _) => indent,
            (None, Some(parent)) => self.lines[parent].indent + self.unit(),
            (None, None) => 0,
        };
        let at = match block.indent {
            Some(_) => {
                let last = (block.lines.clone())
                    .rev()
                    .find(|&i| {
                        let line = &self.lines[i];
                        line.indent == indent && matches!(line.kind, LineKind::Entry { .. })
                    })
                    .expect("a block with an indentation has a key");
                self.extent(last, &block.lines).end
            }
            None => block.lines.start,
        };
        let offset = self.sequence_offset(Some(block));
        let key = format!("{}:", key_text(key));
        let lines = self.render_entry(&" ".repeat(indent), &key, "", value, offset)?;
        let range = block.placeholder.map_or(at..at, |line| line..line + 1);
        Ok(self.replace(range, lines))
    }

    /// Gives the entry at `index`, which holds no keys yet (nothing below it, `null`,
    /// `~` or `{}`), the keys of `value`. A key line that says nothing stays as it is.
    fn fill_empty(
        &self,
        index: usize,
        block: &Block,
        value: &Value,
    ) -> Result<String, YamlEditError> {
        let line = &self.lines[index];
        let extent = self.extent(index, &block.lines);
        let mut text = match &line.kind {
            LineKind::Entry {
                value: ValueText::Empty,
                ..
            } => self.text[line.start..line.full_end].to_string(),
            _ => {
                let comment = line.comment.map_or("", |c| &self.text[c..line.end]);
                let prefix = &self.text[line.start..line.value_at];
                format!("{prefix}{comment}{}", self.newline)
            }
        };
        // Comments below the key stay; a `{}` on a line of its own goes.
        for below in extent.clone().skip(1) {
            if !self.lines[below].is_content() {
                text.push_str(&self.text[self.lines[below].start..self.lines[below].full_end]);
            }
        }
        let Value::Mapping(keys) = value else {
            unreachable!("nest gives a mapping below the path's end");
        };
        let indent = " ".repeat(line.indent + self.unit());
        let offset = self.sequence_offset(None);
        for (key, value) in keys {
            let key = format!("{}:", key_text(key.as_str().unwrap_or_default()));
            text.push_str(&self.render_entry(&indent, &key, "", value, offset)?);
        }
        Ok(self.replace(extent, text))
    }

    /// Sets the value of the entry at `index`, keeping its key as written and its
    /// comment, and a block sequence's indentation.
    fn replace_value(
        &self,
        index: usize,
        block: &Block,
        value: &Value,
    ) -> Result<String, YamlEditError> {
        let line = &self.lines[index];
        let LineKind::Entry { key, value: held } = &line.kind else {
            unreachable!("replace_value is asked of entries");
        };
        if *held == ValueText::Node {
            return Err(self.unsupported(index, key, "an anchor, alias or tag"));
        }
        let extent = self.extent(index, &block.lines);
        let items = extent
            .clone()
            .skip(1)
            .find(|&i| self.lines[i].is_content())
            .filter(|&i| *held == ValueText::Empty && self.lines[i].kind == LineKind::Item);
        let offset = items.map_or_else(
            || self.sequence_offset(Some(block)),
            |i| self.lines[i].indent - line.indent,
        );
        let indent = " ".repeat(line.indent);
        let key_as_written = &self.text[line.start + line.indent..line.value_at];
        let comment = line.comment.map_or("", |c| &self.text[c..line.end]);
        let mut lines = self.render_entry(&indent, key_as_written, comment, value, offset)?;
        let block_value = match value {
            Value::Sequence(items) => !items.is_empty(),
            Value::Mapping(keys) => !keys.is_empty(),
            _ => false,
        };
        if *held == ValueText::Empty && block_value {
            // The key line stays as it was, trailing spaces and comment included.
            let rest = lines
                .split_once('\n')
                .map_or("", |(_, rest)| rest)
                .to_string();
            lines = format!("{}{}{rest}", self.line_text(index), self.newline);
        }
        Ok(self.replace(extent, lines))
    }

    /// `key: value` lines at `indent` (`key` as written, with its colon), a block value
    /// below the key line, sequences' items `offset` deeper than their key.
    fn render_entry(
        &self,
        indent: &str,
        key: &str,
        comment: &str,
        value: &Value,
        offset: usize,
    ) -> Result<String, YamlEditError> {
        let nl = self.newline;
        let mut out = String::new();
        match value {
            Value::Sequence(items) if !items.is_empty() => {
                out.push_str(&format!("{indent}{key}{comment}{nl}"));
                let item_indent = format!("{indent}{}", " ".repeat(offset));
                for item in items {
                    out.push_str(&format!("{item_indent}- {}{nl}", self.scalar(key, item)?));
                }
            }
            Value::Mapping(keys) if !keys.is_empty() => {
                out.push_str(&format!("{indent}{key}{comment}{nl}"));
                let inner = format!("{indent}{}", " ".repeat(self.unit()));
                for (k, v) in keys {
                    let k = k.as_str().unwrap_or_default();
                    out.push_str(&self.render_entry(
                        &inner,
                        &format!("{}:", key_text(k)),
                        "",
                        v,
                        offset,
                    )?);
                }
            }
            Value::Sequence(_) => out.push_str(&format!("{indent}{key} []{comment}{nl}")),
            Value::Mapping(_) => out.push_str(&format!("{indent}{key} {{}}{comment}{nl}")),
            scalar => out.push_str(&format!(
                "{indent}{key} {}{comment}{nl}",
                self.scalar(key, scalar)?
            )),
        }
        Ok(out)
    }

    /// A scalar as one line of YAML.
    fn scalar(&self, key: &str, value: &Value) -> Result<String, YamlEditError> {
        let text = match value {
            Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => None,
            other => serde_yaml::to_string(other).ok(),
        };
        let text = text.map(|t| t.trim_end_matches('\n').to_string());
        text.filter(|t| !t.contains('\n'))
            .ok_or_else(|| YamlEditError::Unintended {
                file: self.file.to_string(),
                wanted: format!(
                    "{} (a value of `{key}` that is not a one-line scalar)",
                    self.edit.describe()
                ),
            })
    }

    /// The document's indentation step: how much deeper the first nested mapping's keys
    /// are than their parent's (2 if there is none).
    fn unit(&self) -> usize {
        self.value_starts(0..self.lines.len(), None)
            .find_map(|(key, first)| {
                (matches!(first.kind, LineKind::Entry { .. }) && first.indent > key.indent)
                    .then(|| first.indent - key.indent)
            })
            .unwrap_or(2)
    }

    /// How much deeper than its key a new sequence's items go: as a block sequence among
    /// the block's keys does, else as the document's first block sequence does (0 if
    /// none, as PyYAML and openshift-ansible's filters write them).
    fn sequence_offset(&self, block: Option<&Block>) -> usize {
        let offset = |(key, first): (&Line, &Line)| {
            (first.kind == LineKind::Item && first.indent >= key.indent)
                .then(|| first.indent - key.indent)
        };
        let in_block = block.and_then(|block| {
            self.value_starts(block.lines.clone(), block.indent)
                .find_map(offset)
        });
        in_block
            .or_else(|| {
                self.value_starts(0..self.lines.len(), None)
                    .find_map(offset)
            })
            .unwrap_or(0)
    }

    /// Each `key:` line with nothing after its colon (at `indent`, if given) in `range`,
    /// with the first line of structure after it.
    fn value_starts(
        &self,
        range: Range<usize>,
        indent: Option<usize>,
    ) -> impl Iterator<Item = (&Line, &Line)> + '_ {
        range.filter_map(move |i| {
            let key = &self.lines[i];
            let empty = matches!(
                key.kind,
                LineKind::Entry {
                    value: ValueText::Empty,
                    ..
                }
            );
            if !empty || indent.is_some_and(|indent| key.indent != indent) {
                return None;
            }
            let first = self.lines[i + 1..].iter().find(|l| l.is_content())?;
            Some((key, first))
        })
    }
}

/// `{a: {b: value}}` for the path `[a, b]`; the value itself for an empty path.
fn nest(path: &[String], value: &Value) -> Value {
    path.iter().rev().fold(value.clone(), |inner, key| {
        let mut mapping = Mapping::new();
        mapping.insert(Value::String(key.clone()), inner);
        Value::Mapping(mapping)
    })
}

/// A key as a plain scalar when it reads back as itself, else quoted.
fn key_text(key: &str) -> String {
    let plain = serde_yaml::to_string(key).unwrap_or_default();
    let plain = plain.trim_end_matches('\n');
    if plain.contains('\n') {
        serde_json::to_string(key).unwrap_or_default()
    } else {
        plain.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Value {
        Value::Sequence(items.iter().map(|i| Value::String(i.to_string())).collect())
    }

    fn set(text: &str, path: &[&str], value: Value) -> String {
        apply("m.yaml", text, &[Edit::set(path, value)]).unwrap()
    }

    fn remove(text: &str, path: &[&str]) -> String {
        apply("m.yaml", text, &[Edit::remove(path)]).unwrap()
    }

    const ARGS: &[&str] = &[
        "kubernetesMasterConfig",
        "apiServerArguments",
        "storage-backend",
    ];

    #[test]
    fn adds_a_key_after_the_last_one_and_touches_nothing_else() {
        let text = "# top comment\nkubernetesMasterConfig:\n  apiServerArguments: \n    runtime-config:\n    - a=true   # why\n  controllerArguments: \n  logoutURL: \"\"\n";
        assert_eq!(
            set(text, ARGS, list(&["etcd3"])),
            "# top comment\nkubernetesMasterConfig:\n  apiServerArguments: \n    runtime-config:\n    - a=true   # why\n    storage-backend:\n    - etcd3\n  controllerArguments: \n  logoutURL: \"\"\n"
        );
    }

    #[test]
    fn fills_an_empty_or_null_mapping_keeping_its_key_line_or_comment() {
        for (before, head) in [
            ("  apiServerArguments:\n", "  apiServerArguments:\n"),
            ("  apiServerArguments: \n", "  apiServerArguments: \n"),
            (
                "  apiServerArguments: null # none\n",
                "  apiServerArguments: # none\n",
            ),
            ("  apiServerArguments: ~\n", "  apiServerArguments:\n"),
            ("  apiServerArguments: {}\n", "  apiServerArguments:\n"),
            (
                "  apiServerArguments: \n    {}\n",
                "  apiServerArguments: \n",
            ),
        ] {
            let text = format!("kubernetesMasterConfig:\n{before}  masterCount: 1\n");
            assert_eq!(
                set(&text, ARGS, list(&["etcd3"])),
                format!("kubernetesMasterConfig:\n{head}    storage-backend:\n    - etcd3\n  masterCount: 1\n"),
                "{before:?}"
            );
        }
    }

    #[test]
    fn creates_missing_mappings_at_the_documents_indentation() {
        let text = "apiVersion: v1\nassetConfig:\n    logoutURL: \"\"\n    list:\n        - x\n";
        assert_eq!(
            set(text, ARGS, list(&["etcd3"])),
            "apiVersion: v1\nassetConfig:\n    logoutURL: \"\"\n    list:\n        - x\nkubernetesMasterConfig:\n    apiServerArguments:\n        storage-backend:\n            - etcd3\n"
        );
    }

    #[test]
    fn replaces_a_value_keeping_its_key_comment_and_item_indentation() {
        let text = "etcdClientInfo:\n  ca: ca-bundle.crt # the master's CA\n  urls:\n    - https://m1:4001\n  certFile: c\n";
        let one = set(
            text,
            &["etcdClientInfo", "ca"],
            Value::String("master.etcd-ca.crt".into()),
        );
        assert_eq!(one, "etcdClientInfo:\n  ca: master.etcd-ca.crt # the master's CA\n  urls:\n    - https://m1:4001\n  certFile: c\n");
        let two = set(
            &one,
            &["etcdClientInfo", "urls"],
            list(&["https://e1:2379", "https://e2:2379"]),
        );
        assert_eq!(two, "etcdClientInfo:\n  ca: master.etcd-ca.crt # the master's CA\n  urls:\n    - https://e1:2379\n    - https://e2:2379\n  certFile: c\n");
        // A flow list is the value being replaced: its line is rewritten.
        let flow = set(
            "a:\n  storage-backend: [etcd2]\n",
            &["a", "storage-backend"],
            list(&["etcd3"]),
        );
        assert_eq!(flow, "a:\n  storage-backend:\n  - etcd3\n");
    }

    #[test]
    fn removes_an_entry_with_its_value_and_inner_comments_but_not_the_next_keys_comment() {
        let text = "etcdClientInfo:\n  urls:\n  - u\netcdConfig:\n  address: m:4001\n  # inner\n  servingInfo:\n    certFile: etcd.server.crt\n\n# about etcdStorageConfig\netcdStorageConfig:\n  x: 1\n";
        assert_eq!(
            remove(text, &["etcdConfig"]),
            "etcdClientInfo:\n  urls:\n  - u\n\n# about etcdStorageConfig\netcdStorageConfig:\n  x: 1\n"
        );
        assert_eq!(remove(text, &["nothing", "here"]), text);
        // The last key of a mapping gone: the mapping is null, its key line kept.
        let args =
            "k:\n  apiServerArguments: \n    storage-backend:\n    - etcd3\n  masterCount: 1\n";
        assert_eq!(
            remove(args, &["k", "apiServerArguments", "storage-backend"]),
            "k:\n  apiServerArguments: \n  masterCount: 1\n"
        );
    }

    #[test]
    fn an_empty_document_gets_its_first_key() {
        for text in ["{}\n", "# only a comment\n{}\n", "---\n{}\n"] {
            let set = set(text, &["a", "b"], list(&["x"]));
            assert!(set.ends_with("a:\n  b:\n  - x\n"), "{text:?}: {set:?}");
            assert!(!set.contains("{}"), "{set:?}");
        }
    }

    #[test]
    fn keeps_crlf_and_tabs_in_comments() {
        let text = "a:\r\n  b: 1\t# tab\there\r\n# end\t\r\n";
        assert_eq!(
            set(text, &["a", "c"], list(&["x"])),
            "a:\r\n  b: 1\t# tab\there\r\n  c:\r\n  - x\r\n# end\t\r\n"
        );
        assert_eq!(set("a: 1", &["b"], Value::from(2)), "a: 1\nb: 2\n");
    }

    #[test]
    fn an_unchanged_value_changes_no_byte() {
        let text = "a:\n  storage-backend: [ \"etcd3\" ]  # flow\n";
        assert_eq!(set(text, &["a", "storage-backend"], list(&["etcd3"])), text);
    }

    #[test]
    fn refuses_flow_mappings_anchors_and_block_scalars_on_the_path() {
        let cases = [
            (
                "kubernetesMasterConfig: {apiServerArguments: {a: [b]}}\n",
                1,
                "kubernetesMasterConfig",
                "a flow collection",
            ),
            (
                "x: 1\nkubernetesMasterConfig: &k\n  apiServerArguments:\n    a: [b]\n",
                2,
                "kubernetesMasterConfig",
                "an anchor, alias or tag",
            ),
            (
                "a: &args\n  b: [c]\nkubernetesMasterConfig:\n  apiServerArguments: *args\n",
                4,
                "apiServerArguments",
                "an anchor, alias or tag",
            ),
        ];
        for (text, line, key, form) in cases {
            let err = apply("m.yaml", text, &[Edit::set(ARGS, list(&["etcd3"]))]).unwrap_err();
            let said = err.to_string();
            assert!(
                matches!(err, YamlEditError::Unsupported { .. }),
                "{text:?}: {said}"
            );
            assert!(
                said.starts_with(&format!("m.yaml:{line}: `{key}` is written as {form}")),
                "{text:?}: {said}"
            );
        }
    }

    #[test]
    fn refuses_a_path_through_something_that_is_not_a_mapping() {
        let err = apply(
            "m.yaml",
            "kubernetesMasterConfig:\n  apiServerArguments:\n  - a\n",
            &[Edit::set(ARGS, list(&["etcd3"]))],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.yaml: `apiServerArguments` is a list, expected a mapping"
        );
    }

    #[test]
    fn several_edits_at_once() {
        let text = "etcdClientInfo:\n  ca: ca-bundle.crt\n  urls:\n    - https://m:4001\netcdConfig:\n  address: m:4001\nkind: MasterConfig\n";
        let edited = apply(
            "m.yaml",
            text,
            &[
                Edit::set(
                    &["etcdClientInfo", "ca"],
                    Value::String("master.etcd-ca.crt".into()),
                ),
                Edit::set(&["etcdClientInfo", "urls"], list(&["https://e1:2379"])),
                Edit::remove(&["etcdConfig"]),
            ],
        )
        .unwrap();
        assert_eq!(edited, "etcdClientInfo:\n  ca: master.etcd-ca.crt\n  urls:\n    - https://e1:2379\nkind: MasterConfig\n");
    }
}
