//! `etcd.migrate()` against real labs: each guard refuses with its own code,
//! a real migration of a stopped member produces v3 data that etcd serves,
//! and the migration recorded on the members refuses a second run from a new
//! `runbook run` (fresh run facts).

use crate::support::command::run_script;
use crate::support::etcd::{etcdctl, wait_until};
use crate::support::lab::TestLab;
use crate::support::process::Killed;
use runbook::inventory::Inventory;
use runbook::ops::etcd::EtcdMember;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs the lab's service controller on one member (`start`, `stop`).
fn service(lab: &TestLab, host: &str, action: &str) {
    let status = Command::new(lab.dir.join("bin/lab-service"))
        .arg(lab.host_dir(host))
        .args([action, "etcd"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "lab-service {action} etcd on {host}");
}

fn member(lab: &TestLab, host: &str) -> EtcdMember {
    let inventory = Inventory::load(&lab.inventory(), &[]).unwrap();
    EtcdMember::from_host(inventory.host(host).unwrap()).unwrap()
}

/// Prints `NAME: code` for a refused migrate, `NAME: ok result` otherwise.
const TRY: &str = r#"
fn attempt(name, host) {
    try { let r = etcd.migrate(host); print(`${name}: ok ${r.result}`); }
    catch (e) { print(`${name}: ${e.code} | ${e.message} | ${e.help}`); }
}
fn stop_all() { for m in inventory.group("etcd") { m.service("etcd").stop(); } }
fn start_all() { for m in inventory.group("etcd") { m.service("etcd").start(); } }
fn count_when_up() {
    for i in 0..50 {
        try { return etcd.v3_key_count(); } catch { inventory.host("etcd-1").run("sleep 0.2"); }
    }
    etcd.v3_key_count()
}
"#;

#[test]
fn refuses_until_every_guard_holds_migrates_once_and_records_it() {
    let lab = TestLab::up(&["--tls", "--keys", "100"]);
    let work = tempfile::tempdir().unwrap();
    let env = lab.env();
    let put = etcdctl(&env, 2, &["set", "/runbook-test/migrated", "v2-value"]);
    assert_eq!(put.code, 0, "{}", put.stderr);

    // Run 1: etcd running; then counted and stopped but never backed up.
    run_script(work.path(), &lab.inventory(),
        "one.rhai",
        &format!(
            r#"{TRY}
            attempt("running", "etcd-1");
            print(`count ${{etcd.v3_key_count()}}`);
            stop_all();
            attempt("no-backup", inventory.group("etcd")[0]);
            "#
        ),
    )
    .success()
    .stdout_has("running: runbook::etcd::running::service | etcd is still running on etcd-1")
    .stdout_has("count 0")
    .stdout_has("no-backup: runbook::etcd::migrate::no_backup | no verified backup of etcd-1 in this run | run etcd.backup()");

    // Run 2 (fresh facts, etcd stopped): never counted; then the whole procedure.
    run_script(work.path(), &lab.inventory(),
        "two.rhai",
        &format!(
            r#"{TRY}
            attempt("unchecked", "etcd-1");
            start_all();
            print(`count ${{count_when_up()}}`);
            let backups = etcd.backup();
            stop_all();
            attempt("migrate", "etcd-1");
            attempt("again", "etcd-1");
            "#
        ),
    )
    .success()
    .stdout_has("unchecked: runbook::etcd::migrate::keys_unchecked | the v3 key count was never checked in this run | run etcd.v3_key_count() while etcd is up, before stopping it")
    .stdout_has("count 0")
    .stdout_has("migrate: ok migrated")
    .stdout_has("again: runbook::etcd::migrate::already_migrated");

    // Recorded on every member, before and after.
    for host in ["etcd-1", "etcd-2", "etcd-3"] {
        let path = lab
            .host_dir(host)
            .join("var/lib/etcd/runbook-v2-to-v3-migration.json");
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(record["state"], "finished", "{record}");
        assert_eq!(record["migrated_host"], "etcd-1");
        assert_eq!(record["result"], "migrated");
    }

    // The v3 data really exists: etcd-1 started alone with ETCD_FORCE_NEW_CLUSTER
    // serves the v2 key through the v3 API.
    let conf = lab.host_dir("etcd-1").join("etc/etcd/etcd.conf");
    let original = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, format!("{original}\nETCD_FORCE_NEW_CLUSTER=true\n")).unwrap();
    service(&lab, "etcd-1", "start");
    let url = member(&lab, "etcd-1").endpoint.client_url;
    let only_etcd1: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| match k.as_str() {
            "ETCDCTL_ENDPOINTS" => (k.clone(), url.clone()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let mut seen = String::new();
    let served = wait_until(Duration::from_secs(20), || {
        let got = etcdctl(
            &only_etcd1,
            3,
            &["get", "/runbook-test/migrated", "--print-value-only"],
        );
        seen = if got.code == 0 {
            got.stdout.trim().to_string()
        } else {
            got.stderr.trim().to_string()
        };
        got.code == 0 && !seen.is_empty()
    });
    service(&lab, "etcd-1", "stop");
    std::fs::write(&conf, original).unwrap();
    assert!(served, "etcd-1 did not serve the migrated key: {seen}");
    assert_eq!(seen, "v2-value");

    // Run 3 (fresh facts): the record on the members refuses, on any member.
    run_script(work.path(), &lab.inventory(),
        "three.rhai",
        &format!("{TRY}\nattempt(\"other\", \"etcd-2\");\netcd.migrate(\"etcd-1\");\n"),
    )
    .code(1)
    .stdout_has("other: runbook::etcd::migrate::already_migrated | a v2 -> v3 migration is already recorded for this cluster: etcd-1 was migrated (state finished")
    .stderr_has("runbook::etcd::migrate::already_migrated")
    .stderr_has("runbooks/rollback.rhai");
}

#[test]
fn refuses_with_v3_keys_a_held_data_dir_an_open_port_or_no_snapshot() {
    let lab = TestLab::up(&["--keys", "100"]);
    let work = tempfile::tempdir().unwrap();
    let env = lab.env();
    let put = etcdctl(&env, 3, &["put", "/registry/leftover", "v3"]);
    assert_eq!(put.code, 0, "{}", put.stderr);

    run_script(
        work.path(),
        &lab.inventory(),
        "keys.rhai",
        &format!(
            r#"{TRY}
            print(`count ${{etcd.v3_key_count()}}`);
            etcd.backup();
            stop_all();
            attempt("v3-keys", "etcd-1");
            "#
        ),
    )
    .success()
    .stdout_has("count 1")
    .stdout_has(
        "v3-keys: runbook::etcd::migrate::v3_keys | the cluster held 1 v3 key(s) when last counted",
    );

    let etcd1 = member(&lab, "etcd-1");
    let attempt = |name: &str| {
        run_script(
            work.path(),
            &lab.inventory(),
            &format!("{name}.rhai"),
            &format!("{TRY}\nattempt(\"{name}\", \"etcd-1\");\n"),
        )
        .success()
    };

    // Service stopped, but another process holds the backend open for writing, as etcd
    // does (a process that only reads it, such as a backup's hashing, changes nothing).
    let db = Path::new(&etcd1.data_dir).join("member/snap/db");
    let holder = Killed(
        Command::new("sleep")
            .arg("60")
            .stdin(
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&db)
                    .unwrap(),
            )
            .spawn()
            .unwrap(),
    );
    let pid = holder.0.id();
    attempt("held").stdout_has(&format!(
        "held: runbook::etcd::running::process | etcd is still running on etcd-1: process(es) {pid} (sleep) hold files of"
    ));
    drop(holder);

    // Nothing holds the data dir, but something answers on the client port.
    let port = etcd1
        .endpoint
        .client_url
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let listener = std::net::TcpListener::bind(format!("127.0.0.1:{port}")).unwrap();
    attempt("port").stdout_has(&format!(
        "port: runbook::etcd::running::port | etcd is still running on etcd-1: its client port 127.0.0.1:{port} accepts connections"
    ));
    drop(listener);

    // No v2 snapshot left in member/snap.
    let snap_dir = Path::new(&etcd1.data_dir).join("member/snap");
    let aside = work.path().join("snaps");
    std::fs::create_dir_all(&aside).unwrap();
    for entry in std::fs::read_dir(&snap_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snap") {
            std::fs::rename(&path, aside.join(path.file_name().unwrap())).unwrap();
        }
    }
    attempt("snap").stdout_has(
        "snap: runbook::etcd::migrate::no_snapshot | etcd-1 has no v2 snapshot (*.snap) in",
    );
    // Nothing was migrated or recorded by the refusals.
    assert!(!Path::new(&etcd1.data_dir)
        .join("runbook-v2-to-v3-migration.json")
        .exists());
}

/// A first member whose WAL ends with entries that were never committed (its followers gone
/// while it still led): `etcdctl migrate` gives the backend the index of the last of them,
/// force-new-cluster goes on from the commit index, and etcd would apply no write until
/// the log is past it. The new cluster's first write must still work at once. The gap has
/// to be wider than the entries etcd appends itself on the new cluster's start, or the
/// fill is not needed: the writes come in bursts across the moment the quorum is lost.
#[test]
fn the_first_write_after_the_new_cluster_works_when_the_wal_ended_uncommitted() {
    let lab = TestLab::up(&["--tls", "--keys", "500"]);
    let env = lab.env();
    let state =
        runbook::lab::state::LabState::load(&runbook::lab::layout::LabLayout::new(&lab.dir))
            .unwrap();
    let url = state.client_urls()[0].clone();
    let work = tempfile::tempdir().unwrap();
    // etcd-1 leads, so the writes below reach a leader whose followers are gone.
    let listed = etcdctl(&env, 3, &["member", "list", "-w", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let first = listed["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "etcd-1")
        .unwrap()["ID"]
        .as_u64()
        .unwrap();
    let moved = etcdctl(&env, 3, &["move-leader", &format!("{first:x}")]);
    assert!(
        moved.code == 0 || moved.stderr.contains("already leader"),
        "{}",
        moved.stderr
    );
    let script = format!(
        r#"
step("count", || etcd.v3_key_count());
step("leave uncommitted entries on etcd-1", || {{
    // Bursts of writes from before the followers stop until after etcd-1 has lost its
    // quorum: those sent in between are appended to its log and never committed, however
    // long the stops take on a loaded machine.
    let first = inventory.host("etcd-1");
    first.try_run(". {env} && unset ETCDCTL_ENDPOINTS && (while [ ! -e {done} ]; do for j in 1 2 3 4 5 6; do etcdctl2 --endpoints {url} --timeout 100ms --total-timeout 100ms set /runbook-test/uncommitted-$j x >/dev/null 2>&1 & done; sleep 0.1; done; wait; touch {stopped}) >/dev/null 2>&1 </dev/null &");
    etcd.stop(#{{hosts: ["etcd-2", "etcd-3"]}});
    first.run("sleep 2; touch {done}; while [ ! -e {stopped} ]; do sleep 0.1; done");
    etcd.stop(#{{hosts: ["etcd-1"]}});
}});
step("backup", || etcd.backup(#{{stopped: true}}));
step("migrate", || etcd.migrate("etcd-1"));
step("new cluster", || etcd.force_new_cluster("etcd-1", #{{restart: false}}));
step("write", || inventory.host("etcd-1").run(". {env} && unset ETCDCTL_ENDPOINTS && ETCDCTL_API=3 etcdctl --endpoints {url} --command-timeout 3s put /runbook-test/after x"));
"#,
        env = lab.dir.join("env").display(),
        done = work.path().join("writes-done").display(),
        stopped = work.path().join("writes-stopped").display(),
    );
    let run = run_script(work.path(), &lab.inventory(), "uncommitted.rhai", &script);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 0, "{said}");
    assert!(
        said.contains("member update(s) that change nothing filled it"),
        "{said}"
    );
    let log = std::fs::read_to_string(lab.host_dir("etcd-1").join("var/log/etcd.log")).unwrap();
    let discarded: u64 = log
        .lines()
        .find_map(|l| {
            l.split("discarding ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no discarded entries in etcd-1's log:\n{log}"));
    assert!(discarded >= 3, "{discarded} uncommitted entries");
    // Only etcd-1 runs: plain etcdctl reaches it among the lab's endpoints.
    let after = etcdctl(
        &env,
        3,
        &["get", "/runbook-test/after", "--print-value-only"],
    );
    assert_eq!(after.stdout.trim(), "x", "{}", after.stderr);
}
