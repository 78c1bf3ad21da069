//! The cluster's reports as runbooks read them, on one TLS lab: status fields against plain
//! `etcdctl endpoint status`, the same keys for a member that does not answer, health gates
//! on some members (`expect_healthy(#{hosts, except})`, `wait_healthy`), and hashkv on a
//! cluster compacted at its current revision against `etcdctl endpoint hashkv`.

use crate::support::command::{json_result, write_file, Runbook};
use crate::support::etcd::etcdctl;
use crate::support::lab::TestLab;
use std::time::{Duration, Instant};

fn run_json(lab: &TestLab, name: &str, script: &str) -> crate::support::command::Finished {
    write_file(&lab.dir, name, script);
    Runbook::new()
        .current_dir(&lab.dir)
        .args(["--output", "json", "run", name, "--no-journal", "-i"])
        .arg(lab.inventory())
        .run()
}

fn revision(lab: &TestLab) -> i64 {
    let out = etcdctl(&lab.env(), 3, &["get", "/no-such-key", "-w", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    parsed["header"]["revision"].as_i64().unwrap()
}

#[test]
fn reports_keep_their_shape_gates_choose_their_members_and_hashkv_works_compacted() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let env = lab.env();
    let state = lab.state();

    // Status fields, against etcdctl member by member.
    let out = run_json(&lab, "status.rhai", "etcd.status().members").success();
    let members = json_result(&out.stdout)["value"].clone();
    let etcdctl_status = etcdctl(&env, 3, &["endpoint", "status", "-w", "json"]);
    let statuses: serde_json::Value = serde_json::from_str(&etcdctl_status.stdout).unwrap();
    let leader_id = statuses[0]["Status"]["leader"].as_u64().unwrap();
    let leader_host = state
        .members
        .iter()
        .zip(statuses.as_array().unwrap())
        .find(|(_, s)| s["Status"]["header"]["member_id"].as_u64() == Some(leader_id))
        .map(|(m, _)| m.name.clone())
        .unwrap();
    for (member, status) in members
        .as_array()
        .unwrap()
        .iter()
        .zip(statuses.as_array().unwrap())
    {
        let status = &status["Status"];
        assert_eq!(member["db_size"], status["dbSize"], "{member}");
        assert_eq!(member["db_size_in_use"], status["dbSizeInUse"], "{member}");
        assert_eq!(member["leader_host"], leader_host.as_str(), "{member}");
        assert_eq!(
            member["is_leader"],
            status["header"]["member_id"] == status["leader"],
            "{member}"
        );
        assert_eq!(member["error"], serde_json::Value::Null);
    }

    // A stopped member: the same keys, `error` set, the rest null; gates that leave it out pass.
    lab.service("etcd-3", "stop", "etcd");
    let out = run_json(
        &lab,
        "down.rhai",
        r#"
let s = etcd.status().members;
let h = etcd.hashkv().members;
etcd.expect_healthy(#{except: ["etcd-3"]});
etcd.expect_healthy(#{hosts: [inventory.host("etcd-1"), "etcd-2"]});
let failed = "";
try { etcd.expect_healthy(); } catch (e) { failed = e.message; }
#{status: s, hashkv: h, failed: failed}
"#,
    )
    .success();
    let value = json_result(&out.stdout)["value"].clone();
    for report in ["status", "hashkv"] {
        let rows = value[report].as_array().unwrap();
        let keys = |row: &serde_json::Value| -> Vec<String> {
            row.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&rows[2]), keys(&rows[0]), "{report}: {rows:?}");
        assert!(rows[2]["error"].is_string(), "{report}: {}", rows[2]);
        let empty = if report == "status" {
            "revision"
        } else {
            "hash"
        };
        assert!(rows[2][empty].is_null(), "{report}: {}", rows[2]);
    }
    assert!(
        value["failed"].as_str().unwrap().contains("etcd-3"),
        "{value}"
    );

    // wait_healthy: gives up after its timeout naming the member, and returns once it serves.
    let started = Instant::now();
    let out = run_json(
        &lab,
        "wait.rhai",
        "etcd.wait_healthy(\"etcd-3\", #{timeout: \"3s\"})",
    )
    .code(1);
    let error = json_result(&out.stdout);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("etcd-3 was not healthy within 3s"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let dir = lab.dir.clone();
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        let layout = runbook::lab::layout::LabLayout::new(&dir);
        std::process::Command::new(dir.join("bin/lab-service"))
            .arg(layout.host("etcd-3").root.clone())
            .args(["start", "etcd"])
            .output()
            .unwrap()
    });
    run_json(
        &lab,
        "wait2.rhai",
        "etcd.wait_healthy(\"etcd-3\", #{timeout: \"1m\"}).healthy",
    )
    .success();
    assert!(starter.join().unwrap().status.success());

    // Compacted at the current revision, quiet: every member hashes the latest revision.
    for i in 0..5 {
        assert_eq!(
            etcdctl(&env, 3, &["put", &format!("/compact/{i}"), "x"]).code,
            0
        );
        assert_eq!(etcdctl(&env, 3, &["del", &format!("/compact/{i}")]).code, 0);
    }
    let current = revision(&lab).to_string();
    // --physical: returns once the members removed what it compacts, which the hash covers.
    assert_eq!(
        etcdctl(&env, 3, &["compact", &current, "--physical"]).code,
        0
    );
    let out = run_json(
        &lab,
        "hash.rhai",
        "let r = etcd.expect_hashkv_agree(); #{revision: r.revision, members: r.members}",
    )
    .success();
    let value = json_result(&out.stdout)["value"].clone();
    // Afterwards: `--physical` waits for the member it asked only, and a member hashes what
    // it still holds until its own compaction is done.
    let plain = etcdctl(&env, 3, &["endpoint", "hashkv", "-w", "json"]);
    let plain: serde_json::Value = serde_json::from_str(&plain.stdout).unwrap();
    for (ours, theirs) in value["members"]
        .as_array()
        .unwrap()
        .iter()
        .zip(plain.as_array().unwrap())
    {
        assert_eq!(ours["hash"], theirs["HashKV"]["hash"], "{ours} {theirs}");
        assert_eq!(ours["revision"].to_string(), current, "{ours}");
    }
}
