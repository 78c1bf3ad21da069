//! A YAML or JSON file as the tree Ansible's loader builds: JSON first (as `json.loads`), else
//! YAML 1.1 with Ansible's constructor (a duplicate key keeps its place and takes the later
//! value, with a warning; `<<` merges; `!unsafe` is text; `!vault` is kept encrypted). Every
//! node remembers where it was written, for error reports.

use super::python_literal::json_key;
use super::yaml11;
use super::yaml_events::{self, Event, Mark, Style};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::HashMap;

/// A node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub data: Data,
    pub mark: Mark,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// A scalar (or a `!vault` value) as a JSON value.
    Scalar(Value),
    Seq(Vec<Node>),
    /// Entries in the order of their first appearance: key text, key node, value node.
    Map(Vec<(String, Node, Node)>),
}

/// Why a file is not a document Ansible's loader accepts, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeError {
    pub message: String,
    pub mark: Mark,
}

/// The loaded file: its single document (`None` if empty) and the loader's warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub root: Option<Node>,
    pub warnings: Vec<(String, Mark)>,
}

/// Loads `text` as Ansible's `DataLoader` does: JSON when it parses as JSON, else YAML.
pub fn load(text: &str) -> Result<Loaded, TreeError> {
    if let Ok(JsonNode(node)) = serde_json::from_str::<JsonNode>(text) {
        return Ok(Loaded {
            root: Some(node),
            warnings: Vec::new(),
        });
    }
    let events = yaml_events::parse(text).map_err(|e| {
        let mut message = e.problem;
        if let Some((context, at)) = e.context {
            message = format!("{message} ({context} at line {})", at.line + 1);
        }
        TreeError {
            message,
            mark: e.mark,
        }
    })?;
    let mut composer = Composer {
        events: events.into_iter(),
        anchors: HashMap::new(),
        warnings: Vec::new(),
    };
    let root = composer.stream()?;
    Ok(Loaded {
        root,
        warnings: composer.warnings,
    })
}

impl Node {
    /// The whole node as a JSON value.
    pub fn to_value(&self) -> Value {
        match &self.data {
            Data::Scalar(v) => v.clone(),
            Data::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Data::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, _, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// What kind of node this is, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.data {
            Data::Scalar(Value::Null) => "nothing (null)",
            Data::Scalar(Value::String(_)) => "a string",
            Data::Scalar(Value::Bool(_)) => "a boolean",
            Data::Scalar(Value::Number(_)) => "a number",
            Data::Scalar(_) => "a value",
            Data::Seq(_) => "a list",
            Data::Map(_) => "a mapping",
        }
    }
}

struct Composer {
    events: std::vec::IntoIter<(Event, Mark)>,
    anchors: HashMap<String, Node>,
    warnings: Vec<(String, Mark)>,
}

impl Composer {
    fn next(&mut self) -> (Event, Mark) {
        self.events
            .next()
            .unwrap_or((Event::StreamEnd, Mark::default()))
    }

    /// One document at most, as PyYAML's `get_single_data`.
    fn stream(&mut self) -> Result<Option<Node>, TreeError> {
        let mut root = None;
        loop {
            match self.next() {
                (Event::StreamStart, _) => {}
                (Event::StreamEnd, _) => return Ok(root),
                (Event::DocumentStart, mark) => {
                    if root.is_some() {
                        return Err(TreeError {
                            message: "expected a single document in the stream, but found another document".to_string(),
                            mark,
                        });
                    }
                    let (event, mark) = self.next();
                    root = Some(self.node(event, mark)?);
                    self.anchors.clear();
                }
                (Event::DocumentEnd, _) => {}
                (_, mark) => {
                    return Err(TreeError {
                        message: "unexpected YAML event".to_string(),
                        mark,
                    })
                }
            }
        }
    }

    fn remember(&mut self, anchor: Option<String>, node: &Node) {
        if let Some(anchor) = anchor {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn node(&mut self, event: Event, mark: Mark) -> Result<Node, TreeError> {
        match event {
            Event::Alias(name) => self.anchors.get(&name).cloned().ok_or_else(|| TreeError {
                message: format!("found undefined alias `{name}`"),
                mark,
            }),
            Event::Scalar {
                anchor,
                tag,
                value,
                style,
            } => {
                let node = Node {
                    data: Data::Scalar(
                        scalar(tag.as_deref(), &value, style)
                            .map_err(|message| TreeError { message, mark })?,
                    ),
                    mark,
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::SequenceStart { anchor, tag } => {
                check_collection_tag(tag.as_deref(), "seq", mark)?;
                let mut items = Vec::new();
                loop {
                    match self.next() {
                        (Event::SequenceEnd, _) => break,
                        (event, at) => items.push(self.node(event, at)?),
                    }
                }
                let node = Node {
                    data: Data::Seq(items),
                    mark,
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart { anchor, tag } => {
                check_collection_tag(tag.as_deref(), "map", mark)?;
                let mut pairs: Vec<(Node, Node, bool)> = Vec::new();
                loop {
                    match self.next() {
                        (Event::MappingEnd, _) => break,
                        (event, at) => {
                            let merge = matches!(&event, Event::Scalar { value, style: Style::Plain, tag: None, .. } if value == "<<");
                            let key = if merge {
                                Node {
                                    data: Data::Scalar(Value::String("<<".to_string())),
                                    mark: at,
                                }
                            } else {
                                self.node(event, at)?
                            };
                            let (event, at) = self.next();
                            let value = self.node(event, at)?;
                            pairs.push((key, value, merge));
                        }
                    }
                }
                let node = Node {
                    data: Data::Map(self.flatten(pairs, mark)?),
                    mark,
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            _ => Err(TreeError {
                message: "unexpected YAML event".to_string(),
                mark,
            }),
        }
    }

    /// Merged entries (`<<`) first, then the mapping's own; a repeated key keeps its first
    /// place and takes the later value, with Ansible's warning.
    fn flatten(
        &mut self,
        pairs: Vec<(Node, Node, bool)>,
        mark: Mark,
    ) -> Result<Vec<(String, Node, Node)>, TreeError> {
        let mut merged: Vec<(Node, Node)> = Vec::new();
        let mut own: Vec<(Node, Node)> = Vec::new();
        for (key, value, merge) in pairs {
            if !merge {
                own.push((key, value));
                continue;
            }
            let bad = || {
                TreeError {
                message: "while constructing a mapping: expected a mapping or list of mappings for merging".to_string(),
                mark: value.mark,
            }
            };
            match &value.data {
                Data::Map(entries) => {
                    merged.extend(entries.iter().map(|(_, k, v)| (k.clone(), v.clone())))
                }
                Data::Seq(items) => {
                    for item in items.iter().rev() {
                        let Data::Map(entries) = &item.data else {
                            return Err(bad());
                        };
                        merged.extend(entries.iter().map(|(_, k, v)| (k.clone(), v.clone())));
                    }
                }
                _ => return Err(bad()),
            }
        }
        let mut entries: Vec<(String, Node, Node)> = Vec::new();
        for (key, value) in merged.into_iter().chain(own) {
            let text = match &key.data {
                Data::Scalar(v) => json_key(v),
                _ => None,
            }
            .ok_or_else(|| TreeError {
                message: format!(
                    "while constructing a mapping: found unacceptable key ({})",
                    key.kind()
                ),
                mark: key.mark,
            })?;
            if let Some(slot) = entries.iter_mut().find(|(k, _, _)| *k == text) {
                self.warnings.push((
                    format!(
                        "while constructing a mapping from line {}, column {}, found a duplicate dict key ({text}); using last defined value only",
                        mark.line + 1,
                        mark.column + 1
                    ),
                    key.mark,
                ));
                slot.2 = value;
            } else {
                entries.push((text, key, value));
            }
        }
        Ok(entries)
    }
}

const CORE: &str = "tag:yaml.org,2002:";

fn check_collection_tag(tag: Option<&str>, kind: &str, mark: Mark) -> Result<(), TreeError> {
    match tag {
        None | Some("!" | "!unsafe") => Ok(()),
        Some(t) if t.strip_prefix(CORE) == Some(kind) => Ok(()),
        Some(t) => Err(TreeError {
            message: format!("could not determine a constructor for the tag `{t}`"),
            mark,
        }),
    }
}

/// A scalar's value: its tag if it has one, else YAML 1.1's implicit typing for plain
/// scalars and text for quoted and block ones. A value with no JSON form stays text.
fn scalar(tag: Option<&str>, value: &str, style: Style) -> Result<Value, String> {
    let text = || Value::String(value.to_string());
    let core = match tag {
        None if style == Style::Plain => yaml11::implicit_tag(value),
        None | Some("!" | "!unsafe") => return Ok(text()),
        Some("!vault" | "!vault-encrypted") => {
            // Kept encrypted, as ansible-inventory prints it.
            let mut vault = serde_json::Map::new();
            vault.insert("__ansible_vault".to_string(), text());
            return Ok(Value::Object(vault));
        }
        Some(t) => match t.strip_prefix(CORE) {
            Some(core) => core,
            None => {
                return Err(format!(
                    "could not determine a constructor for the tag `{t}`"
                ))
            }
        },
    };
    match core {
        "merge" | "value" => Err(format!(
            "could not determine a constructor for the tag `{CORE}{core}`"
        )),
        core => Ok(yaml11::construct(core, value)?.unwrap_or_else(text)),
    }
}

/// A JSON document read in order (serde_json's own maps are sorted); positions are unknown,
/// so every node points at the start of the file.
struct JsonNode(Node);

impl<'de> Deserialize<'de> for JsonNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

fn json_node(data: Data) -> JsonNode {
    JsonNode(Node {
        data,
        mark: Mark::default(),
    })
}

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = JsonNode;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<JsonNode, E> {
        Ok(json_node(Data::Scalar(Value::Bool(v))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<JsonNode, E> {
        Ok(json_node(Data::Scalar(Value::from(v))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<JsonNode, E> {
        Ok(json_node(Data::Scalar(Value::from(v))))
    }
    fn visit_f64<E>(self, v: f64) -> Result<JsonNode, E> {
        Ok(json_node(Data::Scalar(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        )))
    }
    fn visit_str<E>(self, v: &str) -> Result<JsonNode, E> {
        Ok(json_node(Data::Scalar(Value::String(v.to_string()))))
    }
    fn visit_unit<E>(self) -> Result<JsonNode, E> {
        Ok(json_node(Data::Scalar(Value::Null)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonNode, A::Error> {
        let mut items = Vec::new();
        while let Some(JsonNode(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(json_node(Data::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonNode, A::Error> {
        let mut entries: Vec<(String, Node, Node)> = Vec::new();
        while let Some((key, JsonNode(value))) = map.next_entry::<String, JsonNode>()? {
            // As in Python's json: a repeated key keeps its place, the later value wins.
            if let Some(slot) = entries.iter_mut().find(|(k, _, _)| *k == key) {
                slot.2 = value;
            } else {
                let key_node = json_node(Data::Scalar(Value::String(key.clone()))).0;
                entries.push((key, key_node, value));
            }
        }
        Ok(json_node(Data::Map(entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        load(text).unwrap().root.unwrap().to_value()
    }

    #[test]
    fn yaml_1_1_typing_and_ansible_tags() {
        let v = value("a: yes\nb: '0644'\nc: 0644\nd: !unsafe '{{ x }}'\ne: !!str 12\nf:\ng: !vault |\n  $ANSIBLE\n");
        assert_eq!(
            v,
            json!({"a": true, "b": "0644", "c": 420, "d": "{{ x }}", "e": "12", "f": null, "g": {"__ansible_vault": "$ANSIBLE\n"}})
        );
        assert_eq!(value("k: .inf"), json!({"k": ".inf"}));
        assert_eq!(value("on: 1"), json!({"true": 1}));
    }

    #[test]
    fn duplicates_merges_and_aliases() {
        let loaded = load("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nd: 1\nd: 2\n").unwrap();
        assert_eq!(
            loaded.root.unwrap().to_value(),
            json!({"base": {"x": 1, "y": 2}, "m": {"x": 1, "y": 3}, "d": 2})
        );
        assert_eq!(loaded.warnings.len(), 2);
        assert!(
            loaded.warnings[1].0.contains("duplicate dict key (d)"),
            "{:?}",
            loaded.warnings
        );
        assert_eq!(loaded.warnings[1].1.line, 5);
    }

    #[test]
    fn json_first_then_yaml() {
        // JSON's 1e3 is a float; YAML 1.1's plain 1e3 is text.
        assert_eq!(
            value("{\"a\": 1e3, \"b\": [1, \"x\"]}"),
            json!({"a": 1000.0, "b": [1, "x"]})
        );
        assert_eq!(value("a: 1e3"), json!({"a": "1e3"}));
        let JsonNode(node) = serde_json::from_str("{\"z\": 1, \"a\": 2, \"z\": 3}").unwrap();
        let Data::Map(entries) = node.data else {
            panic!()
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["z", "a"]);
    }

    #[test]
    fn errors_carry_a_position() {
        let e = load("a: 1\nb: !foo x\n").unwrap_err();
        assert!(e.message.contains("!foo"), "{e:?}");
        assert_eq!(e.mark.line, 1);
        assert!(load("a: *nope\n").is_err());
        assert!(load("--- 1\n--- 2\n").is_err());
        assert!(load("[1]: 2\n").is_err());
        assert_eq!(load("").unwrap().root, None);
        assert_eq!(load("# only a comment\n").unwrap().root, None);
    }
}
