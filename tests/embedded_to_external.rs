//! `embedded-to-external.rhai` and `external-to-embedded.rhai` on `lab up --layout embedded
//! --tls`, with the lab's spare host `etcd-1` as the new member and `inventory-external.ini`
//! (openshift-ansible's embedded2external inventory): the embedded etcd's v2 data, and its
//! v3 data after a migration, arrive identical (keys, values, indexes and revisions,
//! leases); `v2-to-v3.rhai` then migrates the external member; the way back gives the
//! master its embedded etcd with the data of the external member and its config's bytes.
//! Checked with plain etcdctl, openssl, GNU diff and the files on disk.

use crate::support::command::{says, Finished, Runbook};
use crate::support::etcd::etcdctl;
use crate::support::files::changed_lines;
use crate::support::lab::TestLab;
use crate::support::migration::{migration, v2_leaves_through, v3_keys, v3_keys_through, V2Key};
use crate::support::running::Running;
use crate::support::sshd::Sshd;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LAB: [&str; 5] = ["--layout", "embedded", "--tls", "--keys", "400"];

fn show(finished: &Finished) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        finished.code, finished.stdout, finished.stderr
    )
}

fn master_dir(lab: &TestLab) -> PathBuf {
    lab.host_dir("master-1").join("etc/origin/master")
}

fn run(script: &str, inventory: &Path) -> Finished {
    Runbook::new()
        .args(["run", script, "-i"])
        .arg(inventory)
        .run()
}

/// Every v2 leaf the embedded etcd or the external member serves (seeded hidden keys too).
fn v2_of(lab: &TestLab, env: &[(String, String)]) -> BTreeMap<String, V2Key> {
    v2_leaves_through(lab, env, None, &[])
}

/// `(name, peer URLs)` of every member, through `env`.
fn members(env: &[(String, String)]) -> Vec<(String, String)> {
    let out = etcdctl(env, 3, &["member", "list", "-w", "simple"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(", ").collect();
            (fields[2].to_string(), fields[3].to_string())
        })
        .collect()
}

/// `openssl verify -CAfile ca cert` succeeds.
fn verifies(ca: &Path, cert: &Path) -> bool {
    std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .arg(cert)
        .output()
        .unwrap()
        .status
        .success()
}

/// The spare host's peer URL, from lab.json.
fn spare_peer_url(lab: &TestLab) -> String {
    let state = lab.state();
    let spare = state
        .spare
        .as_ref()
        .expect("an embedded lab has a spare host");
    format!("https://127.0.0.1:{}", spare.peer_port)
}

/// The move out on the lab: exit 0, the master pointed at etcd-1, its config changed by
/// exactly the etcdClientInfo and etcdConfig lines, the certificates openssl verifies.
fn move_out(lab: &TestLab) -> Finished {
    let config = master_dir(lab).join("master-config.yaml");
    let original = std::fs::read(&config).unwrap();
    let moved = run("embedded-to-external.rhai", &lab.external_inventory());
    assert_eq!(moved.code, 0, "{}", show(&moved));
    for needle in [
        "etcd: embedded in the master master-1, moving to the new member etcd-1",
        "<== step copy the data to etcd-1: done",
        "<== step verify the v2 data on etcd-1: done",
        "<== step verify the v3 data on etcd-1: done",
        "<== step start the master: done",
    ] {
        assert!(
            says(&moved.stderr, needle) || says(&moved.stdout, needle),
            "lacks {needle:?}\n{}",
            show(&moved)
        );
    }
    // The one member is etcd-1, at its own peer URL.
    assert_eq!(
        members(&lab.external_env()),
        [("etcd-1".to_string(), spare_peer_url(lab))]
    );
    // The embedded etcd no longer runs: its client URL answers nothing.
    let embedded = etcdctl(
        &lab.env(),
        3,
        &["endpoint", "health", "--command-timeout=2s"],
    );
    assert_ne!(embedded.code, 0, "{}", embedded.stdout);
    // The master's config: the original kept byte for byte, the change exactly these lines.
    // The newest copy (a migration before the move kept one of its own).
    let copy = std::fs::read_dir(master_dir(lab))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("master-config.yaml.runbook-"))
        .max()
        .expect("a copy of the original");
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        String::from_utf8(original).unwrap()
    );
    // Exactly: the CA and URL of etcdClientInfo, and every line of etcdConfig, which goes.
    let text = String::from_utf8(std::fs::read(&copy).unwrap()).unwrap();
    let client_url = lab
        .external_env()
        .into_iter()
        .find(|(k, _)| k == "ETCDCTL_ENDPOINTS")
        .map(|(_, v)| v)
        .unwrap();
    let embedded_url = text
        .lines()
        .skip_while(|l| *l != "etcdClientInfo:")
        .find(|l| l.starts_with("  - "))
        .unwrap()
        .to_string();
    let etcd_config: Vec<String> = text
        .lines()
        .skip_while(|l| *l != "etcdConfig:")
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with(' '))
        .map(|(_, l)| format!("-{l}"))
        .collect();
    assert!(etcd_config.len() > 10, "{etcd_config:?}");
    // etcdConfig follows etcdClientInfo's urls in the file: one hunk, its removals first.
    let mut expected = vec![
        "-  ca: ca-bundle.crt".to_string(),
        "+  ca: master.etcd-ca.crt".to_string(),
        format!("-{embedded_url}"),
    ];
    expected.extend(etcd_config);
    expected.push(format!("+  - {client_url}"));
    assert_eq!(changed_lines(&copy, &config), expected);
    // The certificates, by openssl: the member's and the master's client certificate are
    // signed by the new etcd CA; the master's old client certificate was kept as a copy.
    let etcd_dir = lab.host_dir("etcd-1").join("etc/etcd");
    let ca = etcd_dir.join("ca/ca.crt");
    for cert in [
        etcd_dir.join("server.crt"),
        etcd_dir.join("peer.crt"),
        master_dir(lab).join("master.etcd-client.crt"),
    ] {
        assert!(verifies(&ca, &cert), "{}", cert.display());
    }
    assert!(master_dir(lab)
        .join("master.etcd-client.crt.runbook-embedded")
        .exists());
    moved
}

#[test]
fn v2_data_moves_out_identical_then_migrates_on_the_external_member() {
    let lab = TestLab::up(&LAB);
    let seeded = v2_of(&lab, &lab.env());
    assert!(seeded.len() > 300, "{}", seeded.len());
    move_out(&lab);
    // Every v2 leaf, hidden ones included, with its value, indexes and expiry.
    assert_eq!(v2_of(&lab, &lab.external_env()), seeded);
    assert!(v3_keys_through(&lab.external_env()).is_empty());

    // The external layout then migrates as any other.
    let migrated = migration(&lab.external_inventory()).run();
    assert_eq!(migrated.code, 0, "{}", show(&migrated));
    let v3 = v3_keys_through(&lab.external_env());
    for (key, leaf) in &seeded {
        let got = v3.get(key).unwrap_or_else(|| panic!("{key} not in v3"));
        assert_eq!(got.value, leaf.value, "{key}");
    }
}

#[test]
fn v3_data_moves_out_identical_and_back_with_what_was_written_since() {
    let lab = TestLab::up(&LAB);
    let master_files = |lab: &TestLab| {
        [
            "master-config.yaml",
            "master.etcd-client.crt",
            "master.etcd-client.key",
        ]
        .map(|f| std::fs::read(master_dir(lab).join(f)).unwrap())
    };
    let migrated = migration(&lab.inventory()).run();
    assert_eq!(migrated.code, 0, "{}", show(&migrated));
    let embedded_files = master_files(&lab);
    let v3 = v3_keys(&lab);
    assert!(v3.len() > 300, "{}", v3.len());
    let embedded_members = lab.member_list();

    move_out(&lab);
    // Every v3 key with its value, create and mod revisions and lease.
    assert_eq!(v3_keys_through(&lab.external_env()), v3);

    // Written through the external member after the move: it must come back too.
    let put = etcdctl(
        &lab.external_env(),
        3,
        &["put", "/written/after-the-move", "yes"],
    );
    assert_eq!(put.code, 0, "{}", put.stderr);
    let written = v3_keys_through(&lab.external_env());

    let back = run("external-to-embedded.rhai", &lab.external_inventory());
    assert_eq!(back.code, 0, "{}", show(&back));
    assert_eq!(v3_keys(&lab), written);
    assert_eq!(members(&lab.env()), embedded_members);
    // The master's config and its certificates for the embedded etcd, byte for byte.
    assert_eq!(master_files(&lab), embedded_files);
    // The external member is stopped, its data in place.
    let external = etcdctl(
        &lab.external_env(),
        3,
        &["endpoint", "health", "--command-timeout=2s"],
    );
    assert_ne!(external.code, 0, "{}", external.stdout);
    assert!(lab.host_dir("etcd-1").join("var/lib/etcd/member").exists());
}

#[test]
fn killed_while_both_etcds_run_resumes_and_a_target_with_data_is_refused_before_anything_stops() {
    let lab = TestLab::up(&LAB);
    let seeded = v2_of(&lab, &lab.env());

    // A new member that already holds data: refused in preflight, the master still up.
    let stray = lab.host_dir("etcd-1").join("var/lib/etcd/member");
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::write(stray.join("left-over"), "someone's data").unwrap();
    let refused = run("embedded-to-external.rhai", &lab.external_inventory());
    assert_eq!(refused.code, 1, "{}", show(&refused));
    assert!(
        says(&refused.stderr, "etcd-1 already holds etcd data in"),
        "{}",
        show(&refused)
    );
    assert!(!says(&refused.stderr, "==> step stop the master"));
    let embedded = etcdctl(&lab.env(), 3, &["endpoint", "health"]);
    assert_eq!(
        embedded.code, 0,
        "the master's etcd still serves: {}",
        embedded.stderr
    );
    assert_eq!(
        std::fs::read_to_string(stray.join("left-over")).unwrap(),
        "someone's data"
    );
    std::fs::remove_dir_all(&stray).unwrap();

    // Killed with the new member running and the embedded etcd running on its own.
    let mut moving = Running::start(
        Runbook::new()
            .args(["run", "embedded-to-external.rhai", "-i"])
            .arg(lab.external_inventory())
            .arg("--restart"),
    );
    moving.wait_for_step_done("run master-1's etcd on its own", Duration::from_secs(180));
    moving.kill();
    let resumed = Runbook::new()
        .args(["run", "embedded-to-external.rhai", "-i"])
        .arg(lab.external_inventory())
        .arg("--resume")
        .run();
    assert_eq!(resumed.code, 0, "{}", show(&resumed));
    assert!(
        says(
            &resumed.stderr,
            "--- step copy the data to etcd-1: skipped (done in an earlier run)"
        ),
        "{}",
        show(&resumed)
    );
    assert_eq!(v2_of(&lab, &lab.external_env()), seeded);
    assert_eq!(
        members(&lab.external_env()),
        [("etcd-1".to_string(), spare_peer_url(&lab))]
    );
    let pid_file = format!(
        "{}.runbook-standalone.pid",
        lab.data_dir("master-1").display()
    );
    assert!(
        !Path::new(&pid_file).exists(),
        "the standalone etcd was stopped"
    );
}

#[test]
fn the_move_runs_over_ssh_with_the_data_streamed_between_the_hosts() {
    let sshd = Sshd::start();
    let lab = TestLab::up(&LAB);
    let seeded = v2_of(&lab, &lab.env());
    // The lab's embedded2external inventory with both hosts reached over ssh: commands,
    // files, the copy of the data and etcd's client connections (port forwards).
    let local = std::fs::read_to_string(lab.external_inventory()).unwrap();
    assert!(local.contains("ansible_connection=local"));
    let over_ssh = sshd
        .inventory_vars()
        .split(' ')
        .collect::<Vec<_>>()
        .join("\n");
    let inventory = lab.dir.join("inventory-external-ssh.ini");
    std::fs::write(
        &inventory,
        local.replace("ansible_connection=local", &over_ssh),
    )
    .unwrap();
    let moved = run("embedded-to-external.rhai", &inventory);
    assert_eq!(moved.code, 0, "{}", show(&moved));
    assert_eq!(v2_of(&lab, &lab.external_env()), seeded);
    assert_eq!(
        members(&lab.external_env()),
        [("etcd-1".to_string(), spare_peer_url(&lab))]
    );
    let log = sshd.log();
    assert!(
        log.matches("Accepted publickey").count() >= 2,
        "a session per host at least:\n{log}"
    );
}
