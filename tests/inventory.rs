//! Inventory reading: INI and YAML files as openshift-ansible users write them, precedence,
//! ranges, defaults, overrides, and errors that point at the offending line.

use crate::support::command::render;
use miette::Diagnostic;
use runbook::inventory::defaults::{DefaultValue, VARIABLES};
use runbook::inventory::{Inventory, InventoryError};
use serde_json::json;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventory")
        .join(name)
}

fn load(name: &str) -> Inventory {
    load_with(name, &[])
}

fn load_with(name: &str, overrides: &[(&str, &str)]) -> Inventory {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match Inventory::load(&fixture(name), &overrides) {
        Ok(inv) => inv,
        Err(e) => panic!("{name}: {}", render(&e)),
    }
}

fn names(hosts: &[&runbook::inventory::Host]) -> Vec<String> {
    hosts.iter().map(|h| h.name.clone()).collect()
}

/// A malformed inventory written to a temporary file, and the error loading it gives.
struct Broken {
    _dir: tempfile::TempDir,
    path: PathBuf,
    text: String,
    error: InventoryError,
    report: String,
}

fn broken(file_name: &str, text: &str) -> Broken {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(file_name);
    std::fs::write(&path, text).expect("write inventory");
    let error = match Inventory::load(&path, &[]) {
        Ok(_) => panic!("{file_name} loaded although it is malformed:\n{text}"),
        Err(e) => e,
    };
    let report = render(&error);
    Broken {
        _dir: dir,
        path,
        text: text.to_string(),
        error,
        report,
    }
}

impl Broken {
    /// Asserts the report names the file, shows `line:col`, and carries `help`.
    fn shows(&self, line_col: &str, help: &str) {
        let file = self.path.display().to_string();
        let r = &self.report;
        assert!(
            r.contains(&format!("[{file}:{line_col}]")),
            "no [{file}:{line_col}] in:\n{r}"
        );
        assert!(r.contains(help), "no help {help:?} in:\n{r}");
    }

    /// The source text under each label, in order.
    fn labelled(&self) -> Vec<&str> {
        self.error
            .labels()
            .expect("labels")
            .map(|l| &self.text[l.offset()..l.offset() + l.len()])
            .collect()
    }
}

// ---------------------------------------------------------------- formats

#[test]
fn openshift_ini_inventory() {
    let inv = load("openshift.ini");
    assert_eq!(inv.source(), Some(fixture("openshift.ini").as_path()));
    assert_eq!(
        inv.group_names(),
        vec![
            "all",
            "ungrouped",
            "OSEv3",
            "masters",
            "etcd",
            "lb",
            "nodes"
        ]
    );
    let hosts = names(&inv.hosts());
    assert_eq!(
        hosts,
        vec![
            "master1.example.com",
            "master2.example.com",
            "master3.example.com",
            "etcd1.example.com",
            "etcd2.example.com",
            "etcd3.example.com",
            "lb.example.com",
            "node01.example.com",
            "node02.example.com",
            "node03.example.com",
            "infra-a.example.com",
            "infra-b.example.com",
        ]
    );
    assert_eq!(names(&inv.group("all").unwrap()), hosts);
    assert_eq!(names(&inv.group("OSEv3").unwrap()), hosts);
    assert!(inv.group("ungrouped").unwrap().is_empty());
    assert_eq!(
        names(&inv.group("etcd").unwrap()),
        vec![
            "etcd1.example.com",
            "etcd2.example.com",
            "etcd3.example.com"
        ]
    );
    // A host listed in two groups appears once, at its first place.
    assert_eq!(
        names(&inv.group("nodes").unwrap()),
        vec![
            "master1.example.com",
            "master2.example.com",
            "master3.example.com",
            "node01.example.com",
            "node02.example.com",
            "node03.example.com",
            "infra-a.example.com",
            "infra-b.example.com",
        ]
    );
    assert!(inv.group("nosuch").is_none());
    assert!(inv.has_group("lb") && !inv.has_group("nosuch"));
    assert_eq!(
        inv.children("OSEv3").unwrap(),
        vec!["masters", "etcd", "lb", "nodes"]
    );
    assert_eq!(
        inv.groups_of("master2.example.com"),
        vec!["all", "OSEv3", "masters", "nodes"]
    );

    let etcd3 = inv.host("etcd3.example.com").unwrap();
    assert_eq!(
        etcd3.var_str("runbook_service_command").as_deref(),
        Some("/lab/bin/lab-service '/tmp/my lab/hosts/etcd-3' {action} {service}")
    );
    assert_eq!(etcd3.var_str("ansible_host").as_deref(), Some("10.0.0.13"));
    assert_eq!(etcd3.var("etcd_client_port"), Some(&json!(2379)));
    assert_eq!(etcd3.var_str("ansible_ssh_user").as_deref(), Some("root"));
    assert_eq!(
        etcd3.var_str("runbook_command_timeout").as_deref(),
        Some("5m")
    );
    // Python literals are typed (`"3.7"` is a string literal); `false` is no literal: text.
    assert_eq!(etcd3.var("openshift_release"), Some(&json!("3.7")));
    assert_eq!(etcd3.var("containerized"), Some(&json!("false")));
    assert_eq!(etcd3.var_bool("containerized").unwrap(), Some(false));
    assert_eq!(etcd3.var("openshift_master_api_port"), Some(&json!(8443)));
    assert_eq!(etcd3.var_bool("ansible_become").unwrap(), Some(true));

    let m1 = inv.host("master1.example.com").unwrap();
    assert_eq!(m1.var("openshift_schedulable"), Some(&json!("false")));
    assert_eq!(
        m1.var("openshift_node_labels"),
        Some(&json!({"region": "infra"}))
    );
    let infra = inv.host("infra-b.example.com").unwrap();
    assert_eq!(infra.var("ansible_port"), Some(&json!(2222)));
    assert_eq!(
        infra.var("openshift_node_labels"),
        Some(&json!({"region": "infra"}))
    );
    assert_eq!(inv.var("runbook_command_timeout"), Some(&json!("5m")));
    assert_eq!(
        inv.var("ansible_ssh_user"),
        None,
        "OSEv3 vars are not all vars"
    );
}

#[test]
fn yaml_twin_parses_to_the_same_inventory() {
    let ini = load("openshift.ini");
    let yaml = load("openshift.yml");
    assert_eq!(ini.group_names(), yaml.group_names());
    assert_eq!(names(&ini.hosts()), names(&yaml.hosts()));
    for group in ini.group_names() {
        assert_eq!(
            names(&ini.group(group).unwrap()),
            names(&yaml.group(group).unwrap()),
            "group {group}"
        );
        assert_eq!(
            ini.group_vars(group),
            yaml.group_vars(group),
            "vars of {group}"
        );
        assert_eq!(
            ini.children(group),
            yaml.children(group),
            "children of {group}"
        );
    }
    for (a, b) in ini.hosts().iter().zip(yaml.hosts()) {
        assert_eq!(a.vars, b.vars, "vars of {}", a.name);
        assert_eq!(ini.groups_of(&a.name), yaml.groups_of(&b.name));
    }
    assert_eq!(
        ini.var("runbook_command_timeout"),
        yaml.var("runbook_command_timeout")
    );
}

#[test]
fn yaml_is_chosen_by_content_without_an_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    std::fs::copy(fixture("openshift.yml"), &path).unwrap();
    let inv = Inventory::load(&path, &[]).unwrap();
    assert_eq!(inv.hosts().len(), 12);
    assert_eq!(
        inv.host("etcd1.example.com")
            .unwrap()
            .var_str("etcd_ip")
            .as_deref(),
        Some("10.0.0.11")
    );
}

#[test]
fn ini_value_typing() {
    let inv = load("typing.ini");
    let h = inv.host("h").unwrap();
    // As ansible-inventory prints them: Python literals typed, everything else text; in a
    // host line shell quotes are gone before the literal is read (`quoted_int="42"` is 42).
    let expect = [
        ("int", json!(42)),
        ("neg", json!(-7)),
        ("padded", json!("0644")),
        ("float", json!(1.5)),
        ("t1", json!("true")),
        ("t2", json!(true)),
        ("f1", json!("false")),
        ("f2", json!(false)),
        ("y", json!("yes")),
        ("n", json!("no")),
        ("quoted_int", json!(42)),
        ("quoted_bool", json!("true")),
        ("text", json!("hello")),
        ("spaced", json!("a b  c")),
        ("empty", json!("")),
        ("url", json!("http://x/y?a=b")),
        ("g_int", json!(8443)),
        ("g_quoted", json!("8443")),
        ("g_text", json!("some text here   # a comment")),
        ("g_list", json!(["a", "b"])),
    ];
    for (name, value) in expect {
        assert_eq!(h.var(name), Some(&value), "{name}");
    }
    assert_eq!(h.var_str("int").as_deref(), Some("42"));
    assert_eq!(h.var_str("t1").as_deref(), Some("true"));
    assert_eq!(h.var_bool("t1").unwrap(), Some(true));
    assert_eq!(h.var_bool("y").unwrap(), Some(true));
    assert_eq!(h.var_int("quoted_int").unwrap(), Some(42));
    assert_eq!(h.var_bool("quoted_bool").unwrap(), Some(true));
    let e = h.var_bool("text").unwrap_err();
    assert!(matches!(e, InventoryError::BadVarType { .. }));
    assert!(
        e.to_string()
            .contains("host h: text=hello is not true or false"),
        "{e}"
    );
    assert!(h.var_int("spaced").is_err());
    assert_eq!(h.var_int("nosuch").unwrap(), None);

    // A host before any header is ungrouped.
    assert_eq!(
        names(&inv.group("ungrouped").unwrap()),
        vec!["lonely.example.com"]
    );
    assert_eq!(
        inv.groups_of("lonely.example.com"),
        vec!["all", "ungrouped"]
    );
}

// ---------------------------------------------------------------- precedence, overrides

#[test]
fn precedence_all_parent_child_host() {
    let inv = load("precedence.ini");
    let h1 = inv.host("h1").unwrap();
    assert_eq!(h1.var_str("level_all").as_deref(), Some("all"));
    assert_eq!(h1.var_str("level_parent").as_deref(), Some("parent"));
    assert_eq!(h1.var_str("level_child").as_deref(), Some("child"));
    assert_eq!(h1.var_str("level_host").as_deref(), Some("host"));
    assert_eq!(h1.var_str("level_cli").as_deref(), Some("host"));
    let h2 = inv.host("h2").unwrap();
    assert_eq!(h2.var_str("level_host").as_deref(), Some("child"));
    assert_eq!(h2.var_str("level_cli").as_deref(), Some("all"));
    assert_eq!(names(&inv.group("parent").unwrap()), vec!["h1", "h2"]);
}

#[test]
fn precedence_between_sibling_groups() {
    let inv = load("precedence.ini");
    // Same depth and priority: the group whose name sorts last wins.
    assert_eq!(
        inv.host("h1").unwrap().var_str("sibling").as_deref(),
        Some("bravo")
    );
    // ansible_group_priority orders groups of the same depth, higher wins.
    assert_eq!(
        inv.host("h2").unwrap().var_str("sibling").as_deref(),
        Some("delta")
    );
}

#[test]
fn overrides_beat_everything_and_are_text() {
    let inv = load_with(
        "precedence.ini",
        &[
            ("level_cli", "cli"),
            ("etcd_client_port", "4001"),
            ("ansible_host_key_checking", "no"),
        ],
    );
    for h in inv.hosts() {
        assert_eq!(h.var_str("level_cli").as_deref(), Some("cli"), "{}", h.name);
        // As Ansible's `-e name=value`: text, which number readers accept.
        assert_eq!(h.var("etcd_client_port"), Some(&json!("4001")));
        assert_eq!(h.var_int("etcd_client_port").unwrap(), Some(4001));
        assert_eq!(
            h.var_bool("ansible_host_key_checking").unwrap(),
            Some(false)
        );
    }
    assert_eq!(inv.var("level_cli"), Some(&json!("cli")));
    assert_eq!(inv.var("level_all"), Some(&json!("all")));
    assert_eq!(inv.var("nosuch"), None);

    let inv = load_with("openshift.ini", &[("etcd_conf_dir", "/opt/etcd")]);
    let etcd1 = inv.host("etcd1.example.com").unwrap();
    assert_eq!(
        etcd1.var_str("etcd_ca_file").as_deref(),
        Some("/opt/etcd/ca.crt")
    );
}

// ---------------------------------------------------------------- defaults

#[test]
fn defaults_fill_what_the_inventory_leaves_out() {
    let inv = load("openshift.ini");
    let lb = inv.host("lb.example.com").unwrap();
    assert_eq!(lb.var_str("ansible_connection").as_deref(), Some("ssh"));
    assert_eq!(lb.var("ansible_port"), Some(&json!(22)));
    assert_eq!(
        lb.var_bool("ansible_host_key_checking").unwrap(),
        Some(true)
    );
    assert_eq!(lb.var_int("ansible_ssh_timeout").unwrap(), Some(10));
    assert_eq!(
        lb.var_str("ansible_host").as_deref(),
        Some("lb.example.com")
    );
    assert_eq!(lb.var_str("etcd_ip").as_deref(), Some("lb.example.com"));
    assert_eq!(lb.var_str("etcd_conf_dir").as_deref(), Some("/etc/etcd"));
    assert_eq!(
        lb.var_str("etcd_ca_file").as_deref(),
        Some("/etc/etcd/ca.crt")
    );
    assert_eq!(
        lb.var_str("etcd_data_dir").as_deref(),
        Some("/var/lib/etcd")
    );
    assert_eq!(lb.var_str("etcd_service").as_deref(), Some("etcd"));
    assert_eq!(lb.var_str("etcd_url_scheme").as_deref(), Some("https"));
    assert_eq!(
        lb.var_str("openshift_master_config_dir").as_deref(),
        Some("/etc/origin/master")
    );
    assert_eq!(
        lb.var_str("openshift_service_type").as_deref(),
        Some("atomic-openshift")
    );
    assert_eq!(lb.var("runbook_service_command"), None);
    assert_eq!(lb.var("runbook_ssh_known_hosts_file"), None);
    // ansible_ssh_user (from OSEv3:vars) is the fallback for ansible_user.
    assert_eq!(lb.var_str("ansible_user").as_deref(), Some("root"));

    // Derived defaults follow the host's own vars after precedence.
    let etcd2 = inv.host("etcd2.example.com").unwrap();
    assert_eq!(etcd2.var_str("etcd_ip").as_deref(), Some("10.0.0.12"));
    assert_eq!(
        etcd2.var_str("etcd_hostname").as_deref(),
        Some("etcd2.example.com")
    );
    let derived = [
        ("etcd_conf_file", "/srv/etcd/etcd.conf"),
        ("etcd_ca_file", "/srv/etcd/ca.crt"),
        ("etcd_cert_file", "/srv/etcd/server.crt"),
        ("etcd_key_file", "/srv/etcd/server.key"),
        ("etcd_peer_ca_file", "/srv/etcd/ca.crt"),
        ("etcd_peer_cert_file", "/srv/etcd/peer.crt"),
        ("etcd_peer_key_file", "/srv/etcd/peer.key"),
    ];
    for (name, value) in derived {
        assert_eq!(etcd2.var_str(name).as_deref(), Some(value), "{name}");
    }
    // Every variable of the table with a default has a value on every host.
    for host in inv.hosts() {
        for spec in VARIABLES {
            // An older name's value (`{ansible_ssh_user}`) is no default of its own.
            let alias = matches!(spec.default,
                DefaultValue::Template(t) if t.starts_with('{') && t.rfind('{') == Some(0) && t.ends_with('}'));
            let has_default = !matches!(spec.default, DefaultValue::None) && !alias;
            if has_default {
                assert!(
                    host.var(spec.name).is_some(),
                    "{} lacks {}",
                    host.name,
                    spec.name
                );
            }
        }
    }
}

#[test]
fn explicit_values_beat_derived_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.ini");
    std::fs::write(
        &path,
        "[etcd]\ne1 etcd_ca_file=/pki/ca.pem ansible_user=core ansible_ssh_user=root\n",
    )
    .unwrap();
    let inv = Inventory::load(&path, &[]).unwrap();
    let e1 = inv.host("e1").unwrap();
    assert_eq!(e1.var_str("etcd_ca_file").as_deref(), Some("/pki/ca.pem"));
    assert_eq!(
        e1.var_str("etcd_peer_ca_file").as_deref(),
        Some("/etc/etcd/ca.crt")
    );
    assert_eq!(e1.var_str("ansible_user").as_deref(), Some("core"));
}

#[test]
fn implicit_localhost() {
    let inv = Inventory::implicit_localhost(&[("etcd_client_port".into(), "12379".into())]);
    assert_eq!(inv.source(), None);
    assert_eq!(names(&inv.hosts()), vec!["localhost"]);
    assert_eq!(names(&inv.group("all").unwrap()), vec!["localhost"]);
    assert!(inv.group("ungrouped").unwrap().is_empty());
    let lh = inv.host("localhost").unwrap();
    assert_eq!(lh.var_str("ansible_connection").as_deref(), Some("local"));
    assert_eq!(lh.var("etcd_client_port"), Some(&json!("12379")));
    assert_eq!(lh.var_str("etcd_ip").as_deref(), Some("localhost"));
    assert_eq!(inv.var("etcd_client_port"), Some(&json!("12379")));

    let inv = Inventory::implicit_localhost(&[("ansible_connection".into(), "ssh".into())]);
    let lh = inv.host("localhost").unwrap();
    assert_eq!(lh.var_str("ansible_connection").as_deref(), Some("ssh"));
}

// ---------------------------------------------------------------- ranges

#[test]
fn ranges_in_ini_and_yaml_host_names() {
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("r.ini");
    std::fs::write(&ini, "[r]\nn[08:10].lab\nx[a:c]\ns[1:7:3]-[1:2] rack=r1\n").unwrap();
    let yml = dir.path().join("r.yaml");
    std::fs::write(
        &yml,
        "all:\n  children:\n    r:\n      hosts:\n        n[08:10].lab:\n        x[a:c]:\n        s[1:7:3]-[1:2]:\n          rack: r1\n",
    )
    .unwrap();
    let expected = vec![
        "n08.lab", "n09.lab", "n10.lab", "xa", "xb", "xc", "s1-1", "s1-2", "s4-1", "s4-2", "s7-1",
        "s7-2",
    ];
    for path in [&ini, &yml] {
        let inv = Inventory::load(path, &[]).unwrap();
        assert_eq!(
            names(&inv.group("r").unwrap()),
            expected,
            "{}",
            path.display()
        );
        assert_eq!(
            inv.host("s7-2").unwrap().var_str("rack").as_deref(),
            Some("r1")
        );
        assert_eq!(inv.host("xb").unwrap().var("rack"), None);
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn missing_file_is_a_read_error() {
    let err = Inventory::load(Path::new("/nonexistent/inventory.ini"), &[]).unwrap_err();
    assert!(matches!(err, InventoryError::Read { .. }), "{err:?}");
    let report = render(&err);
    assert!(report.contains("/nonexistent/inventory.ini"), "{report}");
    assert!(report.contains("check the path given to -i"), "{report}");
}

#[test]
fn header_without_closing_bracket() {
    let b = broken("inv.ini", "# hosts\n[masters]\nm1\n[etcd\ne1\n");
    match b.error.innermost() {
        InventoryError::MalformedSection(e) => assert_eq!(e.line, 4),
        e => panic!("wrong error {e:?}"),
    }
    b.shows(
        "4:1",
        "a section header is `[group]`, `[group:vars]` or `[group:children]`",
    );
    assert!(b.report.contains("missing `]`"), "{}", b.report);
    assert_eq!(b.error.line(), Some(4));
}

#[test]
fn header_with_trailing_text_or_bad_name() {
    let b = broken("inv.ini", "[etcd] e1\n");
    assert!(matches!(b.error.innermost(), InventoryError::MalformedSection(e) if e.line == 1));
    assert_eq!(b.labelled(), vec!["e1"]);
    b.shows("1:8", "alone on its line");

    let b = broken("inv.ini", "[]\n");
    assert!(matches!(b.error.innermost(), InventoryError::MalformedSection(e) if e.line == 1));

    let b = broken("inv.ini", "[my group]\n");
    assert!(matches!(b.error.innermost(), InventoryError::MalformedSection(e) if e.line == 1));
    b.shows("1:4", "group names have no spaces");
}

#[test]
fn unknown_section_kind() {
    let b = broken("inv.ini", "[etcd]\ne1\n\n[etcd:weird]\nx=1\n");
    match b.error.innermost() {
        InventoryError::UnknownSectionKind(e) => {
            assert_eq!((e.line, &*e.group, &*e.kind), (4, "etcd", "weird"));
        }
        e => panic!("wrong error {e:?}"),
    }
    assert_eq!(b.labelled(), vec!["weird"]);
    b.shows(
        "4:7",
        "use `[etcd]` for hosts, `[etcd:vars]` for variables or `[etcd:children]` for child groups",
    );
}

#[test]
fn bad_ranges() {
    let cases = [
        (
            "etcd[3:1].example.com",
            "comes after",
            "write the smaller end first",
        ),
        (
            "etcd[a:3].example.com",
            "neither a number range nor a letter range",
            "both ends are numbers",
        ),
        ("etcd[1:].example.com", "no end", "give the range an end"),
        (
            "etcd[1:3.example.com",
            "never closed",
            "close the range with `]`",
        ),
    ];
    for (pattern, reason, help) in cases {
        let b = broken("inv.ini", &format!("[etcd]\n  {pattern} etcd_ip=1.2.3.4\n"));
        match b.error.innermost() {
            InventoryError::BadRange(e) => {
                assert_eq!((e.line, &*e.pattern), (2, pattern));
            }
            e => panic!("{pattern}: wrong error {e:?}"),
        }
        assert!(b.labelled()[0].starts_with('['), "{:?}", b.labelled());
        b.shows("2:7", help);
        assert!(b.report.contains(reason), "{}", b.report);
    }
}

#[test]
fn host_var_without_equals() {
    let b = broken(
        "inv.ini",
        "[etcd]\netcd1.example.com ansible_host=10.0.0.1\netcd2.example.com ansible_host 10.0.0.2\n",
    );
    match b.error.innermost() {
        InventoryError::BadHostVar(e) => {
            assert_eq!(
                (e.line, &*e.host, &*e.token),
                (3, "etcd2.example.com", "ansible_host")
            );
        }
        e => panic!("wrong error {e:?}"),
    }
    assert_eq!(b.labelled(), vec!["ansible_host"]);
    b.shows("3:19", "after the host name come variables as `name=value`");
    assert!(b.report.contains("expected name=value"), "{}", b.report);
}

#[test]
fn host_var_with_unclosed_quote() {
    let b = broken("inv.ini", "[etcd]\ne1 cmd=\"/bin/svc {action}\n");
    assert!(
        matches!(b.error.innermost(), InventoryError::BadHostVar(e) if e.line == 2),
        "{:?}",
        b.error
    );
    b.shows("2:8", "quote a value that has spaces");
    assert!(b.report.contains("never closed"), "{}", b.report);
}

#[test]
fn spans_are_byte_offsets_in_non_ascii_text() {
    let text = "# Überblick: Knoten für etcd\n[etcd]\nknötchen-ü etcd_ip=1 ansible_host\n";
    let b = broken("inv.ini", text);
    assert!(
        matches!(b.error.innermost(), InventoryError::BadHostVar(e) if e.line == 3),
        "{:?}",
        b.error
    );
    assert_eq!(b.labelled(), vec!["ansible_host"]);
    // miette counts columns in bytes: "knötchen-ü etcd_ip=1 " is 23 bytes.
    b.shows("3:24", "name=value");

    let b = broken("inv.ini", "[ëtcd:wéird]\n");
    assert_eq!(b.labelled(), vec!["wéird"]);
}

#[test]
fn group_var_line_without_equals() {
    let b = broken(
        "inv.ini",
        "[etcd:vars]\netcd_conf_dir=/srv\n  etcd_data_dir /var/lib/etcd\n",
    );
    assert!(
        matches!(b.error.innermost(), InventoryError::BadGroupVar(e) if e.line == 3),
        "{:?}",
        b.error
    );
    b.shows(
        "3:3",
        "each line of a `[group:vars]` section is `name=value`",
    );
}

#[test]
fn child_group_line_with_spaces() {
    let b = broken("inv.ini", "[OSEv3:children]\nmasters\netcd nodes\n");
    assert!(
        matches!(b.error.innermost(), InventoryError::BadChildGroup(e) if e.line == 3),
        "{:?}",
        b.error
    );
    b.shows("3:1", "one group name, with no spaces");
}

#[test]
fn group_loops_are_refused() {
    let b = broken(
        "inv.ini",
        "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n",
    );
    match b.error.innermost() {
        InventoryError::GroupLoop(e) => {
            assert_eq!((e.line, &*e.group, &*e.child), (6, "c", "a"));
        }
        e => panic!("wrong error {e:?}"),
    }
    b.shows("6:1", "remove a from the children of c");
}

#[test]
fn a_variable_set_on_two_host_lines_takes_the_later_with_a_warning() {
    let inv = Inventory::from_text(
        "inv.ini",
        "[etcd]\netcd1 etcd_ip=10.0.0.1 ansible_port=22\n\n[nodes]\netcd1 ansible_port=22\n\n[masters]\netcd1 etcd_ip=10.0.0.2\n",
        &[],
    )
    .unwrap();
    let etcd1 = inv.host("etcd1").unwrap();
    assert_eq!(etcd1.var("etcd_ip"), Some(&json!("10.0.0.2")));
    assert_eq!(inv.warnings().len(), 1, "{:?}", inv.warnings());
    assert_eq!(
        inv.warnings()[0],
        "inv.ini: host etcd1 sets etcd_ip twice: \"10.0.0.1\" at line 2, then \"10.0.0.2\" at line 8; the later line wins, as in Ansible"
    );
}

#[test]
fn yaml_syntax_error() {
    let b = broken(
        "inv.yml",
        "all:\n  hosts:\n    e1:\n      a: [1, 2\n    e2:\n",
    );
    match b.error.innermost() {
        InventoryError::Yaml(e) => {
            let message = &e.message;
            assert_eq!((e.line, e.column), (5, 7));
            assert!(
                message.contains("did not find expected ',' or ']'"),
                "{message}"
            );
            assert!(message.contains("flow sequence at line 4"), "{message}");
            assert!(!message.contains("line 5 column 7"), "{message}");
        }
        e => panic!("wrong error {e:?}"),
    }
    b.shows("5:7", "an Ansible YAML inventory is `all:`");
}

#[test]
fn yaml_unknown_key_is_skipped_with_a_warning_naming_its_line() {
    let inv = Inventory::from_text(
        "inv.yaml",
        "all:\n  children:\n    etcd:\n      host:\n        e1:\n",
        &[],
    )
    .unwrap();
    assert!(inv.host("e1").is_none());
    assert!(inv.has_group("etcd"));
    assert!(
        inv.warnings()[0].starts_with("inv.yaml:5: skipping unexpected key `host` in group etcd"),
        "{:?}",
        inv.warnings()
    );
}

#[test]
fn yaml_host_vars_must_be_a_map() {
    let b = broken("inv.yaml", "all:\n  hosts:\n    e1: 10.0.0.1\n");
    match b.error.innermost() {
        InventoryError::Yaml(e) => assert_eq!(e.line, 3),
        e => panic!("wrong error {e:?}"),
    }
    b.shows("3:9", "each host maps to its variables");
}

#[test]
fn yaml_bad_range_points_at_the_host_key() {
    let b = broken(
        "inv.yml",
        "all:\n  children:\n    etcd:\n      hosts:\n        etcd[3:1]:\n",
    );
    assert!(
        matches!(b.error.innermost(), InventoryError::BadRange(e) if e.line == 5),
        "{:?}",
        b.error
    );
    assert_eq!(b.labelled(), vec!["[3:1]"]);
    b.shows("5:13", "write the smaller end first");
}

#[test]
fn yaml_host_vars_set_twice_take_the_later_with_a_warning() {
    let inv = Inventory::from_text(
        "inv.yml",
        "all:\n  children:\n    etcd:\n      hosts:\n        e1:\n          etcd_ip: 10.0.0.1\n    nodes:\n      hosts:\n        e1:\n          etcd_ip: 10.0.0.2\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        inv.host("e1").unwrap().var("etcd_ip"),
        Some(&json!("10.0.0.2"))
    );
    assert!(
        inv.warnings()[0].contains(
            "host e1 sets etcd_ip twice: \"10.0.0.1\" at line 6, then \"10.0.0.2\" at line 10"
        ),
        "{:?}",
        inv.warnings()
    );
}

#[test]
fn same_host_twice_with_the_same_values_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv");
    std::fs::write(
        &path,
        "[etcd]\ne1 etcd_ip=10.0.0.1\n[nodes]\ne1 etcd_ip=10.0.0.1 role=node\n",
    )
    .unwrap();
    let inv = Inventory::load(&path, &[]).unwrap();
    assert_eq!(names(&inv.hosts()), vec!["e1"]);
    assert_eq!(
        inv.host("e1").unwrap().var_str("role").as_deref(),
        Some("node")
    );
}

// ---------------------------------------------------------------- docs

#[test]
fn docs_list_every_variable_with_its_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/inventory.md");
    let docs = std::fs::read_to_string(&path).expect("docs/inventory.md");
    for spec in VARIABLES {
        let row_start = format!("| `{}` |", spec.name);
        let row = docs
            .lines()
            .find(|l| l.starts_with(&row_start))
            .unwrap_or_else(|| panic!("docs/inventory.md has no table row for `{}`", spec.name));
        let default = spec.default.doc();
        assert!(
            row.contains(&format!("| {default} |")),
            "docs/inventory.md gives `{}` a default other than {default}: {row}",
            spec.name
        );
    }
}

#[test]
fn crlf_line_endings_parse_like_lf() {
    let text = std::fs::read_to_string(fixture("openshift.ini")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crlf.ini");
    std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
    let crlf = Inventory::load(&path, &[]).unwrap();
    let lf = load("openshift.ini");
    assert_eq!(names(&crlf.hosts()), names(&lf.hosts()));
    for (a, b) in crlf.hosts().iter().zip(lf.hosts()) {
        assert_eq!(a.vars, b.vars, "{}", a.name);
    }
}

#[test]
fn masters_without_etcd_hosts_run_etcd_embedded_in_them() {
    // openshift-ansible's reading: no [etcd] hosts, so etcd runs inside the master, on
    // openshift_master_etcd_port (4001), peers on 7001, data under openshift_data_dir, and
    // the master's own etcd client certificate.
    let vars = [
        "runbook_etcd_layout",
        "etcd_data_dir",
        "etcd_service",
        "etcd_client_port",
        "etcd_peer_port",
        "etcd_peer_ca_file",
        "etcd_peer_cert_file",
        "etcd_peer_key_file",
    ];
    for (text, expected) in [
        (
            "[OSEv3:children]\nmasters\nnodes\n\n[masters]\nm1 openshift_release=v3.6\n\n[nodes]\nm1\n",
            [
                "embedded",
                "/var/lib/origin/openshift.local.etcd",
                "atomic-openshift-master",
                "4001",
                "7001",
                "/etc/origin/master/ca-bundle.crt",
                "/etc/origin/master/master.etcd-client.crt",
                "/etc/origin/master/master.etcd-client.key",
            ],
        ),
        (
            "[etcd]\n\n[masters]\nm1 openshift_deployment_type=origin openshift_data_dir=/srv/origin/ openshift_master_etcd_port=14001 openshift_master_config_dir=/srv/master\n",
            [
                "embedded",
                "/srv/origin/openshift.local.etcd",
                "origin-master-api",
                "14001",
                "7001",
                "/srv/master/ca-bundle.crt",
                "/srv/master/master.etcd-client.crt",
                "/srv/master/master.etcd-client.key",
            ],
        ),
    ] {
        let inv = Inventory::from_text("embedded.ini", text, &[]).unwrap();
        let host = inv.host("m1").unwrap();
        assert_eq!(
            vars.map(|v| host.var_str(v).unwrap_or_default()),
            expected,
            "{text}"
        );
    }
    // With etcd hosts, a master is no member, and the members keep their own defaults.
    let inv = Inventory::from_text("external.ini", "[etcd]\ne1\n\n[masters]\nm1\n", &[]).unwrap();
    assert_eq!(
        inv.host("m1")
            .unwrap()
            .var_str("runbook_etcd_layout")
            .as_deref(),
        Some("rpm")
    );
    let member = inv.host("e1").unwrap();
    assert_eq!(
        vars.map(|v| member.var_str(v).unwrap_or_default())[1..],
        [
            "/var/lib/etcd",
            "etcd",
            "2379",
            "2380",
            "/etc/etcd/ca.crt",
            "/etc/etcd/peer.crt",
            "/etc/etcd/peer.key",
        ]
    );
}

#[test]
fn the_etcd_layout_sets_data_dir_and_service_defaults() {
    // Each line is an install openshift-ansible would make from these variables.
    let inv = Inventory::from_text(
        "layouts.ini",
        "[etcd]\n\
         rpm-1\n\
         docker-1 containerized=true\n\
         docker-2 containerized=True openshift_release=v3.6\n\
         runc-37 openshift_use_etcd_system_container=true openshift_release=\"3.7\"\n\
         runc-36 openshift_use_etcd_system_container=yes containerized=true openshift_image_tag=v3.6.173\n\
         runc-all openshift_use_system_containers=true\n\
         sc-1 runbook_etcd_layout=system_container openshift_release=v3.6\n\
         emb-1 runbook_etcd_layout=embedded openshift_deployment_type=origin\n\
         own-1 containerized=true etcd_data_dir=/srv/etcd etcd_service=my-etcd\n",
        &[],
    )
    .unwrap();
    let facts = |name: &str| {
        let host = inv.host(name).unwrap();
        [
            "runbook_etcd_layout",
            "etcd_data_dir",
            "etcd_service",
            "runbook_etcdctl_command",
        ]
        .map(|v| host.var_str(v).unwrap_or_default())
    };
    let docker_etcdctl = "docker exec -e ETCDCTL_API etcd_container etcdctl";
    let runc_etcdctl = "runc exec --env ETCDCTL_API=$ETCDCTL_API etcd etcdctl";
    assert_eq!(facts("rpm-1"), ["rpm", "/var/lib/etcd", "etcd", "etcdctl"]);
    assert_eq!(
        facts("docker-1"),
        ["docker", "/var/lib/etcd", "etcd_container", docker_etcdctl]
    );
    assert_eq!(
        facts("docker-2"),
        ["docker", "/var/lib/etcd", "etcd_container", docker_etcdctl]
    );
    assert_eq!(
        facts("runc-37"),
        ["runc", "/var/lib/etcd", "etcd", runc_etcdctl]
    );
    assert_eq!(
        facts("runc-36"),
        ["runc", "/var/lib/etcd/etcd.etcd", "etcd", runc_etcdctl],
        "a system container wins over containerized, and 3.6 keeps its data one level down"
    );
    assert_eq!(facts("runc-all")[0], "runc");
    assert_eq!(
        facts("sc-1"),
        [
            "system_container",
            "/var/lib/etcd/etcd.etcd",
            "etcd",
            runc_etcdctl
        ],
        "system_container is read as runc"
    );
    assert_eq!(
        facts("emb-1"),
        [
            "embedded",
            "/var/lib/origin/openshift.local.etcd",
            "origin-master-api",
            "etcdctl"
        ]
    );
    assert_eq!(
        facts("own-1")[1..3],
        ["/srv/etcd".to_string(), "my-etcd".to_string()],
        "explicit values win"
    );
    assert_eq!(
        inv.host("docker-1")
            .unwrap()
            .var_str("etcd_conf_file")
            .as_deref(),
        Some("/etc/etcd/etcd.conf"),
        "the config stays where the package put it"
    );
}

#[test]
fn addresses_and_names_follow_openshift_ansible() {
    let inv = Inventory::from_text(
        "hosts",
        "[all:vars]\ndeployment_type=origin\n\
         [etcd]\n\
         vagrant-1 ansible_ssh_host=192.168.50.11\n\
         mgmt-1 ansible_host=10.0.0.5 openshift_ip=172.16.0.5 openshift_hostname=etcd-a.cluster\n\
         both-1 ansible_host=10.0.0.6 ansible_ssh_host=10.9.9.9\n\
         plain-1\n",
        &[],
    )
    .unwrap();
    let var = |host: &str, name: &str| inv.host(host).unwrap().var_str(name).unwrap();
    // ansible_ssh_host is ansible_host's older name.
    assert_eq!(var("vagrant-1", "ansible_host"), "192.168.50.11");
    assert_eq!(var("vagrant-1", "etcd_ip"), "192.168.50.11");
    assert_eq!(var("both-1", "ansible_host"), "10.0.0.6");
    // The member listens on openshift_ip and is named openshift_hostname, not on the address
    // runbook connects to.
    assert_eq!(var("mgmt-1", "ansible_host"), "10.0.0.5");
    assert_eq!(var("mgmt-1", "etcd_ip"), "172.16.0.5");
    assert_eq!(var("mgmt-1", "etcd_hostname"), "etcd-a.cluster");
    assert_eq!(var("plain-1", "etcd_ip"), "plain-1");
    assert_eq!(var("plain-1", "etcd_hostname"), "plain-1");
    // origin deployments run origin-master-* services.
    assert_eq!(var("plain-1", "openshift_deployment_type"), "origin");
    assert_eq!(var("plain-1", "openshift_service_type"), "origin");
    let enterprise = Inventory::from_text(
        "hosts",
        "[etcd]\na openshift_deployment_type=openshift-enterprise\nb deployment_type=enterprise\nc\n",
        &[],
    )
    .unwrap();
    let service_type = |host: &str| {
        enterprise
            .host(host)
            .unwrap()
            .var_str("openshift_service_type")
            .unwrap()
    };
    assert_eq!(service_type("a"), "atomic-openshift");
    assert_eq!(service_type("b"), "openshift");
    assert_eq!(service_type("c"), "atomic-openshift");
}
