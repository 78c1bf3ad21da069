//! Read-only cluster primitives against a real TLS lab: health (v2 and v3),
//! endpoint status checked against etcdctl, raft index convergence, and hashkv
//! agreement, both as Rust operations and as Rhai methods through the binary.

use crate::support::command::{run_script, write_file};
use crate::support::etcd::{etcdctl, runtime};
use crate::support::lab::TestLab;
use runbook::interrupt::Interrupt;
use runbook::inventory::Inventory;
use runbook::ops::etcd::cluster::status::{self, hex_id};
use runbook::ops::etcd::{cluster::hashkv, cluster::health, EtcdAccess, EtcdMember};
use runbook::transport::TransportPool;
use std::path::Path;
use std::sync::Arc;

fn members(inventory: &Path) -> Vec<EtcdMember> {
    let inventory = Inventory::load(inventory, &[]).expect("lab inventory loads");
    inventory
        .group("etcd")
        .expect("an [etcd] group")
        .into_iter()
        .map(|host| EtcdMember::from_host(host).expect("member from host"))
        .collect()
}

fn access() -> EtcdAccess {
    EtcdAccess::new(Arc::new(TransportPool::new()), Interrupt::new())
}

fn put(env: &[(String, String)], key: &str, value: &str) {
    let out = etcdctl(env, 3, &["put", key, value]);
    assert_eq!(out.code, 0, "etcdctl put: {}", out.stderr);
}

/// `etcdctl endpoint status -w json` of one endpoint.
fn etcdctl_status(env: &[(String, String)], endpoint: &str) -> serde_json::Value {
    let mut env: Vec<(String, String)> = env
        .iter()
        .filter(|(name, _)| name != "ETCDCTL_ENDPOINTS")
        .cloned()
        .collect();
    env.push(("ETCDCTL_ENDPOINTS".into(), endpoint.into()));
    let out = etcdctl(&env, 3, &["endpoint", "status", "-w", "json"]);
    assert_eq!(out.code, 0, "etcdctl endpoint status: {}", out.stderr);
    let parsed: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON status");
    parsed[0]["Status"].clone()
}

#[test]
fn health_status_convergence_and_hashkv_on_a_lab_with_a_member_stopped() {
    let lab = TestLab::up(&["--tls", "--keys", "200"]);
    let env = lab.env();
    let work = tempfile::tempdir().unwrap();
    let inventory = lab.inventory();
    let members = members(&inventory);
    assert_eq!(members.len(), 3);
    put(&env, "/probe/a", "1");
    let rt = runtime();

    // Rust level: health, status against etcdctl, hashkv.
    {
        let access = access();
        let report = rt.block_on(health::check(&access, &members)).unwrap();
        assert!(report.healthy(), "{}", report.table());
        assert!(report
            .members
            .iter()
            .all(|m| m.v2_healthy && m.v3_healthy && m.error.is_none()));

        let cluster = rt.block_on(status::collect(&access, &members, access.timeout()));
        assert!(cluster.all_reachable(), "{}", cluster.table());
        let leaders: Vec<_> = cluster
            .members
            .iter()
            .filter(|m| m.status.as_ref().unwrap().is_leader())
            .collect();
        assert_eq!(leaders.len(), 1, "{}", cluster.table());
        for (member, ours) in members.iter().zip(&cluster.members) {
            let ours = ours.status.as_ref().unwrap();
            let theirs = etcdctl_status(&env, &member.endpoint.client_url);
            assert_eq!(ours.id, theirs["header"]["member_id"].as_u64().unwrap());
            assert_eq!(ours.leader, theirs["leader"].as_u64().unwrap());
            assert_eq!(ours.raft_term, theirs["raftTerm"].as_u64().unwrap());
            assert_eq!(ours.version, theirs["version"].as_str().unwrap());
            // Read a moment before etcdctl's: equal, or a few internal entries behind.
            let their_index = theirs["raftIndex"].as_u64().unwrap();
            assert!(
                ours.raft_index <= their_index && their_index - ours.raft_index < 10,
                "ours {} etcdctl {their_index}",
                ours.raft_index
            );
            let their_applied = theirs["raftAppliedIndex"].as_u64().unwrap();
            assert!(
                ours.raft_applied_index > 0 && ours.raft_applied_index <= their_applied,
                "ours {} etcdctl {their_applied}",
                ours.raft_applied_index
            );
        }
        let table = cluster.table();
        assert!(table.contains("RAFT APPLIED INDEX"), "{table}");
        assert!(
            table.contains(&hex_id(leaders[0].status.as_ref().unwrap().id)),
            "{table}"
        );

        let hashes = rt.block_on(hashkv::collect(&access, &members)).unwrap();
        assert!(hashes.agree(), "{}", hashes.table());
        assert!(hashes.revision >= 2, "a put was made: {}", hashes.revision);
        assert!(hashes.expect_agree().is_ok());
    }

    // Rhai level on the healthy cluster.
    let script = r#"
let h = etcd.expect_healthy();
print(h);
print(`healthy=${h.healthy} count=${h.members.len()} v2=${h.members[1].v2_healthy}`);
let s = etcd.status();
print(s);
for m in s.members { print(`member ${m.member} id=${m.id} leader=${m.leader} term=${m.raft_term}`); }
let c = etcd.wait_converged(#{tolerance: 0, timeout: "20s", interval: "200ms"});
print(`converged=${c.reachable}`);
let k = etcd.expect_hashkv_agree();
print(k);
print(`agree=${k.agree} revision=${k.revision} hash_equal=${k.members[0].hash == k.members[2].hash}`);
"#;
    let done = run_script(work.path(), &inventory, "healthy.rhai", script)
        .success()
        .stdout_has("healthy=true count=3 v2=true")
        .stdout_has("| V2 HEALTHY | V3 HEALTHY |")
        .stdout_has("converged=true")
        .stdout_has("agree=true")
        .stdout_has("hash_equal=true")
        .stderr_has("etcd raft indexes converged");
    let theirs = etcdctl_status(&env, &members[0].endpoint.client_url);
    let leader = format!("leader={:x}", theirs["leader"].as_u64().unwrap());
    assert_eq!(done.stdout.matches(&leader).count(), 3, "{}", done.stdout);
    let id = format!(
        "member etcd-1 id={:x} ",
        theirs["header"]["member_id"].as_u64().unwrap()
    );
    assert!(done.stdout.contains(&id), "{}\n{}", id, done.stdout);

    // Bad options are errors naming the option.
    let script = r#"
for o in [#{tolerance: -1}, #{timeout: "soon"}, #{interval: 5}, #{toleranse: 1}] {
    try { etcd.wait_converged(o); print("no error"); } catch (e) { print(`${e.code}: ${e.message}`); }
}
"#;
    let done = run_script(work.path(), &inventory, "options.rhai", script).success();
    assert!(!done.stdout.contains("no error"), "{}", done.stdout);
    for needle in [
        "runbook::option: etcd.wait_converged option `tolerance` must be a whole number >= 0, not `-1`",
        "etcd.wait_converged option `timeout`:",
        "runbook::option: etcd.wait_converged option `interval` must be a duration, not `5`",
        "runbook::option: etcd.wait_converged has no option `toleranse`",
    ] {
        assert!(done.stdout.contains(needle), "{needle}\n{}", done.stdout);
    }

    // Stop etcd-2 through its service; write while it is down.
    let script = r#"inventory.host("etcd-2").service("etcd").stop();"#;
    run_script(work.path(), &inventory, "stop.rhai", script).success();
    for i in 0..5 {
        put(&env, &format!("/probe/while-down/{i}"), "x");
    }
    {
        let access = access();
        let report = rt.block_on(health::check(&access, &members)).unwrap();
        let unhealthy: Vec<_> = report
            .unhealthy()
            .iter()
            .map(|m| m.member.clone())
            .collect();
        assert_eq!(unhealthy, vec!["etcd-2".to_string()], "{}", report.table());
        let error = report.expect_healthy().unwrap_err();
        assert!(
            error.to_string().contains("etcd-2 (https://127.0.0.1:"),
            "{error}"
        );
        assert!(error.to_string().contains("Connection refused"), "{error}");
    }
    let script = r#"
let h = etcd.health();
print(`unhealthy=${h.unhealthy} healthy=${h.healthy}`);
etcd.expect_healthy();
print("not reached");
"#;
    let done = run_script(work.path(), &inventory, "unhealthy.rhai", script)
        .code(1)
        .stdout_has(r#"unhealthy=["etcd-2"] healthy=false"#)
        .stderr_has("1 etcd member(s) unhealthy")
        .stderr_has("etcd-2 (https://127.0.0.1:")
        .stderr_has("systemctl status etcd");
    assert!(!done.stdout.contains("not reached"));
    assert!(!done.stderr.contains("etcd-1 (https"), "{}", done.stderr);
    assert!(!done.stderr.contains("etcd-3 (https"), "{}", done.stderr);

    // The stopped member stays behind: waiting throws on timeout, with the indexes.
    let script = r#"etcd.wait_converged(#{tolerance: 0, timeout: "2s", interval: "500ms"});
print("not reached");"#;
    let done = run_script(work.path(), &inventory, "diverged.rhai", script)
        .code(1)
        .stderr_has("runbook::etcd::not_converged")
        .stderr_has("did not converge within 2s (tolerance 0)")
        .stderr_has("etcd-2=unreachable")
        .stderr_has("waiting for etcd raft indexes to converge")
        .stderr_has("check etcd on etcd-2");
    assert!(!done.stdout.contains("not reached"));

    // Started again, it catches up and the wait succeeds.
    let script = r#"inventory.host("etcd-2").service("etcd").start();
let s = etcd.wait_converged(#{tolerance: 0, timeout: "30s", interval: "300ms"});
let indexes = s.members.map(|m| m.raft_index);
print(`indexes=${indexes}`);
etcd.expect_healthy();
etcd.expect_hashkv_agree();
print("caught up");"#;
    let done = run_script(work.path(), &inventory, "caught_up.rhai", script)
        .success()
        .stdout_has("caught up");
    let line = done
        .stdout
        .lines()
        .find(|l| l.starts_with("indexes="))
        .unwrap();
    let indexes: Vec<u64> = serde_json::from_str(line.trim_start_matches("indexes=")).unwrap();
    assert_eq!(indexes.len(), 3);
    assert!(indexes.iter().all(|i| *i == indexes[0]), "{line}");
}

#[test]
fn hashkv_disagreement_names_the_member_with_other_data() {
    // Two labs hold different data; one inventory lists members of both.
    let a = TestLab::up(&["--tls", "--keys", "50"]);
    let b = TestLab::up(&["--tls", "--keys", "50", "--members", "1"]);
    put(&a.env(), "/data", "from lab a");
    put(&b.env(), "/data", "from lab b");
    let inventory_b = std::fs::read_to_string(b.inventory()).unwrap();
    let b_member = inventory_b
        .lines()
        .find(|l| l.starts_with("etcd-1 "))
        .expect("etcd-1 line in lab b's inventory")
        .replacen("etcd-1 ", "other-1 ", 1);
    let mut combined = std::fs::read_to_string(a.inventory()).unwrap();
    combined.push_str(&b_member);
    combined.push('\n');
    let work = tempfile::tempdir().unwrap();
    let inventory = write_file(work.path(), "inventory.ini", &combined);

    let rt = runtime();
    let access = access();
    let members = members(&inventory);
    assert_eq!(members.len(), 4);
    let hashes = rt.block_on(hashkv::collect(&access, &members)).unwrap();
    assert!(!hashes.agree(), "{}", hashes.table());
    let ok: Vec<u32> = hashes
        .members
        .iter()
        .map(|m| m.result.as_ref().expect("every member hashes").hash)
        .collect();
    assert_eq!(ok[0], ok[1]);
    assert_eq!(ok[1], ok[2]);
    assert_ne!(ok[0], ok[3]);
    assert_eq!(hashes.majority_hash(), Some(ok[0]));

    let script = r#"
let k = etcd.hashkv();
print(`agree=${k.agree}`);
etcd.expect_hashkv_agree();
print("not reached");
"#;
    let done = run_script(work.path(), &inventory, "hashkv.rhai", script)
        .code(1)
        .stdout_has("agree=false")
        .stderr_has("runbook::etcd::hashkv_differ")
        .stderr_has("other-1 [member etcd-1] (https://127.0.0.1:")
        .stderr_has(&format!("hash {} differs from {}", ok[3], ok[0]));
    assert!(!done.stdout.contains("not reached"));
    assert!(!done.stderr.contains("etcd-2 (https"), "{}", done.stderr);
}
