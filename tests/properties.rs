//! Property tests: the inventory parser, the duration parser and the master-config patcher
//! never panic on arbitrary input and round-trip valid input; the patcher changes a file
//! laid out by hand (indentation, list style, comments, CRLF) in exactly the argument
//! lines; `lease.attach` paging covers
//! every key under a prefix exactly once, checked against a model of etcd's limited range
//! reads and against a real etcd member.

use crate::support::command::render;
use crate::support::etcd::runtime;
use crate::support::lab::TestLab;
use etcd_client::{Client, GetOptions, PutOptions, Txn, TxnOp};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use runbook::duration::{format_duration, parse_duration};
use runbook::inventory::Inventory;
use runbook::lab::lab_tls;
use runbook::lab::layout::LabLayout;
use runbook::lab::state::LabState;
use runbook::ops::etcd::client::paging::{prefix_range, PageCursor};
use runbook::ops::etcd::client::v3;
use runbook::ops::etcd::lease::attach::{attach, parse_ttl, AttachOptions};
use runbook::ops::master::config_patch::{self, STORAGE_ARGUMENTS};
use runbook::ops::master::etcd_client_config::{
    is_embedded_original_of, use_external, EXTERNAL_ETCD_CA,
};
use runbook::ops::master::ttl_durations::ttl_durations;
use serde_json::Value as Json;
use serde_yaml::{Mapping, Value as Yaml};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Cases per property (`PROPTEST_CASES` overrides, for a longer hunt), and no regression
/// files written into the tree (regressions found are kept as plain tests instead).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------------------------------
// Inventory: never panics, errors are located
// ------------------------------------------------------------------------------------------

/// Parses `text` as the file `name`: an inventory, or an error that names the file and a
/// line of it (and renders).
fn parse_located(name: &str, text: &str) -> Result<Option<Inventory>, TestCaseError> {
    match Inventory::from_text(name, text, &[]) {
        Ok(inventory) => Ok(Some(inventory)),
        Err(e) => {
            let message = e.to_string();
            let Some(line) = e.line() else {
                return Err(TestCaseError::fail(format!(
                    "error without a line: {message}"
                )));
            };
            let lines = text.split('\n').count();
            prop_assert!(
                (1..=lines).contains(&line),
                "line {line} of {lines}: {message}"
            );
            prop_assert!(
                message.starts_with(&format!("{name}:")),
                "does not name the file: {message}"
            );
            prop_assert!(
                message.contains(&line.to_string()),
                "does not name line {line}: {message}"
            );
            prop_assert!(
                miette::Diagnostic::code(&e).is_some() && miette::Diagnostic::help(&e).is_some(),
                "{message}"
            );
            let report = render(&e);
            prop_assert!(report.contains(name), "{report}");
            Ok(None)
        }
    }
}

fn group_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("etcd".to_string()),
        Just("masters".to_string()),
        Just("OSEv3".to_string()),
        Just("all".to_string()),
        Just("ungrouped".to_string()),
        "[a-z][a-z0-9_]{0,4}",
        "[a-z :\\[\\]#=\"'é]{0,5}",
    ]
}

fn host_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9.-]{0,6}",
        Just("etcd[01:99]".to_string()),
        Just("etcd[1:3].example.com".to_string()),
        Just("h-[a:c]".to_string()),
        Just("n[1:10:3]".to_string()),
        Just("x[3:1]".to_string()),
        Just("x[1:".to_string()),
        Just("x]".to_string()),
        Just("x[01:100]".to_string()),
        Just("x[[1:2]]".to_string()),
        Just("x[1:2:0]".to_string()),
        Just("h:2222".to_string()),
        Just("h[1:2]:22".to_string()),
        Just("fe80::1".to_string()),
        Just("[1:2]".to_string()),
        "[a-zé]{1,3}\\[[0-9a-zé]{0,2}:[0-9a-z]{0,2}(:[0-9]{0,2})?\\][a-z]{0,2}",
    ]
}

fn host_var_token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,5}=[a-z0-9]{0,5}",
        "[a-z_]{1,4}=\"[a-z #'=\\\\é]{0,6}\"",
        "[a-z_]{1,4}='[a-z #\"=é]{0,6}'",
        "[a-z_]{1,4}=\"[a-z é]{0,4}",
        "[a-z_]{1,4}=[a-z]{0,2}\\\\",
        "=[a-z]{0,3}",
        "[0-9é][a-z]{0,3}=x",
        "[a-z]{1,4}",
        "#[a-z ]{0,6}",
    ]
}

fn group_var_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{0,5}",
        "\"[a-z #\\\\\"é]{0,6}\"",
        "'[a-z #\"]{0,6}'",
        "\"[a-z]{0,3}",
        "[0-9]{1,3} # c",
        "'a' '[a-z]{0,2}",
    ]
}

/// One line of a structured-but-mangled INI inventory.
fn ini_line() -> impl Strategy<Value = String> {
    prop_oneof![
        group_name().prop_map(|g| format!("[{g}]")),
        (
            group_name(),
            prop_oneof![
                Just("vars".to_string()),
                Just("children".to_string()),
                Just(String::new()),
                "[a-zé]{1,4}",
            ]
        )
            .prop_map(|(g, k)| format!("[{g}:{k}]")),
        Just("[".to_string()),
        "\\[[a-z]{0,3}\\] ?[a-z#;]{0,3}",
        (host_pattern(), vec(host_var_token(), 0..4))
            .prop_map(|(h, v)| format!("{h} {}", v.join(" "))),
        ("[a-z_0-9é]{0,6}", " {0,2}", group_var_value())
            .prop_map(|(k, s, v)| format!("{k}{s}={s}{v}")),
        group_name(),
        "[#;][^\n]{0,10}",
        Just(String::new()),
        "[^\n]{0,20}",
    ]
}

fn ini_text() -> impl Strategy<Value = String> {
    (
        vec((" {0,2}", ini_line()), 0..24),
        prop_oneof![Just("\n"), Just("\r\n")],
        any::<bool>(),
    )
        .prop_map(|(lines, eol, bom)| {
            let body: Vec<String> = lines.into_iter().map(|(i, l)| format!("{i}{l}")).collect();
            let text = body.join(eol);
            if bom {
                format!("\u{feff}{text}")
            } else {
                text
            }
        })
}

fn yaml_key() -> impl Strategy<Value = Yaml> {
    prop_oneof![
        4 => prop_oneof![
            Just("all"), Just("hosts"), Just("vars"), Just("children"), Just("etcd"),
            Just("masters"), Just("etcd[1:3]"), Just("h[3:1]"), Just("x[a:]"), Just("etcd1:2379"),
            Just("ansible_port"), Just("ansible_group_priority"),
        ]
        .prop_map(|k| Yaml::String(k.to_string())),
        1 => "[a-zé\\[\\]:]{1,6}".prop_map(Yaml::String),
        1 => any::<i64>().prop_map(|n| Yaml::Number(n.into())),
        1 => any::<bool>().prop_map(Yaml::Bool),
    ]
}

fn yaml_leaf() -> impl Strategy<Value = Yaml> {
    prop_oneof![
        Just(Yaml::Null),
        any::<bool>().prop_map(Yaml::Bool),
        any::<i64>().prop_map(|n| Yaml::Number(n.into())),
        any::<f64>().prop_map(|f| Yaml::Number(f.into())),
        "\\PC{0,8}".prop_map(Yaml::String),
    ]
}

/// Random YAML trees: mappings (with the inventory's own keys most of the time), sequences
/// and scalars, a few levels deep.
fn yaml_tree() -> impl Strategy<Value = Yaml> {
    yaml_leaf().prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Yaml::Sequence),
            vec((yaml_key(), inner), 0..5)
                .prop_map(|entries| Yaml::Mapping(entries.into_iter().collect::<Mapping>())),
        ]
    })
}

/// Mangles text: removes a stretch, or inserts a piece of YAML syntax, at a char boundary.
fn mangle(text: &str, at: usize, edit: u8, piece: &str) -> String {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let from = boundaries[at % boundaries.len()];
    match edit % 3 {
        0 => text.to_string(),
        1 => {
            let to = boundaries
                .iter()
                .copied()
                .find(|&b| b >= from + 3)
                .unwrap_or(text.len());
            format!("{}{}", &text[..from], &text[to..])
        }
        _ => format!("{}{piece}{}", &text[..from], &text[from..]),
    }
}

fn yaml_text() -> impl Strategy<Value = String> {
    (
        yaml_tree(),
        any::<usize>(),
        any::<u8>(),
        prop_oneof![
            Just(":"),
            Just("- "),
            Just("\t"),
            Just("  "),
            Just("{"),
            Just("["),
            Just("'"),
            Just("\""),
            Just("&a "),
            Just("*a"),
            Just("!!str "),
            Just("\n"),
            Just("é"),
            Just("? "),
        ],
    )
        .prop_map(|(tree, at, edit, piece)| {
            let text = serde_yaml::to_string(&tree).unwrap_or_default();
            mangle(&text, at, edit, piece)
        })
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn inventory_never_panics_on_arbitrary_text(
        text in prop_oneof![
            any::<String>(),
            "[\\[\\]:=#;'\"a-z0-9 \n\t\r\\\\é-]{0,200}",
            "[a-z:\\-{}\\[\\],'\" \n#!&*|>?é]{0,200}",
        ],
        name in prop_oneof![Just("inventory"), Just("hosts.yml"), Just("inv.json")],
    ) {
        parse_located(name, &text)?;
    }

    #[test]
    fn inventory_never_panics_on_mangled_ini(text in ini_text()) {
        parse_located("inventory", &text)?;
    }

    #[test]
    fn inventory_never_panics_on_mangled_yaml(
        text in yaml_text(),
        name in prop_oneof![Just("inventory.yml"), Just("inventory")],
    ) {
        parse_located(name, &text)?;
    }
}

// ------------------------------------------------------------------------------------------
// Inventory: valid inventories round-trip through INI and YAML
// ------------------------------------------------------------------------------------------

/// A group of the generated inventory; `children` are indexes of later groups (no loops).
#[derive(Debug, Clone)]
struct ModelGroup {
    name: String,
    vars: BTreeMap<String, Json>,
    /// `ansible_group_priority`: written among the vars, but a setting of the group, not a
    /// variable (Ansible shows it in neither the group's nor the hosts' vars).
    priority: Option<i64>,
    children: Vec<usize>,
}

impl ModelGroup {
    /// The variables as the inventory file writes them, the priority included.
    fn written_vars(&self) -> BTreeMap<String, Json> {
        let mut vars = self.vars.clone();
        if let Some(p) = self.priority {
            vars.insert("ansible_group_priority".to_string(), Json::from(p));
        }
        vars
    }
}

/// Hosts written as one pattern: a plain name or a numeric range.
#[derive(Debug, Clone)]
struct Family {
    head: String,
    /// (first, count, zero-padded to 2 digits)
    range: Option<(u32, u32, bool)>,
    tail: String,
    /// Indexes of the groups that list it directly (none: ungrouped).
    groups: Vec<usize>,
    vars: BTreeMap<String, Json>,
    /// Whether every listing repeats the vars (same values are no conflict) or only the first.
    repeat_vars: bool,
}

impl Family {
    fn pattern(&self) -> String {
        match self.range {
            None => format!("{}{}", self.head, self.tail),
            Some((first, count, padded)) => {
                let last = first + count - 1;
                if padded {
                    format!("{}[{first:02}:{last:02}]{}", self.head, self.tail)
                } else {
                    format!("{}[{first}:{last}]{}", self.head, self.tail)
                }
            }
        }
    }

    fn hosts(&self) -> Vec<String> {
        match self.range {
            None => vec![format!("{}{}", self.head, self.tail)],
            Some((first, count, padded)) => (first..first + count)
                .map(|n| {
                    if padded {
                        format!("{}{n:02}{}", self.head, self.tail)
                    } else {
                        format!("{}{n}{}", self.head, self.tail)
                    }
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone)]
struct Model {
    all_vars: BTreeMap<String, Json>,
    groups: Vec<ModelGroup>,
    families: Vec<Family>,
}

/// Variable names that collide across levels, so that precedence decides.
fn var_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("v_a".to_string()),
        Just("v_b".to_string()),
        Just("v_c".to_string()),
        "v_[a-z0-9_]{1,4}",
    ]
}

fn var_value() -> impl Strategy<Value = Json> {
    prop_oneof![
        any::<i64>().prop_map(Json::from),
        any::<bool>().prop_map(Json::from),
        "[ -~]{0,12}".prop_map(Json::String),
        "\\PC{0,8}".prop_map(Json::String),
        Just(Json::String("10".to_string())),
        Just(Json::String("true".to_string())),
        Just(Json::String("a \"b\" \"c\"".to_string())),
        Just(Json::String("x # y".to_string())),
        Just(Json::String("it's \"a\" \"b\"".to_string())),
    ]
}

fn vars() -> impl Strategy<Value = BTreeMap<String, Json>> {
    btree_map(var_name(), var_value(), 0..4)
}

fn model() -> impl Strategy<Value = Model> {
    (0usize..6, 0usize..8)
        .prop_flat_map(|(n_groups, n_families)| {
            let group = (
                prop_oneof![
                    Just("etcd".to_string()),
                    Just("masters".to_string()),
                    Just("nodes".to_string()),
                    "[a-z][a-z_]{0,5}",
                ],
                vars(),
                proptest::option::of(1i64..4),
                vec(any::<bool>(), 6),
            );
            let family = (
                "[a-z]{1,5}",
                proptest::option::of((0u32..20, 1u32..4, any::<bool>())),
                prop_oneof![Just(""), Just(".example.com")],
                vec(any::<bool>(), 6),
                vars(),
                any::<bool>(),
            );
            (vars(), vec(group, n_groups), vec(family, n_families))
        })
        .prop_map(|(all_vars, groups, families)| {
            let n = groups.len();
            let groups = groups
                .into_iter()
                .enumerate()
                .map(|(i, (name, vars, priority, child))| {
                    ModelGroup {
                        // The index keeps names distinct (and never `all` or `ungrouped`).
                        name: format!("{name}{i}"),
                        vars,
                        priority,
                        children: (i + 1..n).filter(|&j| child[j]).collect(),
                    }
                })
                .collect();
            let families = families
                .into_iter()
                .enumerate()
                .map(
                    |(i, (head, range, tail, member, vars, repeat_vars))| Family {
                        // Letters, the index, then `n`: no two families can make the same name.
                        head: format!("{head}{i}n"),
                        range,
                        tail: tail.to_string(),
                        groups: (0..n).filter(|&g| member[g]).collect(),
                        vars,
                        repeat_vars,
                    },
                )
                .collect();
            Model {
                all_vars,
                groups,
                families,
            }
        })
}

/// A value as a Python literal, which is how Ansible's ini plugin reads an INI value: text as
/// a single-quoted string literal, booleans as `True`/`False`, numbers bare.
fn python_literal(value: &Json) -> String {
    match value {
        Json::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Json::Bool(true) => "True".to_string(),
        Json::Bool(false) => "False".to_string(),
        other => other.to_string(),
    }
}

/// A value on a host line: the Python literal, in shell double quotes (the line is split like
/// a shell line before the literal is read).
fn ini_host_value(value: &Json) -> String {
    let literal = python_literal(value);
    format!("\"{}\"", literal.replace('\\', "\\\\").replace('"', "\\\""))
}

fn ini_host_line(family: &Family, with_vars: bool) -> String {
    let mut line = family.pattern();
    if with_vars {
        for (k, v) in &family.vars {
            line.push_str(&format!(" {k}={}", ini_host_value(v)));
        }
    }
    line.push('\n');
    line
}

fn render_ini(model: &Model) -> String {
    let mut out = String::from("# generated\n");
    let mut listed = vec![false; model.families.len()];
    for (i, f) in model.families.iter().enumerate() {
        if f.groups.is_empty() {
            out.push_str(&ini_host_line(f, true));
            listed[i] = true;
        }
    }
    if !model.all_vars.is_empty() {
        out.push_str("\n[all:vars]\n");
        for (k, v) in &model.all_vars {
            out.push_str(&format!("{k} = {}\n", python_literal(v)));
        }
    }
    for (g, group) in model.groups.iter().enumerate() {
        out.push_str(&format!("\n[{}]\n", group.name));
        for (i, f) in model.families.iter().enumerate() {
            if f.groups.contains(&g) {
                out.push_str(&ini_host_line(f, !listed[i] || f.repeat_vars));
                listed[i] = true;
            }
        }
        let vars = group.written_vars();
        if !vars.is_empty() {
            out.push_str(&format!("[{}:vars]\n", group.name));
            for (k, v) in &vars {
                out.push_str(&format!("{k}={}\n", python_literal(v)));
            }
        }
        if !group.children.is_empty() {
            out.push_str(&format!("[{}:children]\n", group.name));
            for &c in &group.children {
                out.push_str(&format!("{}\n", model.groups[c].name));
            }
        }
    }
    out
}

fn yaml_vars(vars: &BTreeMap<String, Json>) -> Yaml {
    serde_yaml::to_value(vars).expect("vars as YAML")
}

/// The model as a YAML inventory.
fn render_yaml(model: &Model) -> String {
    let mut listed = vec![false; model.families.len()];
    let mut hosts_of = |group: Option<usize>, listed: &mut Vec<bool>| -> Mapping {
        let mut hosts = Mapping::new();
        for (i, f) in model.families.iter().enumerate() {
            let member = match group {
                None => f.groups.is_empty(),
                Some(g) => f.groups.contains(&g),
            };
            if member {
                let value = if (!listed[i] || f.repeat_vars) && !f.vars.is_empty() {
                    yaml_vars(&f.vars)
                } else {
                    Yaml::Null
                };
                hosts.insert(Yaml::String(f.pattern()), value);
                listed[i] = true;
            }
        }
        hosts
    };

    // Each group is defined in full where a depth-first walk from `all` first meets it,
    // and named (with nothing under it) everywhere else.
    fn define(
        model: &Model,
        g: usize,
        defined: &mut Vec<bool>,
        listed: &mut Vec<bool>,
        hosts_of: &mut dyn FnMut(Option<usize>, &mut Vec<bool>) -> Mapping,
    ) -> Yaml {
        if defined[g] {
            return Yaml::Null;
        }
        defined[g] = true;
        let group = &model.groups[g];
        let mut body = Mapping::new();
        let hosts = hosts_of(Some(g), listed);
        if !hosts.is_empty() {
            body.insert("hosts".into(), Yaml::Mapping(hosts));
        }
        let vars = group.written_vars();
        if !vars.is_empty() {
            body.insert("vars".into(), yaml_vars(&vars));
        }
        if !group.children.is_empty() {
            let mut children = Mapping::new();
            for &c in &group.children {
                let child = define(model, c, defined, listed, hosts_of);
                children.insert(Yaml::String(model.groups[c].name.clone()), child);
            }
            body.insert("children".into(), Yaml::Mapping(children));
        }
        Yaml::Mapping(body)
    }

    let mut all = Mapping::new();
    if !model.all_vars.is_empty() {
        all.insert("vars".into(), yaml_vars(&model.all_vars));
    }
    let ungrouped = hosts_of(None, &mut listed);
    if !ungrouped.is_empty() {
        all.insert("hosts".into(), Yaml::Mapping(ungrouped));
    }
    let mut defined = vec![false; model.groups.len()];
    let mut children = Mapping::new();
    for (g, group) in model.groups.iter().enumerate() {
        let has_parent = model.groups.iter().any(|p| p.children.contains(&g));
        if !has_parent {
            let body = define(model, g, &mut defined, &mut listed, &mut hosts_of);
            children.insert(Yaml::String(group.name.clone()), body);
        }
    }
    if !children.is_empty() {
        all.insert("children".into(), Yaml::Mapping(children));
    }
    let mut top = Mapping::new();
    top.insert("all".into(), Yaml::Mapping(all));
    // Written as JSON, which YAML 1.1 reads too: every text is quoted, so none is retyped
    // the way Ansible's YAML 1.1 loader retypes plain scalars (`=`, `0o7`, `y`).
    let json = serde_json::to_value(&top).expect("inventory as JSON");
    serde_json::to_string_pretty(&json).expect("render YAML")
}

impl Model {
    fn parents(&self, g: usize) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|&p| self.groups[p].children.contains(&g))
            .collect()
    }

    /// Ansible's group depth: 1 for a child of `all`, one more than the deepest parent otherwise.
    fn depth(&self, g: usize) -> usize {
        1 + self
            .parents(g)
            .into_iter()
            .map(|p| self.depth(p))
            .max()
            .unwrap_or(0)
    }

    fn priority(&self, g: usize) -> i64 {
        self.groups[g].priority.unwrap_or(1)
    }

    /// Hosts of a group and of its descendants.
    fn members(&self, g: usize) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self
            .families
            .iter()
            .filter(|f| f.groups.contains(&g))
            .flat_map(Family::hosts)
            .collect();
        for &c in &self.groups[g].children {
            out.extend(self.members(c));
        }
        out
    }

    fn hosts(&self) -> BTreeSet<String> {
        self.families.iter().flat_map(Family::hosts).collect()
    }

    /// A host's variables: `all`, its groups by (depth, priority, name), its own.
    fn resolved(&self, family: &Family, host: &str) -> BTreeMap<String, Json> {
        let mut groups: Vec<usize> = (0..self.groups.len())
            .filter(|&g| self.members(g).contains(host))
            .collect();
        groups.sort_by_key(|&g| (self.depth(g), self.priority(g), self.groups[g].name.clone()));
        let mut vars = self.all_vars.clone();
        for g in groups {
            vars.extend(self.groups[g].vars.clone());
        }
        vars.extend(family.vars.clone());
        vars
    }
}

fn assert_matches_model(
    format: &str,
    text: &str,
    inventory: &Inventory,
    model: &Model,
) -> Result<(), TestCaseError> {
    let ctx = || format!("{format}:\n{text}");
    let hosts: BTreeSet<String> = inventory.hosts().iter().map(|h| h.name.clone()).collect();
    prop_assert_eq!(&hosts, &model.hosts(), "hosts; {}", ctx());
    let as_set = |hosts: Vec<&runbook::inventory::Host>| -> BTreeSet<String> {
        hosts.iter().map(|h| h.name.clone()).collect()
    };
    prop_assert_eq!(
        as_set(inventory.group("all").expect("all")),
        model.hosts(),
        "all; {}",
        ctx()
    );
    let ungrouped: BTreeSet<String> = model
        .families
        .iter()
        .filter(|f| f.groups.is_empty())
        .flat_map(Family::hosts)
        .collect();
    prop_assert_eq!(
        as_set(inventory.group("ungrouped").expect("ungrouped")),
        ungrouped,
        "ungrouped; {}",
        ctx()
    );
    for (g, group) in model.groups.iter().enumerate() {
        let Some(members) = inventory.group(&group.name) else {
            return Err(TestCaseError::fail(format!(
                "no group {}; {}",
                group.name,
                ctx()
            )));
        };
        prop_assert_eq!(
            as_set(members),
            model.members(g),
            "members of {}; {}",
            &group.name,
            ctx()
        );
        let own: BTreeMap<String, Json> = inventory
            .group_vars(&group.name)
            .expect("group vars")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        prop_assert_eq!(&own, &group.vars, "vars of {}; {}", &group.name, ctx());
        let children: BTreeSet<&str> = inventory
            .children(&group.name)
            .expect("children")
            .into_iter()
            .collect();
        let expected: BTreeSet<&str> = group
            .children
            .iter()
            .map(|&c| model.groups[c].name.as_str())
            .collect();
        prop_assert_eq!(children, expected, "children of {}; {}", &group.name, ctx());
    }
    for family in &model.families {
        for name in family.hosts() {
            let host = inventory.host(&name).expect("host");
            let got: BTreeMap<String, Json> = host
                .vars
                .iter()
                .filter(|(k, _)| k.starts_with("v_") || *k == "ansible_group_priority")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let expected = model.resolved(family, &name);
            prop_assert_eq!(got, expected, "vars of {}; {}", &name, ctx());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn valid_inventories_round_trip_through_ini_and_yaml(model in model()) {
        let ini = render_ini(&model);
        let parsed = Inventory::from_text("inventory", &ini, &[])
            .map_err(|e| TestCaseError::fail(format!("INI refused: {e}\n{ini}")))?;
        assert_matches_model("INI", &ini, &parsed, &model)?;

        let yaml = render_yaml(&model);
        for name in ["inventory.yml", "inventory"] {
            let parsed = Inventory::from_text(name, &yaml, &[])
                .map_err(|e| TestCaseError::fail(format!("YAML refused: {e}\n{yaml}")))?;
            assert_matches_model("YAML", &yaml, &parsed, &model)?;
        }
    }
}

// ------------------------------------------------------------------------------------------
// Durations
// ------------------------------------------------------------------------------------------

const UNITS: [(&str, u128); 5] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];
const HUNDRED_YEARS_MS: u128 = 100 * 365 * 86_400_000;

/// The accepted syntax, written independently: after trimming, one or more `<digits><unit>`
/// (units ms, s, m, h, d), adding up to at least 1 ms and at most 100 years.
fn model_duration(input: &str) -> Option<Duration> {
    let text = input.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 {
            return None;
        }
        let digits = rest[..digits_end].trim_start_matches('0');
        if digits.len() > 30 {
            return None;
        }
        let number: u128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        rest = &rest[digits_end..];
        let unit_end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let size = UNITS.iter().find(|(u, _)| *u == &rest[..unit_end])?.1;
        rest = &rest[unit_end..];
        total += number * size;
        if total > HUNDRED_YEARS_MS {
            return None;
        }
    }
    (total > 0).then(|| Duration::from_millis(total as u64))
}

fn duration_like() -> impl Strategy<Value = String> {
    let part = (
        prop_oneof![
            "[0-9]{1,4}",
            "0{0,3}[0-9]{1,3}",
            "[0-9]{15,45}",
            Just(String::new()),
            Just("-".to_string()),
            Just("+".to_string()),
            Just("1.5".to_string()),
        ],
        prop_oneof![
            Just("ms"),
            Just("s"),
            Just("m"),
            Just("h"),
            Just("d"),
            Just(""),
            Just("x"),
            Just("S"),
            Just("us"),
            Just("sec"),
            Just(" "),
            Just("é"),
        ],
    )
        .prop_map(|(n, u)| format!("{n}{u}"));
    (
        prop_oneof![Just(""), Just(" "), Just("\t"), Just("\u{3000}")],
        vec(part, 0..4),
        prop_oneof![Just(""), Just(" "), Just("\n")],
    )
        .prop_map(|(lead, parts, trail)| format!("{lead}{}{trail}", parts.concat()))
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn durations_accept_exactly_the_valid_forms(
        input in prop_oneof![any::<String>(), duration_like()],
    ) {
        let parsed = parse_duration(&input);
        prop_assert_eq!(parsed.clone().ok(), model_duration(&input), "{:?}", input);
        if let Err(e) = parsed {
            let message = e.to_string();
            let trimmed = input.trim();
            prop_assert!(
                message.contains(&format!("`{trimmed}`")) || trimmed.is_empty(),
                "{:?} -> {}", input, message
            );
            prop_assert!(miette::Diagnostic::help(&e).is_some());
        }
    }

    #[test]
    fn generated_durations_parse_to_their_sum(
        parts in vec((0u64..100_000, 0usize..5), 1..5),
    ) {
        let text: String = parts
            .iter()
            .map(|(n, u)| format!("{n}{}", UNITS[*u].0))
            .collect();
        let total: u128 = parts.iter().map(|(n, u)| u128::from(*n) * UNITS[*u].1).sum();
        let expected = (total > 0 && total <= HUNDRED_YEARS_MS)
            .then(|| Duration::from_millis(total as u64));
        prop_assert_eq!(parse_duration(&text).ok(), expected, "{}", text);
    }

    #[test]
    fn formatted_durations_parse_back(millis in 1u64..=(HUNDRED_YEARS_MS as u64)) {
        let duration = Duration::from_millis(millis);
        let text = format_duration(duration);
        prop_assert_eq!(parse_duration(&text), Ok(duration), "{}", text);
    }

    #[test]
    fn bare_numbers_and_negatives_are_refused_naming_the_input(n in 0u64..1_000_000_000) {
        for input in [n.to_string(), format!("-{n}s"), format!("{n}x"), format!("-{n}")] {
            let e = parse_duration(&input).expect_err(&input);
            prop_assert!(e.to_string().contains(&format!("`{input}`")), "{}", e);
        }
    }
}

#[test]
fn operator_mistakes_are_refused_by_the_parser_and_the_lease_layer() {
    for (input, says) in [
        ("1x", "unknown unit `x`"),
        ("-5s", "is negative"),
        ("0s", "is zero"),
        ("10", "has no unit"),
        ("0ms", "is zero"),
    ] {
        let e = parse_duration(input).expect_err(input);
        let message = e.to_string();
        assert!(message.contains(&format!("`{input}`")), "{message}");
        assert!(message.contains(says), "{message}");
        // The lease layer names the input too (and refuses sub-second TTLs the parser accepts).
        let e = parse_ttl(input).expect_err(input);
        assert!(e.to_string().contains(&format!("`{input}`")), "{e}");
    }
    let e = parse_ttl("500ms").expect_err("sub-second");
    assert!(e.to_string().contains("`500ms`"), "{e}");
}

// ------------------------------------------------------------------------------------------
// Master config patcher
// ------------------------------------------------------------------------------------------

const PATH: &str = "/etc/origin/master/master-config.yaml";

fn plain_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-zA-Z0-9-]{0,10}",
        Just("apiVersion".to_string()),
        Just("etcdClientInfo".to_string()),
        Just("runtime-config".to_string()),
        Just("event-ttl".to_string()),
    ]
}

fn config_value() -> impl Strategy<Value = Yaml> {
    let leaf = prop_oneof![
        Just(Yaml::Null),
        any::<bool>().prop_map(Yaml::Bool),
        any::<i64>().prop_map(|n| Yaml::Number(n.into())),
        (-1e9f64..1e9).prop_map(|f| Yaml::Number(f.into())),
        "\\PC{0,10}".prop_map(Yaml::String),
        Just(Yaml::String("1h".to_string())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Yaml::Sequence),
            vec((plain_key(), inner), 0..4).prop_map(|entries| {
                Yaml::Mapping(
                    entries
                        .into_iter()
                        .map(|(k, v)| (Yaml::String(k), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn string_list() -> impl Strategy<Value = Yaml> {
    vec("[a-z0-9./=-]{1,12}".prop_map(Yaml::String), 1..3).prop_map(Yaml::Sequence)
}

/// How `kubernetesMasterConfig.apiServerArguments` looks before the patch.
#[derive(Debug, Clone, Copy)]
enum Arguments {
    /// A mapping with some arguments (none of the storage ones).
    Some,
    Empty,
    Null,
    Absent,
    /// `kubernetesMasterConfig` itself is absent.
    NoMasterSection,
}

/// A valid master config: random top-level keys, `kubernetesMasterConfig` with random keys
/// and `apiServerArguments` (key: [values], or other values) in one of its shapes.
fn master_config() -> impl Strategy<Value = (Yaml, Arguments)> {
    let others = vec((plain_key(), config_value()), 0..5);
    let arguments = vec(
        (
            plain_key(),
            prop_oneof![3 => string_list(), 1 => config_value()],
        ),
        1..5,
    );
    let shape = prop_oneof![
        4 => Just(Arguments::Some),
        1 => Just(Arguments::Empty),
        1 => Just(Arguments::Null),
        1 => Just(Arguments::Absent),
        1 => Just(Arguments::NoMasterSection),
    ];
    let master_others = vec((plain_key(), config_value()), 0..5);
    (others, master_others, arguments, shape, 0usize..6).prop_map(
        |(top, master, arguments, shape, at)| {
            let mut root = Mapping::new();
            for (k, v) in top {
                root.insert(Yaml::String(k), v);
            }
            let mut section = Mapping::new();
            for (k, v) in master {
                section.insert(Yaml::String(k), v);
            }
            let args: Mapping = arguments
                .into_iter()
                .filter(|(k, _)| !k.starts_with("storage-"))
                .map(|(k, v)| (Yaml::String(k), v))
                .collect();
            match shape {
                Arguments::Some if !args.is_empty() => {
                    section.insert("apiServerArguments".into(), Yaml::Mapping(args));
                }
                Arguments::Some | Arguments::Empty => {
                    section.insert("apiServerArguments".into(), Yaml::Mapping(Mapping::new()));
                }
                Arguments::Null => {
                    section.insert("apiServerArguments".into(), Yaml::Null);
                }
                Arguments::Absent | Arguments::NoMasterSection => {}
            }
            if !matches!(shape, Arguments::NoMasterSection) {
                // Somewhere among the other top-level keys, as in a real file.
                let at = at.min(root.len());
                let mut placed = Mapping::new();
                for (i, (k, v)) in std::mem::take(&mut root).into_iter().enumerate() {
                    if i == at {
                        placed.insert(
                            "kubernetesMasterConfig".into(),
                            Yaml::Mapping(section.clone()),
                        );
                    }
                    placed.insert(k, v);
                }
                if !placed.contains_key("kubernetesMasterConfig") {
                    placed.insert("kubernetesMasterConfig".into(), Yaml::Mapping(section));
                }
                root = placed;
            }
            (Yaml::Mapping(root), shape)
        },
    )
}

fn keys_of(mapping: &Mapping) -> Vec<Yaml> {
    mapping.keys().cloned().collect()
}

fn arguments_of(config: &Yaml) -> Option<&Mapping> {
    config
        .get("kubernetesMasterConfig")?
        .get("apiServerArguments")?
        .as_mapping()
}

/// `config` without the storage arguments, with sections the patch had to create dropped.
fn without_storage(config: &Yaml) -> Yaml {
    let mut config = config.clone();
    if let Some(root) = config.as_mapping_mut() {
        if let Some(master) = root
            .get_mut("kubernetesMasterConfig")
            .and_then(Yaml::as_mapping_mut)
        {
            if let Some(args) = master
                .get_mut("apiServerArguments")
                .and_then(Yaml::as_mapping_mut)
            {
                for (key, _) in STORAGE_ARGUMENTS {
                    args.shift_remove(key);
                }
            }
        }
    }
    config
}

/// A config that must be refused or patched, never a panic: anything the generators make,
/// dropped into the places the patcher walks.
fn arbitrary_master_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        yaml_text(),
        config_value().prop_map(|v| serde_yaml::to_string(&v).unwrap_or_default()),
        config_value().prop_map(|v| {
            format!(
                "kubernetesMasterConfig:\n{}",
                indent(&serde_yaml::to_string(&v).unwrap_or_default())
            )
        }),
        config_value().prop_map(|v| {
            let mut args = Mapping::new();
            args.insert("apiServerArguments".into(), v);
            let mut root = Mapping::new();
            root.insert("kubernetesMasterConfig".into(), Yaml::Mapping(args));
            serde_yaml::to_string(&root).unwrap_or_default()
        }),
        Just("kubernetesMasterConfig:\n  apiServerArguments: !!binary aGVsbG8=\n".to_string()),
        Just("kubernetesMasterConfig: !tag {apiServerArguments: {}}\n".to_string()),
        Just("a: &x [1]\nkubernetesMasterConfig:\n  apiServerArguments: *x\n".to_string()),
        Just(
            "kubernetesMasterConfig:\n  apiServerArguments:\n    storage-backend: etcd3\n"
                .to_string()
        ),
    ]
}

/// How a person (or a template) might lay a master config out: the indentation step,
/// lists indented under their key or not, comments and blank lines here and there, trailing
/// spaces after a key whose value follows, `null` written three ways, CRLF line endings.
#[derive(Debug, Clone)]
struct HandStyle {
    unit: usize,
    indented_lists: bool,
    crlf: bool,
    /// One choice per line written, cycled: comments, blank lines, trailing spaces.
    choices: Vec<u8>,
}

fn hand_style() -> impl Strategy<Value = HandStyle> {
    (
        prop_oneof![Just(2usize), Just(4usize)],
        any::<bool>(),
        any::<bool>(),
        vec(any::<u8>(), 1..64),
    )
        .prop_map(|(unit, indented_lists, crlf, choices)| HandStyle {
            unit,
            indented_lists,
            crlf,
            choices,
        })
}

/// Writes `config` in `style`, block style throughout (collections inside lists as JSON,
/// which YAML reads as flow).
fn render_by_hand(config: &Yaml, style: &HandStyle) -> String {
    struct Writer<'a> {
        style: &'a HandStyle,
        lines: Vec<String>,
        next: usize,
    }
    impl Writer<'_> {
        fn choice(&mut self) -> u8 {
            let c = self.style.choices[self.next % self.style.choices.len()];
            self.next += 1;
            c
        }
        fn scalar(value: &Yaml) -> String {
            match value {
                Yaml::Sequence(_) | Yaml::Mapping(_) | Yaml::Tagged(_) => {
                    serde_json::to_string(value).unwrap()
                }
                _ => serde_yaml::to_string(value)
                    .unwrap()
                    .trim_end_matches('\n')
                    .to_string(),
            }
        }
        fn mapping(&mut self, mapping: &Mapping, indent: usize) {
            let pad = " ".repeat(indent);
            for (key, value) in mapping {
                let key = Self::scalar(key);
                let c = self.choice();
                if c % 7 == 0 {
                    self.lines.push(format!(
                        "{}# about {key}\t(why)",
                        " ".repeat(indent.min(c as usize % 3 * 2))
                    ));
                }
                if c % 11 == 0 {
                    self.lines.push(String::new());
                }
                let trailing = if c % 5 == 0 { " " } else { "" };
                match value {
                    Yaml::Mapping(inner) if !inner.is_empty() => {
                        self.lines.push(format!("{pad}{key}:{trailing}"));
                        self.mapping(inner, indent + self.style.unit);
                    }
                    Yaml::Sequence(items) if !items.is_empty() => {
                        self.lines.push(format!("{pad}{key}:{trailing}"));
                        let item_pad = if self.style.indented_lists {
                            " ".repeat(indent + self.style.unit)
                        } else {
                            pad.clone()
                        };
                        for item in items {
                            self.lines
                                .push(format!("{item_pad}- {}", Self::scalar(item)));
                        }
                    }
                    Yaml::Mapping(_) => self.lines.push(format!("{pad}{key}: {{}}")),
                    Yaml::Sequence(_) => self.lines.push(format!("{pad}{key}: []")),
                    Yaml::Null => self.lines.push(match c % 3 {
                        0 => format!("{pad}{key}:{trailing}"),
                        1 => format!("{pad}{key}: null"),
                        _ => format!("{pad}{key}: ~"),
                    }),
                    scalar => {
                        let comment = if c % 4 == 0 { "  # as set" } else { "" };
                        self.lines
                            .push(format!("{pad}{key}: {}{comment}", Self::scalar(scalar)));
                    }
                }
            }
        }
    }
    let mut writer = Writer {
        style,
        lines: vec!["# master-config.yaml, kept by hand".to_string()],
        next: 0,
    };
    match config {
        Yaml::Mapping(mapping) if !mapping.is_empty() => writer.mapping(mapping, 0),
        _ => writer.lines.push("{}".to_string()),
    }
    let newline = if style.crlf { "\r\n" } else { "\n" };
    writer
        .lines
        .iter()
        .map(|l| format!("{l}{newline}"))
        .collect()
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn the_patcher_never_panics(text in arbitrary_master_text()) {
        for result in [
            config_patch::patch(PATH, &text),
            config_patch::unpatch(PATH, &text),
        ] {
            match result {
                Ok(patched) => {
                    // What it writes is YAML it can read again.
                    prop_assert!(config_patch::parse(PATH, &patched.text).is_ok(), "{}", patched.text);
                }
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(message.starts_with(PATH), "{}", message);
                    render(&e);
                }
            }
        }
        let _ = config_patch::is_patched(PATH, &text);
        if let Err(e) = ttl_durations(PATH, &text) {
            prop_assert!(e.to_string().starts_with(PATH), "{}", e);
        }
    }

    /// On a file with embedded etcd laid out by hand, the move to external etcd changes the
    /// etcdClientInfo URLs and CA and drops etcdConfig, and nothing else: every other line
    /// is still there, in order; the original is recognised as the one it came from.
    #[test]
    fn the_move_to_external_etcd_edits_a_hand_laid_out_file_in_its_etcd_lines_only(
        (config, _) in master_config(),
        style in hand_style(),
        urls in vec("https://[a-z][a-z0-9.-]{0,12}:[1-9][0-9]{1,4}", 1..4),
        at in 0usize..8,
    ) {
        // etcdClientInfo and etcdConfig as the 3.6 template writes them, among the keys.
        let embedded: Yaml = serde_yaml::from_str(
            "etcdClientInfo:\n  ca: ca-bundle.crt\n  certFile: master.etcd-client.crt\n  keyFile: master.etcd-client.key\n  urls:\n  - https://m1:4001\netcdConfig:\n  address: m1:4001\n  peerAddress: m1:7001\n  servingInfo:\n    bindAddress: 0.0.0.0:4001\n    certFile: etcd.server.crt\n  storageDirectory: /var/lib/origin/openshift.local.etcd\n",
        ).unwrap();
        let mut root = Mapping::new();
        let others = config.as_mapping().cloned().unwrap_or_default();
        let at = at.min(others.len());
        for (i, (k, v)) in others.into_iter().enumerate() {
            if i == at {
                root.extend(embedded.as_mapping().unwrap().clone());
            }
            if k.as_str().is_some_and(|k| k.starts_with("etcd")) {
                continue;
            }
            root.insert(k, v);
        }
        if !root.contains_key("etcdConfig") {
            root.extend(embedded.as_mapping().unwrap().clone());
        }
        let config = Yaml::Mapping(root);
        let text = render_by_hand(&config, &style);
        let ctx = || format!("{style:?}:\n{text}");
        prop_assert_eq!(&config_patch::parse(PATH, &text).expect("hand-written YAML"), &config, "{}", ctx());
        let moved = use_external(PATH, &text, &urls, EXTERNAL_ETCD_CA).expect("move");
        prop_assert!(moved.changed, "{}", ctx());
        let after = config_patch::parse(PATH, &moved.text).unwrap();
        let mut expected = config.clone();
        expected.as_mapping_mut().unwrap().shift_remove("etcdConfig");
        expected["etcdClientInfo"]["ca"] = Yaml::String(EXTERNAL_ETCD_CA.to_string());
        expected["etcdClientInfo"]["urls"] =
            Yaml::Sequence(urls.iter().map(|u| Yaml::String(u.clone())).collect());
        prop_assert_eq!(&after, &expected, "{}\nmoved:\n{}", ctx(), moved.text);
        // Every line outside etcdConfig and the changed values, in order.
        let mut kept = moved.text.lines();
        let mut in_etcd_config = false;
        for line in text.lines() {
            let top_level = !line.starts_with(' ') && !line.starts_with('#') && !line.is_empty();
            if top_level {
                in_etcd_config = line.starts_with("etcdConfig:");
            }
            let changed = line.trim_start().starts_with("ca: ")
                || line.contains("https://m1:4001");
            if in_etcd_config || changed {
                continue;
            }
            prop_assert!(kept.any(|l| l == line), "lost {:?}\n{}\nmoved:\n{}", line, ctx(), moved.text);
        }
        prop_assert!(is_embedded_original_of(PATH, &text, &moved.text), "{}", ctx());
        prop_assert!(!use_external(PATH, &moved.text, &urls, EXTERNAL_ETCD_CA).unwrap().changed);
    }

    /// On a file laid out by hand, the patch adds exactly the argument lines: every line of
    /// the original is still there, in order (but for a key line on the path that writes
    /// its null or `{}` on it), and the file reads as the intended config; unpatched,
    /// it is the original again, byte for byte where the arguments had a block of their own.
    #[test]
    fn patch_edits_a_hand_laid_out_file_in_exactly_the_argument_lines(
        (config, shape) in master_config(),
        style in hand_style(),
    ) {
        let text = render_by_hand(&config, &style);
        let ctx = || format!("{shape:?} {style:?}:\n{text}");
        prop_assert_eq!(&config_patch::parse(PATH, &text).expect("hand-written YAML"), &config, "{}", ctx());
        let patched = config_patch::patch(PATH, &text).expect("patch");
        prop_assert!(patched.changed, "{}", ctx());
        let via_serde = config_patch::patch(PATH, &serde_yaml::to_string(&config).unwrap()).unwrap();
        prop_assert_eq!(
            config_patch::parse(PATH, &patched.text).unwrap(),
            config_patch::parse(PATH, &via_serde.text).unwrap(),
            "{}\npatched:\n{}", ctx(), patched.text
        );
        let newline = if style.crlf { "\r\n" } else { "\n" };
        prop_assert_eq!(patched.text.matches('\n').count(), patched.text.matches(newline).count());
        // The original's lines, in order, within the patched file's.
        let mut kept = patched.text.lines();
        for line in text.lines() {
            let on_the_path = ["kubernetesMasterConfig:", "apiServerArguments:"]
                .iter()
                .any(|key| line.trim_start().starts_with(key));
            let inline_empty = on_the_path && !line.trim_end().ends_with(':');
            // A document that is only `{}` gets its first key in its place.
            if inline_empty || line == "{}" {
                continue;
            }
            prop_assert!(kept.any(|l| l == line), "lost {:?}\n{}\npatched:\n{}", line, ctx(), patched.text);
        }
        let added = patched.text.lines().count() - text.lines().count();
        prop_assert!(added >= 4, "{}", ctx());
        let undone = config_patch::unpatch(PATH, &patched.text).expect("unpatch");
        if matches!(shape, Arguments::Some) && arguments_of(&config).is_some_and(|a| !a.is_empty()) {
            prop_assert_eq!(&undone.text, &text, "{}", ctx());
        }
    }

    #[test]
    fn patch_is_idempotent_reversible_and_keeps_every_other_key((config, shape) in master_config()) {
        let text = serde_yaml::to_string(&config).expect("render");
        let ctx = || format!("{shape:?}:\n{text}");
        prop_assert!(!config_patch::is_patched(PATH, &text).expect("is_patched"), "{}", ctx());

        let patched = config_patch::patch(PATH, &text).expect("patch");
        prop_assert!(patched.changed, "{}", ctx());
        let after = config_patch::parse(PATH, &patched.text).expect("patched YAML");

        // The storage arguments are there, with exactly the wanted values.
        let args = arguments_of(&after).expect("arguments after the patch");
        for (key, value) in STORAGE_ARGUMENTS {
            prop_assert_eq!(
                args.get(key),
                Some(&Yaml::Sequence(vec![Yaml::String(value.to_string())])),
                "{}", ctx()
            );
        }
        // Every other key keeps its value and its place.
        let mut expected = config.clone();
        let root = expected.as_mapping_mut().expect("root");
        let master = root
            .entry("kubernetesMasterConfig".into())
            .or_insert(Yaml::Mapping(Mapping::new()));
        let master = master.as_mapping_mut().expect("master section");
        let slot = master.entry("apiServerArguments".into()).or_insert(Yaml::Null);
        if slot.is_null() {
            *slot = Yaml::Mapping(Mapping::new());
        }
        prop_assert_eq!(&without_storage(&after), &expected, "{}", ctx());
        let (after_root, expected_root) = (after.as_mapping().unwrap(), expected.as_mapping().unwrap());
        prop_assert_eq!(keys_of(after_root), keys_of(expected_root), "{}", ctx());
        let mut expected_args = keys_of(arguments_of(&expected).unwrap());
        expected_args.extend(STORAGE_ARGUMENTS.iter().map(|(k, _)| Yaml::String(k.to_string())));
        prop_assert_eq!(keys_of(args), expected_args, "{}", ctx());

        // Idempotent: patching again changes nothing, not even the text.
        let again = config_patch::patch(PATH, &patched.text).expect("patch again");
        prop_assert!(!again.changed, "{}", ctx());
        prop_assert_eq!(&again.text, &patched.text);
        prop_assert!(config_patch::is_patched(PATH, &patched.text).expect("is_patched"));

        // Unpatch restores the original (arguments it leaves empty are null, as
        // openshift-ansible writes them: the same config for OpenShift), and is idempotent too.
        let undone = config_patch::unpatch(PATH, &patched.text).expect("unpatch");
        prop_assert!(undone.changed, "{}", ctx());
        let restored = config_patch::parse(PATH, &undone.text).expect("unpatched YAML");
        let mut original = expected.clone();
        if arguments_of(&original).is_some_and(Mapping::is_empty) {
            original["kubernetesMasterConfig"]["apiServerArguments"] = Yaml::Null;
        }
        if matches!(shape, Arguments::Some | Arguments::Null) {
            prop_assert_eq!(&original, &config, "{}", ctx());
        }
        prop_assert_eq!(&restored, &original, "{}\nunpatched:\n{}", ctx(), undone.text);
        let restored_root = restored.as_mapping().unwrap();
        prop_assert_eq!(keys_of(restored_root), keys_of(original.as_mapping().unwrap()), "{}", ctx());
        let twice = config_patch::unpatch(PATH, &undone.text).expect("unpatch again");
        prop_assert!(!twice.changed, "{}", ctx());
    }
}

// ------------------------------------------------------------------------------------------
// Lease paging: a model of etcd's limited range reads
// ------------------------------------------------------------------------------------------

/// etcd's answer to a range read `[from, end)` (`end` = `\0`: to the end of the keyspace)
/// with a limit: the first `limit` keys and whether there are more.
fn model_range(
    keys: &BTreeSet<Vec<u8>>,
    from: &[u8],
    end: &[u8],
    limit: usize,
) -> (Vec<Vec<u8>>, bool) {
    let in_range: Vec<&Vec<u8>> = keys
        .range(from.to_vec()..)
        .take_while(|k| end == [0] || k.as_slice() < end)
        .collect();
    let more = in_range.len() > limit;
    (in_range.into_iter().take(limit).cloned().collect(), more)
}

/// Bytes that make neighbours of a prefix: `/`, its range end `0`, `.` just below `/`,
/// and the extremes.
fn key_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            Just(b'/'),
            Just(b'0'),
            Just(b'.'),
            Just(0u8),
            Just(0xffu8),
            Just(b'X'),
            any::<u8>()
        ],
        0..6,
    )
}

/// A prefix (with or without a trailing `/`, sometimes ending in 0xff-adjacent text) and keys
/// inside and around it.
fn paging_case() -> impl Strategy<Value = (String, Vec<Vec<u8>>, usize)> {
    (
        prop_oneof![
            "/[a-z]{1,3}",
            "/[a-z]{1,2}/[a-z~]{1,3}",
            Just("/ÿ".to_string())
        ],
        any::<bool>(),
        vec((any::<bool>(), key_bytes()), 0..80),
        1usize..40,
    )
        .prop_map(|(prefix, slash, tails, page)| {
            let base = prefix.trim_end_matches('/').to_string();
            let keys = tails
                .into_iter()
                .map(|(inside, tail)| {
                    let mut key = base.as_bytes().to_vec();
                    if inside {
                        key.push(b'/');
                    }
                    key.extend(tail);
                    key
                })
                .collect();
            let prefix = if slash { format!("{base}/") } else { base };
            (prefix, keys, page)
        })
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn paging_covers_every_key_under_the_prefix_exactly_once(
        (prefix, keys, page_size) in paging_case(),
        noise in vec(key_bytes(), 0..10),
    ) {
        let mut all: BTreeSet<Vec<u8>> = keys.into_iter().collect();
        all.extend(noise);
        let mut under = prefix.trim_end_matches('/').as_bytes().to_vec();
        under.push(b'/');
        let expected: Vec<Vec<u8>> = all.iter().filter(|k| k.starts_with(&under)).cloned().collect();

        let (start, end) = prefix_range(&prefix);
        let mut cursor = PageCursor::new(start, end);
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let mut pages = 0;
        while let Some((from, end)) = cursor.range() {
            let (page, more) = model_range(&all, from, end, page_size);
            prop_assert!(page.len() <= page_size);
            pages += 1;
            prop_assert!(pages <= expected.len() / page_size + 2, "too many pages");
            let last = page.last().cloned();
            seen.extend(page);
            cursor.advance(last.as_deref(), more);
        }
        // In key order, each once, and only keys under `prefix/`.
        prop_assert_eq!(seen, expected);
    }
}

// ------------------------------------------------------------------------------------------
// lease.attach against a real etcd member
// ------------------------------------------------------------------------------------------

async fn connect(lab: &TestLab) -> Client {
    let layout = LabLayout::new(&lab.dir);
    let state = LabState::load(&layout).expect("lab state");
    let tls = lab_tls(&layout, &state).expect("lab TLS");
    v3::connect(&state.client_urls(), tls.as_ref(), Duration::from_secs(10))
        .await
        .expect("v3 connect")
}

/// One attach case: keys inside `prefix/` (some already on another lease) and neighbours
/// outside it, the options to page and batch with.
#[derive(Debug, Clone)]
struct AttachCase {
    tail: String,
    slash: bool,
    inside: BTreeMap<Vec<u8>, bool>,
    outside: BTreeSet<Vec<u8>>,
    page_size: usize,
    batch_size: usize,
    concurrency: usize,
    re_lease: bool,
}

fn attach_case() -> impl Strategy<Value = AttachCase> {
    (
        "[a-z]{1,3}",
        any::<bool>(),
        btree_map(key_bytes(), prop::bool::weighted(0.15), 0..60),
        btree_set(
            prop_oneof![
                key_bytes().prop_map(|t| [b"X".to_vec(), t].concat()),
                key_bytes().prop_map(|t| [b"0".to_vec(), t].concat()),
                key_bytes().prop_map(|t| [b".".to_vec(), t].concat()),
                Just(Vec::new()),
            ],
            0..10,
        ),
        (1usize..30, 1usize..140, 1usize..6, any::<bool>()),
    )
        .prop_map(
            |(tail, slash, inside, outside, (page_size, batch_size, concurrency, re_lease))| {
                AttachCase {
                    tail,
                    slash,
                    inside,
                    outside,
                    page_size,
                    batch_size,
                    concurrency,
                    re_lease,
                }
            },
        )
}

/// Every key under `root` with (value, lease, version), read back from etcd.
async fn keys_under(client: &Client, root: &[u8]) -> BTreeMap<Vec<u8>, (Vec<u8>, i64, i64)> {
    let mut end = root.to_vec();
    *end.last_mut().expect("root") += 1;
    let answer = client
        .kv_client()
        .get(root.to_vec(), Some(GetOptions::new().with_range(end)))
        .await
        .expect("get");
    answer
        .kvs()
        .iter()
        .map(|kv| {
            (
                kv.key().to_vec(),
                (kv.value().to_vec(), kv.lease(), kv.version()),
            )
        })
        .collect()
}

#[test]
fn lease_attach_on_real_etcd_leases_each_key_under_the_prefix_exactly_once() {
    let lab = TestLab::up(&["--members", "1", "--keys", "0"]);
    let rt = runtime();
    let client = rt.block_on(connect(&lab));
    let counter = AtomicUsize::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        max_shrink_iters: 16,
        ..config(24)
    });
    let outcome = runner.run(&attach_case(), |case| {
        // Each case (shrinking included) works in a namespace of its own.
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let root = format!("/prop{n}/");
        let base = format!("{root}{}", case.tail);
        let key = |tail: &[u8], inside: bool| -> Vec<u8> {
            let mut key = base.as_bytes().to_vec();
            if inside {
                key.push(b'/');
            }
            key.extend_from_slice(tail);
            key
        };
        let prefix = if case.slash {
            format!("{base}/")
        } else {
            base.clone()
        };
        rt.block_on(async {
            let other = client
                .lease_client()
                .grant(3600, None)
                .await
                .expect("grant")
                .id();
            let mut puts: Vec<TxnOp> = Vec::new();
            for (tail, leased) in &case.inside {
                let k = key(tail, true);
                let lease = if *leased { other } else { 0 };
                puts.push(TxnOp::put(
                    k.clone(),
                    k,
                    Some(PutOptions::new().with_lease(lease)),
                ));
            }
            for tail in &case.outside {
                let k = key(tail, false);
                puts.push(TxnOp::put(k.clone(), k, None));
            }
            for chunk in puts.chunks(100) {
                client
                    .kv_client()
                    .txn(Txn::new().and_then(chunk.to_vec()))
                    .await
                    .expect("seed keys");
            }
            let options = AttachOptions {
                re_lease: case.re_lease,
                page_size: case.page_size,
                batch_size: case.batch_size,
                concurrency: case.concurrency,
            };
            let report = attach(
                &client,
                &prefix,
                3600,
                &options,
                &CancellationToken::new(),
                &mut |_, _| {},
            )
            .await
            .map_err(|e| TestCaseError::fail(format!("attach: {e}")))?;

            // The key the prefix names (an empty outside tail) belongs to it too.
            let bare = case.outside.contains(&Vec::new());
            let mut wanted: BTreeSet<Vec<u8>> = case
                .inside
                .iter()
                .filter(|(_, leased)| case.re_lease || !**leased)
                .map(|(tail, _)| key(tail, true))
                .collect();
            if bare {
                wanted.insert(key(&[], false));
            }
            let keys = case.inside.len() + usize::from(bare);
            prop_assert_eq!(report.keys, keys as u64);
            prop_assert_eq!(report.attached, wanted.len() as u64);
            prop_assert_eq!(report.skipped, (keys - wanted.len()) as u64);

            // From etcd itself: every key is still there with its value; each wanted key was
            // written exactly once (version 2) onto the new lease; nothing else was touched.
            let stored = keys_under(&client, root.as_bytes()).await;
            let mut all: BTreeSet<Vec<u8>> = case.inside.keys().map(|t| key(t, true)).collect();
            all.extend(case.outside.iter().map(|t| key(t, false)));
            prop_assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), all);
            for (k, (value, lease, version)) in &stored {
                let shown = String::from_utf8_lossy(k);
                prop_assert_eq!(value, k, "value of {}", shown);
                if wanted.contains(k) {
                    prop_assert_eq!((*lease, *version), (report.lease, 2), "{}", shown);
                } else {
                    let leased = k.starts_with(format!("{base}/").as_bytes())
                        && case.inside[&k[base.len() + 1..]];
                    let expected_lease = if leased { other } else { 0 };
                    prop_assert_eq!((*lease, *version), (expected_lease, 1), "{}", shown);
                }
            }
            // The lease holds exactly the wanted keys, each once.
            let ttl = client
                .lease_client()
                .time_to_live(
                    report.lease,
                    Some(etcd_client::LeaseTimeToLiveOptions::new().with_keys()),
                )
                .await
                .expect("time to live");
            let mut held: Vec<Vec<u8>> = ttl.keys().to_vec();
            held.sort();
            prop_assert_eq!(held, wanted.into_iter().collect::<Vec<_>>());
            prop_assert_eq!(ttl.granted_ttl(), 3600);
            Ok(())
        })
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
