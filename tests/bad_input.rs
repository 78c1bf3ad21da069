//! Bad input changes nothing: a corpus of broken inventories, runbooks, durations, master
//! configs, certificates, ssh credentials, missing tools and files, a member down and a
//! full disk, each run through the real binary (mostly the shipped runbooks) against a
//! real lab. Every case must exit non-zero with a diagnostic that names the input and
//! says what to do, and the lab must be exactly as before: v2 data, v3 key count,
//! `endpoint hashkv`, the hosts' config files and data dir listings, and the same
//! service processes.

use crate::support::command::{repo_root, write_file, Finished, Runbook};
use crate::support::etcd::{etcdctl, wait_until};
use crate::support::lab::TestLab;
use crate::support::sshd::Sshd;
use runbook::lab::layout::LabLayout;
use runbook::lab::pidfile::{recorded_processes, RecordedProcess};
use runbook::lab::state::LabState;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bad input found before anything ran.
const BAD_INPUT: i32 = 2;
/// A precondition failed (the runbook stopped before changing anything).
const FAILED: i32 = 1;

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/bad_input").join(name)
}

fn shipped(name: &str) -> PathBuf {
    repo_root().join("runbooks").join(name)
}

// ---------------------------------------------------------------------------------------
// What "nothing changed" means on a lab.

/// Everything a case must leave as it was.
#[derive(Debug, PartialEq)]
struct LabSnapshot {
    /// Every v2 leaf: key -> (value, createdIndex, modifiedIndex).
    v2: BTreeMap<String, (String, u64, u64)>,
    v3_keys: usize,
    /// `endpoint hashkv` of each running member: (endpoint, hash).
    hashes: Vec<(String, u64)>,
    /// Contents of every file under the hosts' `etc/`, and every path under the etcd
    /// data dirs but etcd's own WAL and snapshot files.
    files: BTreeMap<String, Vec<u8>>,
    /// The lab's service processes (pid and start time).
    processes: Vec<RecordedProcess>,
}

/// etcd's own WAL and snapshot files: etcd writes them itself (a v2 health check is a
/// quorum read, a raft entry, so snapshots roll over even when no data changes).
fn etcd_internal(name: &str) -> bool {
    name.contains("/member/wal/") || name.contains("/member/snap/")
}

fn walk(root: &Path, dir: &Path, contents: bool, into: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.strip_prefix(root).unwrap().display().to_string();
        if path.is_dir() {
            into.insert(format!("{name}/"), Vec::new());
            walk(root, &path, contents, into);
        } else if contents {
            into.insert(name, std::fs::read(&path).unwrap_or_default());
        } else if !etcd_internal(&name) {
            into.insert(name, Vec::new());
        }
    }
}

/// The client URLs of the members whose recorded etcd process is alive.
fn running_endpoints(lab: &TestLab) -> Vec<String> {
    let layout = LabLayout::new(&lab.dir);
    let state = LabState::load(&layout).unwrap();
    let alive: Vec<String> = recorded_processes(&layout)
        .into_iter()
        .filter(|p| p.service == "etcd" && p.is_alive())
        .map(|p| p.host)
        .collect();
    state
        .members
        .iter()
        .filter(|m| alive.contains(&m.name))
        .map(|m| state.client_url(m))
        .collect()
}

fn snapshot(lab: &TestLab) -> LabSnapshot {
    // The endpoints are given explicitly (a stopped member's would fail every command).
    let env: Vec<(String, String)> = lab
        .env()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("ETCDCTL_ENDPOINT"))
        .collect();
    let endpoints = running_endpoints(lab).join(",");
    let endpoints_flag = format!("--endpoints={endpoints}");

    // v2: every leaf with its indexes, through etcdctl (any running member answers).
    let listing = etcdctl(&env, 2, &[&endpoints_flag, "ls", "-r", "-p", "/"]);
    assert_eq!(listing.code, 0, "{}", listing.stderr);
    let mut v2 = BTreeMap::new();
    for key in listing.stdout.lines().filter(|l| !l.ends_with('/')) {
        let got = etcdctl(&env, 2, &[&endpoints_flag, "-o", "extended", "get", key]);
        assert_eq!(got.code, 0, "{key}: {}", got.stderr);
        let field = |name: &str| -> u64 {
            got.stdout
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("{key}: no {name} in {}", got.stdout))
        };
        let value = got.stdout.split_once("\n\n").map(|(_, v)| v).unwrap_or("");
        v2.insert(
            key.to_string(),
            (
                value.to_string(),
                field("Created-Index: "),
                field("Modified-Index: "),
            ),
        );
    }
    assert!(
        v2.len() > 40,
        "the lab holds its seeded v2 keys: {}",
        v2.len()
    );

    let count = etcdctl(
        &env,
        3,
        &[&endpoints_flag, "get", "", "--from-key", "--keys-only"],
    );
    assert_eq!(count.code, 0, "{}", count.stderr);
    let v3_keys = count.stdout.lines().filter(|l| !l.is_empty()).count();

    let hashkv = etcdctl(
        &env,
        3,
        &[&endpoints_flag, "endpoint", "hashkv", "-w", "json"],
    );
    assert_eq!(hashkv.code, 0, "{}", hashkv.stderr);
    let parsed: serde_json::Value = serde_json::from_str(&hashkv.stdout).unwrap();
    let hashes: Vec<(String, u64)> = parsed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["Endpoint"].as_str().unwrap().to_string(),
                e["HashKV"]["hash"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        hashes.iter().all(|(_, h)| *h == hashes[0].1),
        "members disagree: {hashes:?}"
    );

    let mut files = BTreeMap::new();
    let hosts = lab.dir.join("hosts");
    for host in std::fs::read_dir(&hosts).unwrap().flatten() {
        let host = host.path();
        walk(&hosts, &host.join("etc"), true, &mut files);
        walk(&hosts, &host.join("var/lib/etcd"), false, &mut files);
    }

    let processes = recorded_processes(&LabLayout::new(&lab.dir));
    for process in &processes {
        assert!(process.is_alive(), "{process:?} is not running");
    }
    LabSnapshot {
        v2,
        v3_keys,
        hashes,
        files,
        processes,
    }
}

fn assert_unchanged(lab: &TestLab, before: &LabSnapshot, cases: &str) {
    let after = snapshot(lab);
    assert_eq!(before.v2, after.v2, "v2 data changed by {cases}");
    assert_eq!(before.v3_keys, after.v3_keys, "v3 keys changed by {cases}");
    assert_eq!(before.hashes, after.hashes, "hashkv changed by {cases}");
    let changed: Vec<&String> = before
        .files
        .keys()
        .chain(after.files.keys())
        .filter(|k| before.files.get(*k) != after.files.get(*k))
        .collect();
    assert!(changed.is_empty(), "files changed by {cases}: {changed:?}");
    assert_eq!(
        before.processes, after.processes,
        "service processes changed by {cases}"
    );
}

// ---------------------------------------------------------------------------------------
// Cases.

/// One bad input: the invocation, the exit code and what the diagnostic must say.
struct Case {
    name: String,
    command: Runbook,
    code: i32,
    /// Text the output must hold: the input named (file:line, host, path) and the fix.
    needles: Vec<String>,
}

impl Case {
    fn new(name: &str, code: i32, command: Runbook, needles: &[&str]) -> Case {
        Case {
            name: name.to_string(),
            command,
            code,
            needles: needles.iter().map(|n| n.to_string()).collect(),
        }
    }
}

/// Why a finished case does not meet its expectations, if it does not.
fn judge(case: &Case, finished: &Finished) -> Option<String> {
    let output = format!("{}\n{}", finished.stdout, finished.stderr_unwrapped());
    let mut problems = Vec::new();
    if finished.code != case.code {
        problems.push(format!(
            "exit code {} (expected {})",
            finished.code, case.code
        ));
    }
    if !finished.stderr.contains("help:") {
        problems.push("no help line".to_string());
    }
    // miette wraps long lines anywhere, paths included: compare without whitespace.
    let squeezed: String = output
        .split_whitespace()
        .map(|w| w.trim_start_matches('│'))
        .collect();
    for needle in &case.needles {
        let needle_squeezed: String = needle.split_whitespace().collect();
        if !output.contains(needle.as_str()) && !squeezed.contains(&needle_squeezed) {
            problems.push(format!("lacks {needle:?}"));
        }
    }
    (!problems.is_empty()).then(|| {
        format!(
            "case {}: {}\n--- stdout\n{}--- stderr\n{}",
            case.name,
            problems.join("; "),
            finished.stdout,
            finished.stderr
        )
    })
}

/// Runs the cases on `threads` threads; returns the failures.
fn run_cases(cases: Vec<Case>, threads: usize) -> Vec<String> {
    let cases: Vec<Mutex<Option<Case>>> = cases.into_iter().map(|c| Mutex::new(Some(c))).collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(slot) = cases.get(index) else {
                    return;
                };
                let mut case = slot.lock().unwrap().take().unwrap();
                let command = std::mem::take(&mut case.command);
                let finished = command.run();
                eprintln!("case {:?}: exit {}", case.name, finished.code);
                if let Ok(dir) = std::env::var("BAD_INPUT_DUMP") {
                    let _ = std::fs::create_dir_all(&dir);
                    let _ = std::fs::write(
                        format!("{dir}/{}.txt", case.name.replace('/', "_")),
                        format!("{}\n---\n{}", finished.stdout, finished.stderr),
                    );
                }
                if let Some(failure) = judge(&case, &finished) {
                    eprintln!("{failure}\n");
                    failures.lock().unwrap().push(failure);
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

fn names(cases: &[Case]) -> String {
    cases
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// Inventory editing.

/// Sets (or replaces) variables on one host line of an INI inventory.
fn set_host_vars(inventory: &str, host: &str, vars: &[(&str, &str)]) -> String {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in inventory.lines() {
        if line.starts_with('[') {
            section = line.to_string();
        }
        let is_host = (section == "[etcd]" || section == "[masters]")
            && line.split_whitespace().next() == Some(host);
        if !is_host {
            out.push(line.to_string());
            continue;
        }
        let mut line = line.to_string();
        for (name, value) in vars {
            let prefix = format!(" {name}=");
            match line.find(&prefix) {
                Some(start) => {
                    let value_start = start + prefix.len();
                    let end = line[value_start..]
                        .find(' ')
                        .map_or(line.len(), |i| value_start + i);
                    line.replace_range(value_start..end, value);
                }
                None => line.push_str(&format!("{prefix}{value}")),
            }
        }
        out.push(line);
    }
    out.join("\n") + "\n"
}

/// Drops a group's section and its mention under `[OSEv3:children]`.
fn drop_group(inventory: &str, group: &str) -> String {
    let header = format!("[{group}]");
    let mut out = Vec::new();
    let mut section = String::new();
    for line in inventory.lines() {
        if line.starts_with('[') {
            section = line.to_string();
        }
        if section == header || (section == "[OSEv3:children]" && line.trim() == group) {
            continue;
        }
        out.push(line.to_string());
    }
    out.join("\n") + "\n"
}

/// A directory per case, holding its inventory (and so its journal).
struct Workspace {
    dir: tempfile::TempDir,
    lab_inventory: String,
}

impl Workspace {
    fn new(lab: &TestLab) -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
            lab_inventory: std::fs::read_to_string(lab.inventory()).unwrap(),
        }
    }

    fn path(&self, case: &str) -> PathBuf {
        self.dir.path().join(case)
    }

    /// Writes `case/inventory.ini` with `text`.
    fn inventory(&self, case: &str, text: &str) -> PathBuf {
        write_file(&self.path(case), "inventory.ini", text)
    }

    /// The lab's inventory with `vars` set on `host`.
    fn with_vars(&self, case: &str, host: &str, vars: &[(&str, &str)]) -> PathBuf {
        self.inventory(case, &set_host_vars(&self.lab_inventory, host, vars))
    }
}

/// `runbook run RUNBOOK -i INVENTORY`.
fn run(runbook: &Path, inventory: &Path) -> Runbook {
    Runbook::new()
        .arg("run")
        .arg(runbook)
        .arg("-i")
        .arg(inventory)
}

/// A client certificate and key signed by a CA of their own (not the lab's).
fn foreign_client_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let ca = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "another CA");
    let ca_cert = ca_params.self_signed(&ca).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "intruder");
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.signed_by(&key, &ca_cert, &ca).unwrap();
    let cert_path = write_file(dir, "foreign.crt", &cert.pem());
    let key_path = write_file(dir, "foreign.key", &key.serialize_pem());
    (cert_path, key_path)
}

/// A directory of links to every tool in /usr/bin and /usr/sbin except `etcdctl`.
fn path_without_etcdctl(dir: &Path) -> PathBuf {
    let bin = dir.join("bin-without-etcdctl");
    std::fs::create_dir_all(&bin).unwrap();
    for source in ["/usr/bin", "/usr/sbin"] {
        for entry in std::fs::read_dir(source).unwrap().flatten() {
            let name = entry.file_name();
            if name == "etcdctl" || bin.join(&name).exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(entry.path(), bin.join(&name));
        }
    }
    bin
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Cases that only read from the lab (or fail before reaching it).
fn read_only_cases(lab: &TestLab, ws: &Workspace, sshd: &Sshd) -> Vec<Case> {
    let v2v3 = shipped("v2-to-v3.rhai");
    let mut cases = Vec::new();
    let mut add = |name: &str, code: i32, command: Runbook, needles: &[&str]| {
        cases.push(Case::new(name, code, command, needles))
    };

    // Malformed inventories: found while loading, before anything runs.
    let inventory_fixtures: [(&str, &str, &[&str]); 11] = [
        (
            "ini: unclosed section header",
            "section_header.ini",
            &["section_header.ini:4", "malformed section header"],
        ),
        (
            "ini: unterminated quote in a host variable",
            "host_variable.ini",
            &["host_variable.ini:5", "etcd-1"],
        ),
        (
            "ini: a [group:vars] line without =",
            "vars_line.ini",
            &["vars_line.ini:8", "[etcd:vars]"],
        ),
        (
            "ini: unknown section kind",
            "section_kind.ini",
            &["section_kind.ini:7", "chidren"],
        ),
        (
            "ini: backwards host range",
            "host_range.ini",
            &["host_range.ini:5", "etcd-[3:1]"],
        ),
        (
            "ini: child groups in a loop",
            "group_loop.ini",
            &["group_loop.ini:", "loop"],
        ),
        (
            "ini: a child group the file never declares",
            "undefined_child.ini",
            &["undefined_child.ini:10", "[OSEv3:children]", "nodes"],
        ),
        (
            "yaml: bad indentation",
            "indentation.yml",
            &["indentation.yml:7"],
        ),
        (
            "yaml: hosts as a list",
            "hosts_list.yml",
            &["hosts_list.yml:8", "hosts"],
        ),
        ("yaml: a scalar document", "scalar.yml", &["scalar.yml:1"]),
        (
            "inventory file missing",
            "no-such-inventory.ini",
            &["cannot read inventory", "no-such-inventory.ini"],
        ),
    ];
    for (name, file, needles) in inventory_fixtures {
        add(name, BAD_INPUT, run(&v2v3, &fixture(file)), needles);
    }

    // Groups the shipped runbooks need.
    let inv = ws.inventory("no-etcd", &drop_group(&ws.lab_inventory, "etcd"));
    add(
        "inventory without [etcd]",
        FAILED,
        run(&v2v3, &inv),
        &[
            "etcd: embedded in the master master-1",
            "master-config.yaml has no etcdConfig section: the master runs no embedded etcd",
            "list the etcd members under [etcd] in the inventory",
            &shipped_line("let config = etcd.embedded_config(first);"),
        ],
    );
    let inv = ws.inventory("no-masters", &drop_group(&ws.lab_inventory, "masters"));
    add(
        "inventory without [masters]",
        FAILED,
        run(&v2v3, &inv),
        &[
            "no [masters] group",
            &stdlib_line(
                "openshift.rhai",
                "throw \"the inventory has no [masters] group",
            ),
            &shipped_line("os::masters()"),
        ],
    );
    let inv = ws.inventory("rollback-no-etcd", &drop_group(&ws.lab_inventory, "etcd"));
    add(
        "rollback without [etcd]",
        FAILED,
        run(&shipped("rollback.rhai"), &inv),
        &[
            "etcd: embedded in the master master-1",
            "master-config.yaml has no etcdConfig section: the master runs no embedded etcd",
            "list the etcd members under [etcd] in the inventory",
            "rollback.rhai:44",
        ],
    );

    // Where the members are.
    // The cluster's own URLs are used once a host is matched to its member, so a wrong
    // address only matters when nothing else (etcd.conf, the name) tells who the host is.
    let port = closed_port().to_string();
    let inv = ws.with_vars(
        "not-a-member",
        "etcd-2",
        &[
            ("etcd_ip", "etcd-2.invalid"),
            ("etcd_client_port", &port),
            ("etcd_hostname", "etcd-9.example.com"),
            ("etcd_conf_file", "/nonexistent/etcd.conf"),
        ],
    );
    add(
        "an [etcd] host the cluster does not know",
        FAILED,
        run(&v2v3, &inv),
        &[
            "preflight",
            "runbook::etcd::identity::mismatch",
            "inventory host etcd-2 is no member of the cluster",
            "etcd-9.example.com at https://etcd-2.invalid:",
            "cluster member etcd-2",
            "is no host of the inventory's [etcd]",
        ],
    );
    let inv = ws.with_vars("port-text", "etcd-3", &[("etcd_client_port", "23x9")]);
    add(
        "a client port that is not a number",
        FAILED,
        run(&v2v3, &inv),
        &["etcd-3", "etcd_client_port", "23x9"],
    );

    // Durations in the inventory.
    for (slug, value) in [("1x", "1x"), ("neg", "-5s"), ("zero", "0s"), ("bare", "10")] {
        let inv = ws.with_vars(
            &format!("timeout-{slug}"),
            "etcd-1",
            &[("runbook_command_timeout", value)],
        );
        add(
            &format!("runbook_command_timeout={value}"),
            FAILED,
            run(&v2v3, &inv),
            &["etcd-1", "runbook_command_timeout", value],
        );
    }
    let inv = ws.with_vars(
        "ssh-timeout",
        "etcd-1",
        &[
            ("ansible_connection", "ssh"),
            ("ansible_ssh_timeout", "-5s"),
        ],
    );
    add(
        "ansible_ssh_timeout=-5s",
        FAILED,
        run(&v2v3, &inv),
        &["etcd-1", "ansible_ssh_timeout", "-5s"],
    );

    // Durations given to lease.attach (a custom runbook an operator might write).
    for (slug, value) in [("1x", "1x"), ("neg", "-5s"), ("zero", "0s"), ("bare", "10")] {
        let dir = ws.path(&format!("lease-{slug}"));
        let script = write_file(
            &dir,
            "attach.rhai",
            &format!(
                "// Attach a lease to the events.\nlet r = lease.attach(\"/kubernetes.io/events\", \"{value}\");\nprint(r);\n"
            ),
        );
        add(
            &format!("lease.attach duration {value}"),
            FAILED,
            run(&script, &lab.inventory()),
            &["attach.rhai:2", value],
        );
    }

    // Master configs the migration could not patch.
    let master_dir = lab.host_dir("master-1").join("etc/origin/master");
    let original = std::fs::read_to_string(master_dir.join("master-config.yaml")).unwrap();
    let not_yaml = ws.path("master-not-yaml/master");
    write_file(
        &not_yaml,
        "master-config.yaml",
        "kubernetesMasterConfig:\n  apiServerArguments: {\n    storage-backend: [etcd2\n",
    );
    let inv = ws.with_vars(
        "master-not-yaml",
        "master-1",
        &[(
            "openshift_master_config_dir",
            &not_yaml.display().to_string(),
        )],
    );
    add(
        "master-config.yaml that is not YAML",
        FAILED,
        run(&v2v3, &inv),
        &["preflight", "master-config.yaml", "not valid YAML"],
    );
    let wrong_type = ws.path("master-wrong-type/master");
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&original).unwrap();
    doc["kubernetesMasterConfig"]["apiServerArguments"] =
        serde_yaml::from_str("[storage-backend, etcd2]").unwrap();
    write_file(
        &wrong_type,
        "master-config.yaml",
        &serde_yaml::to_string(&doc).unwrap(),
    );
    let inv = ws.with_vars(
        "master-wrong-type",
        "master-1",
        &[(
            "openshift_master_config_dir",
            &wrong_type.display().to_string(),
        )],
    );
    add(
        "apiServerArguments of the wrong type",
        FAILED,
        run(&v2v3, &inv),
        &["preflight", "master-config.yaml", "apiServerArguments"],
    );

    // Runbooks.
    add(
        "runbook syntax error",
        BAD_INPUT,
        run(&fixture("syntax.rhai"), &lab.inventory()),
        &["syntax.rhai:3"],
    );
    add(
        "runtime error inside a stdlib module",
        FAILED,
        run(&fixture("stdlib_caller.rhai"), &lab.inventory()),
        &[
            &stdlib_line("openshift.rhai", "hosts.map(|h| h.name)"),
            "stdlib_caller.rhai:4",
        ],
    );
    let inv = ws.with_vars(
        "bad-layout",
        "etcd-2",
        &[("runbook_etcd_layout", "tarball")],
    );
    add(
        "an unknown etcd layout (thrown by the layouts stdlib)",
        FAILED,
        run(&v2v3, &inv),
        &[
            "etcd-2",
            "tarball",
            &stdlib_line("layouts.rhai", "is not a known layout"),
            &shipped_line("layouts::check("),
        ],
    );

    // TLS.
    let missing = ws.path("no-ca").join("ca.crt").display().to_string();
    let inv = ws.with_vars("no-ca", "etcd-1", &[("etcd_peer_ca_file", &missing)]);
    add(
        "a missing CA file",
        FAILED,
        run(&v2v3, &inv),
        &["preflight", "etcd-1", &missing],
    );
    let missing = ws.path("no-cert").join("peer.crt").display().to_string();
    let inv = ws.with_vars("no-cert", "etcd-2", &[("etcd_peer_cert_file", &missing)]);
    add(
        "a missing client certificate",
        FAILED,
        run(&v2v3, &inv),
        &["preflight", "etcd-2", &missing],
    );
    let (cert, key) = foreign_client_cert(&ws.path("foreign"));
    let inv = ws.with_vars(
        "foreign",
        "etcd-1",
        &[
            ("etcd_peer_cert_file", &cert.display().to_string()),
            ("etcd_peer_key_file", &key.display().to_string()),
        ],
    );
    add(
        "a client certificate signed by another CA",
        FAILED,
        run(&v2v3, &inv),
        &[
            "preflight",
            "etcd-1",
            "client certificate",
            "etcd_peer_cert_file",
        ],
    );

    // ssh.
    let ssh_vars = |key: &Path, known_hosts: &Path| -> Vec<(String, String)> {
        vec![
            ("ansible_connection".into(), "ssh".into()),
            ("ansible_host".into(), sshd.address.clone()),
            ("ansible_port".into(), sshd.port.to_string()),
            ("ansible_user".into(), sshd.user.clone()),
            (
                "ansible_ssh_private_key_file".into(),
                key.display().to_string(),
            ),
            (
                "runbook_ssh_known_hosts_file".into(),
                known_hosts.display().to_string(),
            ),
            ("ansible_ssh_timeout".into(), "5s".into()),
        ]
    };
    let as_refs = |vars: &[(String, String)]| -> Vec<(String, String)> { vars.to_vec() };
    let refused = as_refs(&ssh_vars(&sshd.unauthorized_key(), &sshd.known_hosts));
    let refused: Vec<(&str, &str)> = refused
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let inv = ws.with_vars("ssh-refused", "etcd-1", &refused);
    add(
        "an ssh key the server refuses",
        FAILED,
        run(&v2v3, &inv),
        &[
            "etcd-1",
            &format!("{}:{}", sshd.address, sshd.port),
            "Permission denied",
            "ansible_ssh_private_key_file",
        ],
    );
    let changed = ssh_vars(&sshd.key, &sshd.wrong_known_hosts());
    let changed: Vec<(&str, &str)> = changed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let inv = ws.with_vars("ssh-host-key", "etcd-1", &changed);
    add(
        "a changed ssh host key",
        FAILED,
        run(&v2v3, &inv),
        &[
            "etcd-1",
            "its host key changed since it was recorded",
            "replace the old entry",
        ],
    );

    // Tools and files on the members.
    let bin = path_without_etcdctl(ws.dir.path());
    let inv = ws.inventory("no-etcdctl", &ws.lab_inventory);
    add(
        "etcdctl missing on the members",
        FAILED,
        run(&v2v3, &inv).env("PATH", &bin),
        &["preflight", "etcd-1", "etcdctl"],
    );
    let missing = ws
        .path("no-data")
        .join("var/lib/etcd")
        .display()
        .to_string();
    // The data dir is the one etcd.conf names: a copy of etcd-2's whose ETCD_DATA_DIR is gone.
    let real_conf = lab.host_dir("etcd-2").join("etc/etcd/etcd.conf");
    let conf = std::fs::read_to_string(&real_conf).unwrap();
    let conf: String = conf
        .lines()
        .map(|line| match line.starts_with("ETCD_DATA_DIR=") {
            true => format!("ETCD_DATA_DIR={missing}\n"),
            false => format!("{line}\n"),
        })
        .collect();
    assert!(conf.contains(&missing));
    let stale_conf = ws.path("no-data").join("etcd.conf");
    std::fs::create_dir_all(ws.path("no-data")).unwrap();
    std::fs::write(&stale_conf, conf).unwrap();
    let stale_conf = stale_conf.display().to_string();
    let inv = ws.with_vars("no-data", "etcd-2", &[("etcd_conf_file", &stale_conf)]);
    add(
        "an etcd.conf whose data dir does not exist",
        FAILED,
        run(&v2v3, &inv),
        &[
            "preflight",
            "etcd-2",
            &missing,
            "ETCD_DATA_DIR",
            &stale_conf,
        ],
    );
    let missing = ws.path("no-conf").join("etcd.conf").display().to_string();
    let inv = ws.with_vars("no-conf", "etcd-3", &[("etcd_conf_file", &missing)]);
    add(
        "an etcd.conf that does not exist",
        FAILED,
        run(&v2v3, &inv),
        &["preflight", "etcd-3", &missing],
    );
    let inv = ws.inventory("rollback-no-backup", &ws.lab_inventory);
    add(
        "rollback with no backup to restore",
        FAILED,
        run(&shipped("rollback.rhai"), &inv),
        &["preflight", "etcd-1", "backup"],
    );
    cases
}

fn wait_healthy(lab: &TestLab) {
    let env = lab.env();
    assert!(
        wait_until(Duration::from_secs(30), || {
            etcdctl(&env, 3, &["endpoint", "health"]).code == 0
        }),
        "the lab did not become healthy again"
    );
}

/// A tmpfs mounted for the test, unmounted (lazily: etcd may still hold it) on drop.
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn free_kib(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-k"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn du_kib(path: &Path) -> u64 {
    let out = Command::new("du").arg("-sk").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// `v2-to-v3.rhai:N`, N the line of the shipped runbook that holds `needle` (where a
/// diagnostic must point).
/// `FILE:LINE` of the first line of the shipped stdlib module `file` that holds `needle`.
fn stdlib_line(file: &str, needle: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("stdlib").join(file)).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle} in {file}"));
    format!("{file}:{}", line + 1)
}

fn shipped_line(needle: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("runbooks/v2-to-v3.rhai")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle} in v2-to-v3.rhai"));
    format!("v2-to-v3.rhai:{}", line + 1)
}

#[test]
fn bad_input_changes_nothing() {
    let started = Instant::now();
    let lab = TestLab::up(&["--tls", "--keys", "120"]);
    let sshd = Sshd::start();
    let ws = Workspace::new(&lab);
    let before = snapshot(&lab);

    let cases = read_only_cases(&lab, &ws, &sshd);
    let count = cases.len();
    let case_names = names(&cases);
    let mut failures = run_cases(cases, 4);
    assert_unchanged(&lab, &before, &case_names);

    // A member down at preflight: the shipped runbook must stop before touching anything.
    lab.service("etcd-3", "stop", "etcd");
    let down = snapshot(&lab);
    let inv = ws.inventory("member-down", &ws.lab_inventory);
    failures.extend(run_cases(
        vec![Case::new(
            "a member down at preflight",
            FAILED,
            run(&shipped("v2-to-v3.rhai"), &inv),
            &["preflight", "etcd-3", "unhealthy"],
        )],
        1,
    ));
    assert_unchanged(&lab, &down, "a member down at preflight");
    lab.service("etcd-3", "start", "etcd");
    wait_healthy(&lab);

    // Too little disk for the backup: etcd-1's data dir on a tmpfs with room for the
    // data but not for the backup (twice the data dir). etcd needs room for a new
    // 64 MiB WAL segment when it starts, so the tmpfs is filled only once it runs.
    let data = lab.host_dir("etcd-1").join("var/lib/etcd");
    lab.service("etcd-1", "stop", "etcd");
    let used = du_kib(&data);
    let saved = ws.path("etcd-1-data");
    let moved = Command::new("cp")
        .arg("-a")
        .arg(&data)
        .arg(&saved)
        .status()
        .unwrap();
    assert!(moved.success());
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o"])
        .arg(format!("size={}k", used + 200 * 1024))
        .arg("tmpfs")
        .arg(&data)
        .status()
        .unwrap();
    assert!(
        mounted.success(),
        "mount -t tmpfs failed (the test needs root)"
    );
    let _tmpfs = Tmpfs(data.clone());
    let copied = Command::new("sh")
        .arg("-c")
        .arg(r#"cp -a "$1"/. "$2"/"#)
        .arg("sh")
        .arg(&saved)
        .arg(&data)
        .status()
        .unwrap();
    assert!(copied.success());
    lab.service("etcd-1", "start", "etcd");
    wait_healthy(&lab);
    let free = free_kib(&data);
    let filled = Command::new("fallocate")
        .arg("-l")
        .arg(format!("{}KiB", free.saturating_sub(8 * 1024)))
        .arg(data.join("filler"))
        .status()
        .unwrap();
    assert!(filled.success(), "fallocate on the tmpfs");
    let small = snapshot(&lab);
    let inv = ws.inventory("small-disk", &ws.lab_inventory);
    failures.extend(run_cases(
        vec![Case::new(
            "too little free disk for the backup",
            FAILED,
            run(&shipped("v2-to-v3.rhai"), &inv),
            &[
                "preflight",
                "etcd-1",
                "not enough disk space",
                "free at least",
            ],
        )],
        1,
    ));
    assert_unchanged(&lab, &small, "too little free disk for the backup");

    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        count + 2,
        failures.join("\n\n")
    );
    eprintln!("{} bad-input cases in {:.0?}", count + 2, started.elapsed());
}
