//! The differential test of inventory parsing: every inventory under
//! `tests/fixtures/inventories/` is read by `ansible-inventory` (ansible-core, installed by
//! `.ci/install-deps`) and by `runbook inventory`, and the two views must agree: the groups,
//! their hosts in order, their children, and every host's variables (`--list`, and `--host`
//! for some hosts of each file). Where Ansible refuses a file, runbook must refuse it too,
//! with a diagnostic naming the file and the line Ansible names.

use crate::support::ansible::ansible_inventory_binary;
use crate::support::command::{repo_root, Runbook};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Where runbook's view differs from ansible-inventory's on purpose (docs/inventory.md,
/// "Differences from ansible-inventory"): the difference, and why.
const DELIBERATE_DIFFERENCES: &[(&str, &str)] = &[(
    "a YAML value tagged `!unsafe` is its text",
    "ansible-inventory prints it as {\"__ansible_unsafe\": text}, a marker that tells Ansible's \
     templating to leave it alone; runbook never templates a variable, so the text is the value",
)];

/// Files on which runbook must warn (not fail), and what the warning must say.
const EXPECTED_WARNINGS: &[(&str, &[&str])] = &[
    (
        "constructed-duplicate-host-var.ini",
        &[
            "constructed-duplicate-host-var.ini: host master1.example.com sets openshift_schedulable twice",
            "at line 9, then",
            "at line 15; the later line wins",
        ],
    ),
    (
        "constructed-duplicate-host-var.yml",
        &[
            "constructed-duplicate-host-var.yml: host etcd1.example.com sets etcd_ip twice",
            "at line 9, then",
            "at line 16; the later line wins",
        ],
    ),
];

/// How many hosts of each file are also compared one by one with `--host`.
const HOSTS_PER_FILE: usize = 3;

/// The inventory sources: each file of the fixtures directory, and each file at the top of
/// its subdirectories (their `group_vars/` and `host_vars/` belong to those files).
fn sources() -> Vec<PathBuf> {
    let root = repo_root().join("tests/fixtures/inventories");
    let mut sources = Vec::new();
    for entry in sorted_entries(&root) {
        if entry.is_dir() {
            sources.extend(sorted_entries(&entry).into_iter().filter(|p| p.is_file()));
        } else {
            sources.push(entry);
        }
    }
    sources
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    entries
}

/// The fixture's name relative to the fixtures directory.
fn display_name(source: &Path) -> String {
    let root = repo_root().join("tests/fixtures/inventories");
    source
        .strip_prefix(&root)
        .unwrap_or(source)
        .display()
        .to_string()
}

/// One ansible-inventory run: Ok(stdout) when it parsed the source, Err(stderr) otherwise.
fn ansible(binary: &Path, home: &Path, args: &[&str], source: &Path) -> Result<String, String> {
    let output = Command::new(binary)
        .arg("-i")
        .arg(source)
        .args(args)
        // A source no plugin parses is an error, not an empty inventory with a warning.
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "True")
        .env("ANSIBLE_HOME", home)
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_CONFIG", home.join("no-ansible.cfg"))
        .current_dir(home)
        .output()
        .expect("ansible-inventory runs");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Ansible's output with the deliberate differences taken out; counts what was changed.
fn without_deliberate_differences(value: Value, changed: &mut usize) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("__ansible_unsafe") => {
            *changed += 1;
            map.into_iter().next().expect("one entry").1
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_deliberate_differences(v, changed)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| without_deliberate_differences(v, changed))
                .collect(),
        ),
        other => other,
    }
}

/// Every difference between two `--list` views, one line each.
fn list_differences(ansible: &Value, runbook: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let empty = serde_json::Map::new();
    let groups = |v: &Value| -> BTreeMap<String, Value> {
        v.as_object()
            .unwrap_or(&empty)
            .iter()
            .filter(|(k, _)| *k != "_meta")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (ga, gr) = (groups(ansible), groups(runbook));
    for name in ga.keys().chain(gr.keys().filter(|k| !ga.contains_key(*k))) {
        if ga.get(name) != gr.get(name) {
            out.push(format!(
                "group {name}: ansible {} / runbook {}",
                show(ga.get(name)),
                show(gr.get(name))
            ));
        }
    }
    let hostvars = |v: &Value| {
        v["_meta"]["hostvars"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    let (ha, hr) = (hostvars(ansible), hostvars(runbook));
    for host in ha.keys().chain(hr.keys().filter(|k| !ha.contains_key(*k))) {
        out.extend(var_differences(
            &format!("host {host}"),
            ha.get(host).unwrap_or(&Value::Null),
            hr.get(host).unwrap_or(&Value::Null),
        ));
    }
    out
}

/// Every variable that differs between two maps of variables.
fn var_differences(what: &str, ansible: &Value, runbook: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, r) = (
        ansible.as_object().unwrap_or(&empty),
        runbook.as_object().unwrap_or(&empty),
    );
    a.keys()
        .chain(r.keys().filter(|k| !a.contains_key(*k)))
        .filter(|k| a.get(*k) != r.get(*k))
        .map(|k| {
            format!(
                "{what} var {k}: ansible {} / runbook {}",
                show(a.get(k)),
                show(r.get(k))
            )
        })
        .collect()
}

fn show(value: Option<&Value>) -> String {
    value.map_or("(unset)".to_string(), |v| {
        let text = v.to_string();
        match text.char_indices().nth(200) {
            Some((cut, _)) => format!("{}...", &text[..cut]),
            None => text,
        }
    })
}

/// Every host of a `--list` view, in the order the groups list them.
fn hosts_of(list: &Value) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for group in list.as_object().into_iter().flat_map(|m| m.values()) {
        for host in group["hosts"].as_array().into_iter().flatten() {
            let host = host.as_str().unwrap_or_default().to_string();
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    hosts
}

/// Some hosts of a `--list` view, spread over it: the first, one in the middle, the last.
fn sample_hosts(list: &Value) -> Vec<String> {
    let hosts = hosts_of(list);
    if hosts.len() <= HOSTS_PER_FILE {
        return hosts;
    }
    (0..HOSTS_PER_FILE)
        .map(|i| hosts[i * (hosts.len() - 1) / (HOSTS_PER_FILE - 1)].clone())
        .collect()
}

/// The line of the source an Ansible parse error names (`path:LINE:`), if any. Ansible wraps
/// its messages at the terminal's width, so the lines are joined first.
fn ansible_error_line(stderr: &str, source: &Path) -> Option<usize> {
    let joined = stderr.replace('\n', "");
    let marker = format!("{}:", source.display());
    joined.match_indices(&marker).find_map(|(at, _)| {
        let rest = &joined[at + marker.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (rest[digits.len()..].starts_with(':'))
            .then(|| digits.parse().ok())
            .flatten()
    })
}

/// What comparing one file found.
#[derive(Default)]
struct Outcome {
    problems: Vec<String>,
    refused: bool,
    hosts: usize,
    vars: usize,
    hosts_one_by_one: usize,
    deliberate: usize,
}

fn compare(binary: &Path, home: &Path, source: &Path) -> Outcome {
    let name = display_name(source);
    let mut outcome = Outcome::default();
    let runbook = Runbook::new()
        .arg("inventory")
        .arg("-i")
        .arg(source)
        .env("RUST_LOG", "warn")
        .run();
    let expected_warnings = EXPECTED_WARNINGS
        .iter()
        .find(|(file, _)| name.ends_with(file))
        .map_or(&[][..], |(_, needles)| *needles);
    for needle in expected_warnings {
        if !runbook.stderr.contains(needle) {
            outcome.problems.push(format!(
                "runbook's warnings lack {needle:?}:\n{}",
                runbook.stderr
            ));
        }
    }
    let ansible_list = match ansible(binary, home, &["--list"], source) {
        Ok(stdout) => stdout,
        Err(stderr) => {
            outcome.refused = true;
            if runbook.code != 2 {
                outcome.problems.push(format!(
                    "ansible-inventory refuses it, runbook exits {} (want 2):\n{}",
                    runbook.code,
                    stderr.trim()
                ));
            }
            let line = ansible_error_line(&stderr, source);
            let located = match line {
                Some(line) => format!("{}:{line}", source.display()),
                None => format!("{}:", source.display()),
            };
            if !runbook.stderr.replace("\n  │ ", "").contains(&located) {
                outcome.problems.push(format!(
                    "runbook's diagnostic does not name {located} as ansible-inventory does \
                     ({}):\n{}",
                    stderr.replace('\n', " ").trim(),
                    runbook.stderr
                ));
            }
            return outcome;
        }
    };
    if runbook.code != 0 {
        outcome.problems.push(format!(
            "ansible-inventory reads it, runbook refuses it:\n{}",
            runbook.stderr
        ));
        return outcome;
    }
    let ansible_list: Value = serde_json::from_str(&ansible_list).expect("ansible's JSON");
    let ansible_list = without_deliberate_differences(ansible_list, &mut outcome.deliberate);
    let runbook_list: Value = match serde_json::from_str(&runbook.stdout) {
        Ok(v) => v,
        Err(e) => {
            outcome.problems.push(format!(
                "runbook's listing is not JSON ({e}):\n{}",
                runbook.stdout
            ));
            return outcome;
        }
    };
    outcome
        .problems
        .extend(list_differences(&ansible_list, &runbook_list));
    outcome.hosts = hosts_of(&ansible_list).len();
    if let Some(hostvars) = ansible_list["_meta"]["hostvars"].as_object() {
        outcome.vars = hostvars
            .values()
            .map(|v| v.as_object().map_or(0, |m| m.len()))
            .sum();
    }
    for host in sample_hosts(&ansible_list) {
        let ansible_host = match ansible(binary, home, &["--host", &host], source) {
            Ok(stdout) => serde_json::from_str(&stdout).expect("ansible's JSON"),
            Err(stderr) => {
                outcome
                    .problems
                    .push(format!("ansible-inventory --host {host} fails:\n{stderr}"));
                continue;
            }
        };
        let ansible_host = without_deliberate_differences(ansible_host, &mut 0);
        let runbook_host = Runbook::new()
            .args(["inventory", "--host", &host, "-i"])
            .arg(source)
            .run();
        match serde_json::from_str::<Value>(&runbook_host.stdout) {
            Ok(runbook_host) => outcome.problems.extend(var_differences(
                &format!("--host {host}"),
                &ansible_host,
                &runbook_host,
            )),
            Err(_) => outcome.problems.push(format!(
                "runbook inventory --host {host} fails:\n{}",
                runbook_host.stderr
            )),
        }
        outcome.hosts_one_by_one += 1;
    }
    outcome
}

#[test]
fn every_fixture_inventory_reads_as_ansible_inventory_reads_it() {
    let binary = ansible_inventory_binary();
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(home.path().join("tmp")).expect("temp dir for ansible");
    std::fs::write(home.path().join("no-ansible.cfg"), "[defaults]\n").expect("ansible.cfg");
    let sources = sources();
    assert!(
        sources.len() >= 25,
        "only {} fixture inventories",
        sources.len()
    );

    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<(String, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                while let Some(source) = sources.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let outcome = compare(&binary, home.path(), source);
                    outcomes
                        .lock()
                        .unwrap()
                        .push((display_name(source), outcome));
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));

    let mut failures = Vec::new();
    for (name, outcome) in &outcomes {
        let verdict = if outcome.refused {
            "refused by both".to_string()
        } else {
            format!(
                "{} hosts, {} vars, {} hosts one by one",
                outcome.hosts, outcome.vars, outcome.hosts_one_by_one
            )
        };
        eprintln!("{name}: {verdict}");
        for problem in &outcome.problems {
            failures.push(format!("{name}: {problem}"));
        }
    }
    let read: Vec<&Outcome> = outcomes
        .iter()
        .map(|(_, o)| o)
        .filter(|o| !o.refused)
        .collect();
    eprintln!(
        "compared {} files: {} read by both ({} hosts, {} host variables, {} hosts also by \
         --host), {} refused by both; {} values differ on purpose:",
        outcomes.len(),
        read.len(),
        read.iter().map(|o| o.hosts).sum::<usize>(),
        read.iter().map(|o| o.vars).sum::<usize>(),
        read.iter().map(|o| o.hosts_one_by_one).sum::<usize>(),
        outcomes.len() - read.len(),
        read.iter().map(|o| o.deliberate).sum::<usize>(),
    );
    for (difference, why) in DELIBERATE_DIFFERENCES {
        eprintln!("  {difference}: {why}");
    }
    assert!(
        failures.is_empty(),
        "runbook and ansible-inventory disagree:\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn a_differing_reading_is_reported() {
    // The comparison itself: a variable Ansible types and runbook were to read as text, a host
    // out of order, a group missing.
    let ansible = serde_json::json!({
        "all": {"children": ["ungrouped", "etcd"]},
        "etcd": {"hosts": ["e1", "e2"]},
        "_meta": {"hostvars": {"e1": {"port": 2379}}}
    });
    let runbook = serde_json::json!({
        "all": {"children": ["ungrouped", "etcd"]},
        "etcd": {"hosts": ["e2", "e1"]},
        "_meta": {"hostvars": {"e1": {"port": "2379"}}}
    });
    let found = list_differences(&ansible, &runbook);
    assert_eq!(
        found,
        vec![
            "group etcd: ansible {\"hosts\":[\"e1\",\"e2\"]} / runbook {\"hosts\":[\"e2\",\"e1\"]}",
            "host e1 var port: ansible 2379 / runbook \"2379\"",
        ]
    );
    let mut changed = 0;
    let unsafe_value = serde_json::json!({"v": {"__ansible_unsafe": "{{ x }}"}});
    assert_eq!(
        without_deliberate_differences(unsafe_value, &mut changed),
        serde_json::json!({"v": "{{ x }}"})
    );
    assert_eq!(changed, 1);
}
