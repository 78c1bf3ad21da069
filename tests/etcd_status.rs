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

    // Through a runbook: a host of [etcd] that the cluster does not list is not left out of
    // the checks (only members this run removed are): its other data is what they must show.
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
    assert!(!done.stderr.contains("is left out"), "{}", done.stderr);
}

/// `etcdctl ARGS` run against one endpoint only.
fn etcdctl_at(
    env: &[(String, String)],
    endpoint: &str,
    args: &[&str],
) -> crate::support::etcd::CtlOutput {
    let mut env: Vec<(String, String)> = env
        .iter()
        .filter(|(name, _)| name != "ETCDCTL_ENDPOINTS")
        .cloned()
        .collect();
    env.push(("ETCDCTL_ENDPOINTS".into(), endpoint.into()));
    etcdctl(&env, 3, args)
}

/// The host (of `members`) whose etcd has the member id `id`, as etcdctl reports ids.
fn host_with_id(env: &[(String, String)], members: &[EtcdMember], id: u64) -> String {
    members
        .iter()
        .find(|m| {
            etcdctl_status(env, &m.endpoint.client_url)["header"]["member_id"].as_u64() == Some(id)
        })
        .map(|m| m.host.name.clone())
        .expect("a member with the leader's id")
}

/// Runs `script` with `--output json` and returns the value it ended with.
fn script_value(dir: &Path, inventory: &Path, name: &str, script: &str) -> serde_json::Value {
    write_file(dir, name, script);
    let done = crate::support::command::Runbook::new()
        .current_dir(dir)
        .args(["--output", "json", "run", name, "-i"])
        .arg(inventory)
        .run()
        .success();
    crate::support::command::json_result(&done.stdout)["value"].clone()
}

fn keys(map: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = map.as_object().expect("a map").keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn status_fields_match_etcdctl_and_keep_their_shape_with_a_member_stopped() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let env = lab.env();
    let work = tempfile::tempdir().unwrap();
    let inventory = lab.inventory();
    let members = members(&inventory);
    put(&env, "/probe/a", "1");
    // Stop a follower, so that the leader stays where it is.
    let leader_id = etcdctl_status(&env, &members[0].endpoint.client_url)["leader"]
        .as_u64()
        .unwrap();
    let leader = host_with_id(&env, &members, leader_id);
    let stopped = members
        .iter()
        .find(|m| m.host.name != leader)
        .unwrap()
        .host
        .name
        .clone();
    lab.service(&stopped, "stop", "etcd");

    let value = script_value(
        work.path(),
        &inventory,
        "shape.rhai",
        r#"let s = etcd.status();
#{status: s.members, leader_host: s.leader_host, reachable: s.reachable,
  health: etcd.health().members, hashkv: etcd.hashkv().members}"#,
    );
    assert_eq!(value["leader_host"], serde_json::json!(leader), "{value:#}");
    assert_eq!(value["reachable"], serde_json::json!(false));
    let status = value["status"].as_array().unwrap();
    assert_eq!(status.len(), 3);
    let answering = status
        .iter()
        .find(|m| m["host"] != stopped.as_str())
        .unwrap();
    for (kind, identity) in [
        ("status", vec!["endpoint", "error", "host", "member"]),
        ("health", vec!["endpoint", "error", "host", "member"]),
        ("hashkv", vec!["endpoint", "error", "host", "member"]),
    ] {
        let maps = value[kind].as_array().unwrap();
        let shape = keys(&maps[0]);
        for map in maps {
            assert_eq!(keys(map), shape, "{kind} maps differ in shape: {value:#}");
        }
        let down = maps.iter().find(|m| m["host"] == stopped.as_str()).unwrap();
        assert!(
            down["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{kind}: {down:#}"
        );
        if kind != "health" {
            for key in shape.iter().filter(|k| !identity.contains(&k.as_str())) {
                assert!(
                    down[key].is_null(),
                    "{kind}.{key} of the stopped member: {down:#}"
                );
            }
        }
    }
    assert!(keys(answering).contains(&"db_size_in_use".to_string()));

    // The rows' fields are fixed: the known ones read and copy as a map's do, and a
    // misspelt one is an error that names the field meant and the line, not a quiet ().
    let done = run_script(
        work.path(),
        &inventory,
        "misspelt.rhai",
        r#"let leaders = etcd.status().members.filter(|m| m.is_leader == true);
let m = leaders[0].to_map(); m.note = "copied";
print(`leader: ${leaders.len()} ${m.host} ${m.note} ${"is_leader" in leaders[0]}`);
let typo = etcd.status().members.filter(|m| m.is_leadr == true);
print("not reached");
"#,
    )
    .code(1)
    .stdout_has(&format!("leader: 1 {leader} copied true"))
    .stderr_has("an etcd.status() member has no field `is_leadr`")
    .stderr_has("did you mean `is_leader`?")
    .stderr_has("misspelt.rhai:4:");
    assert!(!done.stdout.contains("not reached"), "{}", done.stdout);
    run_script(
        work.path(),
        &inventory,
        "counts.rhai",
        "print(etcd.key_counts()[0].v4);",
    )
    .code(1)
    .stderr_has("an etcd.key_counts() entry has no field `v4`")
    .stderr_has("did you mean one of `v2`, `v3`?");

    for ours in status.iter().filter(|m| m["host"] != stopped.as_str()) {
        let endpoint = members
            .iter()
            .find(|m| ours["host"] == m.host.name.as_str())
            .unwrap()
            .endpoint
            .client_url
            .clone();
        let theirs = etcdctl_status(&env, &endpoint);
        assert_eq!(
            ours["id"],
            serde_json::json!(format!(
                "{:x}",
                theirs["header"]["member_id"].as_u64().unwrap()
            ))
        );
        assert_eq!(ours["leader"], serde_json::json!(format!("{leader_id:x}")));
        assert_eq!(ours["leader_host"], serde_json::json!(leader));
        assert_eq!(
            ours["is_leader"],
            serde_json::json!(ours["host"] == leader.as_str())
        );
        assert_eq!(ours["version"], theirs["version"]);
        assert_eq!(ours["raft_term"], theirs["raftTerm"]);
        assert_eq!(ours["db_size"], theirs["dbSize"], "{ours:#}\n{theirs:#}");
        let (in_use, their_in_use) = (
            ours["db_size_in_use"].as_i64().unwrap(),
            theirs["dbSizeInUse"].as_i64().unwrap(),
        );
        // A page or two may move between the two reads.
        assert!(
            in_use > 0 && (in_use - their_in_use).abs() <= 16384,
            "ours {in_use} etcdctl {their_in_use}"
        );
        assert!(in_use <= ours["db_size"].as_i64().unwrap());
    }
    let etcdctl_down = etcdctl_at(
        &env,
        &members
            .iter()
            .find(|m| m.host.name == stopped)
            .unwrap()
            .endpoint
            .client_url,
        &["endpoint", "status", "--command-timeout", "2s"],
    );
    assert_ne!(
        etcdctl_down.code, 0,
        "etcdctl reaches the stopped member too"
    );

    // Health by host: the stopped member alone fails, the others pass.
    let script = format!(
        r#"
etcd.expect_healthy(#{{except: ["{stopped}"]}});
print("others healthy");
try {{ etcd.expect_healthy(#{{hosts: ["{stopped}"]}}); print("not reached"); }} catch (e) {{ print(`only: ${{e.code}}`); }}
try {{ etcd.wait_healthy("{stopped}", #{{timeout: "1s"}}); print("not reached"); }} catch (e) {{ print(`wait: ${{e.code}}: ${{e.message}}`); }}
try {{ etcd.expect_healthy(#{{hosts: ["nobody"]}}); }} catch (e) {{ print(`unknown: ${{e.code}}`); }}
try {{ etcd.wait_healthy("{stopped}", #{{timeut: "1s"}}); }} catch (e) {{ print(`option: ${{e.code}}`); }}
"#
    );
    let done = run_script(work.path(), &inventory, "by_host.rhai", &script)
        .success()
        .stdout_has("others healthy")
        .stdout_has("only: runbook::etcd::unhealthy")
        .stdout_has(&format!(
            "wait: runbook::etcd::not_healthy: etcd on {stopped} was not healthy within 1s: "
        ))
        .stdout_has("unknown: runbook::etcd::not_a_member")
        .stdout_has("option: runbook::option");
    assert!(!done.stdout.contains("not reached"), "{}", done.stdout);

    // Started again, wait_healthy returns once it serves.
    lab.service(&stopped, "start", "etcd");
    let script = format!(
        r#"let m = etcd.wait_healthy("{stopped}", #{{timeout: "1m"}}); print(`waited: ${{m.host}} ${{m.healthy}} ${{m.error}}`);"#
    );
    run_script(work.path(), &inventory, "wait.rhai", &script)
        .success()
        .stdout_has(&format!("waited: {stopped} true "));

    // Removed in the run, the member is left out of every view, said once.
    lab.service(&stopped, "stop", "etcd");
    let script = format!(
        r#"
etcd.member_remove("{stopped}");
print(`health: ${{etcd.expect_healthy().members.map(|m| m.host)}}`);
print(`status: ${{etcd.status().members.map(|m| m.host)}} reachable=${{etcd.status().reachable}}`);
print(`hashkv: ${{etcd.expect_hashkv_agree().members.len()}}`);
print(`converged: ${{etcd.wait_converged(#{{tolerance: 2, timeout: "20s", interval: "200ms"}}).members.len()}}`);
"#
    );
    let done = run_script(work.path(), &inventory, "removed.rhai", &script).success();
    let others: Vec<String> = members
        .iter()
        .filter(|m| m.host.name != stopped)
        .map(|m| format!("{:?}", m.host.name))
        .collect();
    let others = format!("[{}]", others.join(", "));
    assert!(
        done.stdout.contains(&format!("health: {others}")),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout
            .contains(&format!("status: {others} reachable=true")),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("hashkv: 2"), "{}", done.stdout);
    assert!(done.stdout.contains("converged: 2"), "{}", done.stdout);
    let note = format!(
        "{stopped} is left out of etcd health, status, hashkv and convergence: its member was removed in this run"
    );
    assert_eq!(done.stderr.matches(&note).count(), 1, "{}", done.stderr);
    let listed = etcdctl(&env, 3, &["member", "list"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.stdout.lines().count(), 2, "{}", listed.stdout);
    assert!(
        !listed.stdout.contains(&format!(", {stopped}, ")),
        "{}",
        listed.stdout
    );
}

#[test]
fn hashkv_agrees_on_a_compacted_quiet_cluster() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let env = lab.env();
    let work = tempfile::tempdir().unwrap();
    let inventory = lab.inventory();
    let members = members(&inventory);
    for i in 0..10 {
        put(&env, &format!("/compacted/{i}"), "x");
    }
    let deleted = etcdctl(&env, 3, &["del", "/compacted/0", "/compacted/5"]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    let revision = etcdctl_status(&env, &members[0].endpoint.client_url)["header"]["revision"]
        .as_i64()
        .unwrap();
    let compacted = etcdctl(&env, 3, &["compact", &revision.to_string()]);
    assert_eq!(compacted.code, 0, "{}", compacted.stderr);
    // The cause: etcd refuses to hash at the compact revision.
    let refused = etcdctl(
        &env,
        3,
        &["endpoint", "hashkv", "--rev", &revision.to_string()],
    );
    assert!(
        format!("{}{}", refused.stdout, refused.stderr)
            .contains("required revision has been compacted"),
        "{}{}",
        refused.stdout,
        refused.stderr
    );

    let value = script_value(
        work.path(),
        &inventory,
        "compacted.rhai",
        "let k = etcd.expect_hashkv_agree(); #{revision: k.revision, members: k.members}",
    );
    assert_eq!(value["revision"], serde_json::json!(revision), "{value:#}");
    let oracle = etcdctl(&env, 3, &["endpoint", "hashkv", "--cluster", "-w", "json"]);
    assert_eq!(oracle.code, 0, "{}", oracle.stderr);
    let oracle: serde_json::Value = serde_json::from_str(&oracle.stdout).unwrap();
    for ours in value["members"].as_array().unwrap() {
        let theirs = oracle
            .as_array()
            .unwrap()
            .iter()
            .find(|t| {
                ours["endpoint"]
                    .as_str()
                    .unwrap()
                    .starts_with(t["Endpoint"].as_str().unwrap())
            })
            .unwrap_or_else(|| panic!("{ours} not in {oracle}"));
        assert_eq!(ours["hash"], theirs["HashKV"]["hash"], "{ours}\n{theirs}");
        assert_eq!(ours["revision"], theirs["HashKV"]["header"]["revision"]);
        assert_eq!(ours["compact_revision"], serde_json::json!(revision));
        assert_eq!(
            ours["compact_revision"],
            theirs["HashKV"]["compact_revision"]
        );
    }
}
