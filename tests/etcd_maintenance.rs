//! `etcd.alarms`, `disarm`, `defrag`, `compact`, `snapshot_save`, `snapshot_status` and
//! `etcdctl` against a real TLS lab, each outcome checked with plain etcdctl; and
//! `runbook check` of a script that would change keys, defragment, compact and save a
//! snapshot: the plan is printed and nothing changes.

use crate::support::command::{printed, write_file, Runbook};
use crate::support::etcd::{etcdctl, runtime};
use crate::support::lab::TestLab;

fn ok(out: crate::support::etcd::CtlOutput, what: &str) -> String {
    assert_eq!(out.code, 0, "etcdctl {what}: {}", out.stderr);
    out.stdout
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The revision etcdctl's answer header says.
fn revision(env: &[(String, String)]) -> i64 {
    json(&ok(etcdctl(env, 3, &["get", "/none", "-w", "json"]), "get"))["header"]["revision"]
        .as_i64()
        .unwrap()
}

/// etcdctl's endpoint status of one member.
fn endpoint_status(env: &[(String, String)], url: &str) -> serde_json::Value {
    let mut env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "ETCDCTL_ENDPOINTS")
        .cloned()
        .collect();
    env.push(("ETCDCTL_ENDPOINTS".into(), url.into()));
    json(&ok(
        etcdctl(&env, 3, &["endpoint", "status", "-w", "json"]),
        "status",
    ))[0]["Status"]
        .clone()
}

fn client_url(lab: &TestLab, host: &str) -> String {
    let inventory = runbook::inventory::Inventory::load(&lab.inventory(), &[]).unwrap();
    let host = inventory.host(host).unwrap();
    runbook::ops::etcd::EtcdMember::from_host(host)
        .unwrap()
        .endpoint
        .client_url
}

#[test]
fn alarms_defrag_compact_snapshots_and_etcdctl_agree_with_etcdctl() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let env = lab.env();
    for i in 0..50 {
        ok(
            etcdctl(&env, 3, &["put", "/churn/k", &"x".repeat(2000 + i)]),
            "put",
        );
    }
    let old = revision(&env) - 10;

    // A NOSPACE alarm raised for etcd-2, as etcd raises it when its quota is full.
    let inventory = runbook::inventory::Inventory::load(&lab.inventory(), &[]).unwrap();
    let member =
        runbook::ops::etcd::EtcdMember::from_host(inventory.host("etcd-2").unwrap()).unwrap();
    let access = runbook::ops::etcd::EtcdAccess::new(
        std::sync::Arc::new(runbook::transport::TransportPool::new()),
        runbook::interrupt::Interrupt::new(),
    );
    let rt = runtime();
    rt.block_on(async {
        let mut client = access.v3_member(&member).await.unwrap();
        let id = client.status().await.unwrap().header().unwrap().member_id();
        let mut options = etcd_client::AlarmOptions::new();
        options.with_member(id);
        client
            .alarm(
                etcd_client::AlarmAction::Activate,
                etcd_client::AlarmType::Nospace,
                Some(options),
            )
            .await
            .unwrap();
    });
    assert!(ok(etcdctl(&env, 3, &["alarm", "list"]), "alarm list").contains("NOSPACE"));

    let etcd1_before = endpoint_status(&env, &client_url(&lab, "etcd-1"))["dbSize"]
        .as_i64()
        .unwrap();
    let snap_dir = tempfile::tempdir().unwrap();
    let snap = snap_dir.path().join("snap.db");
    let snap = snap.to_str().unwrap();
    let script = r#"
for a in etcd.alarms() { print(`alarm=${a.member}|${a.host}|${a.alarm}`); }
try { etcd.disarm("SPACE"); } catch (e) { print(`kind=${e.code}`); }
print(`disarmed_corrupt=${etcd.disarm("CORRUPT").len()}`);
print(`disarmed=${etcd.disarm().map(|a| a.alarm)}`);
print(`alarms_after=${etcd.alarms().len()}`);
let d = etcd.defrag("etcd-1", #{timeout: "2m"});
print(`defrag=${d.host}|${d.member}|${d.db_size_before}|${d.db_size_after}|${type_of(d.seconds)}`);
"#;
    let out = lab.run("maintenance.rhai", script).success().stdout;
    let etcd1_after = endpoint_status(&env, &client_url(&lab, "etcd-1"))["dbSize"]
        .as_i64()
        .unwrap();
    let script = format!(
        r#"
let rev = etcd.get("/churn/k")[0].mod_revision;
try {{ etcd.compact(rev + 1000); }} catch (e) {{ print(`future=${{e.code}}`); print(`future_message=${{e.message}}`); }}
let c = etcd.compact({old}, #{{physical: true}});
print(`compact=${{c.revision}}|${{c.compacted_from}}`);
try {{ etcd.compact({old} - 1); }} catch (e) {{ print(`again=${{e.code}}`); }}
print(`second=${{etcd.compact({old} + 1).compacted_from}}`);
let s = etcd.snapshot_save("etcd-1", "{snap}");
print(`saved=${{s.host}}|${{s.path}}|${{s.revision}}|${{s.keys}}|${{s.bytes}}|${{s.sha256}}`);
let t = etcd.snapshot_status("etcd-1", "{snap}");
print(`status=${{t.revision}}|${{t.keys}}|${{t.bytes}}|${{t.sha256}}|${{t.hash}}`);
try {{ etcd.snapshot_save("etcd-1", "{snap}"); }} catch (e) {{ print(`exists=${{e.code}}`); }}
try {{ etcd.snapshot_save("etcd-1", "relative.db"); }} catch (e) {{ print(`relative=${{e.code}}`); }}
print(`ctl_get=${{etcd.etcdctl("etcd-2", ["get", "/churn/k", "--print-value-only"]).len()}}`);
let st = etcd.etcdctl("etcd-2", "endpoint status", #{{json: true}});
print(`ctl_json=${{st[0].Endpoint}}|${{st[0].Status.header.revision > 0}}`);
print(`ctl_v2=${{etcd.etcdctl("etcd-3", ["ls", "/"], #{{api: 2}}).len() > 0}}`);
print(`ctl_put=${{etcd.etcdctl("etcd-3", ["put", "/ctl/it's", "a b"])}}`);
try {{ etcd.etcdctl("etcd-1", ["get", "--no-such-flag"]); }} catch (e) {{ print(`ctl_fail=${{e.code}}`); print(`ctl_stderr=${{e.message.contains("unknown flag")}}`); }}
"#
    );
    let out = format!("{out}{}", lab.run("more.rhai", &script).success().stdout);

    // Alarms: the one raised, named by member and host; a wrong kind refused; disarmed.
    assert_eq!(printed(&out, "alarm"), "etcd-2|etcd-2|NOSPACE", "{out}");
    assert_eq!(
        printed(&out, "kind"),
        "runbook::etcd::maintenance::alarm_kind"
    );
    assert_eq!(printed(&out, "disarmed_corrupt"), "0");
    assert_eq!(printed(&out, "disarmed"), "[\"NOSPACE\"]");
    assert_eq!(printed(&out, "alarms_after"), "0");
    assert_eq!(
        ok(etcdctl(&env, 3, &["alarm", "list"]), "alarm list").trim(),
        ""
    );

    // Defrag: the sizes etcdctl sees, not larger after.
    let defrag: Vec<String> = printed(&out, "defrag")
        .split('|')
        .map(String::from)
        .collect();
    assert_eq!(defrag[..2], ["etcd-1", "etcd-1"]);
    let (before, after): (i64, i64) = (defrag[2].parse().unwrap(), defrag[3].parse().unwrap());
    // The disarm wrote meanwhile: a db only grows until it is defragmented.
    assert!(
        before >= etcd1_before,
        "{before} < {etcd1_before} (etcdctl's, earlier)"
    );
    assert!(after <= before, "{after} > {before}");
    assert_eq!(etcd1_after, after, "the db size etcdctl sees after");
    assert_eq!(defrag[4], "f64");

    // Compaction: above the current revision refused; then a read below it fails in etcdctl.
    assert_eq!(
        printed(&out, "future"),
        "runbook::etcd::maintenance::future_revision"
    );
    assert!(printed(&out, "future_message").contains("only at revision"));
    assert_eq!(printed(&out, "compact"), format!("{old}|1"));
    assert_eq!(
        printed(&out, "again"),
        "runbook::etcd::maintenance::compacted"
    );
    assert_eq!(printed(&out, "second"), old.to_string());
    // The second compaction (to old + 1) is the last: a read below it fails in etcdctl,
    // one at it works.
    let below = etcdctl(&env, 3, &["get", "/churn/k", "--rev", &old.to_string()]);
    assert_ne!(below.code, 0);
    assert!(below.stderr.contains("compacted"), "{}", below.stderr);
    let at = ok(
        etcdctl(
            &env,
            3,
            &[
                "get",
                "/churn/k",
                "--rev",
                &(old + 1).to_string(),
                "--print-value-only",
            ],
        ),
        "get at the compaction revision",
    );
    assert_eq!(at.trim().len(), 2000 + 40);

    // Snapshot: its numbers are etcdctl's, the file is private, sha256 is the file's.
    let saved: Vec<String> = printed(&out, "saved")
        .split('|')
        .map(String::from)
        .collect();
    let theirs = json(&ok(
        etcdctl(&env, 3, &["snapshot", "status", snap, "-w", "json"]),
        "snapshot status",
    ));
    assert_eq!(saved[..2], ["etcd-1".to_string(), snap.to_string()]);
    assert_eq!(saved[2], theirs["revision"].to_string());
    assert_eq!(saved[3], theirs["totalKey"].to_string());
    let current = revision(&env);
    assert_eq!(
        saved[2].parse::<i64>().unwrap(),
        current - 1,
        "the revision when it was saved: one put (ctl_put) since"
    );
    let bytes = std::fs::read(snap).unwrap();
    assert_eq!(saved[4], bytes.len().to_string());
    let sum = std::process::Command::new("sha256sum")
        .arg(snap)
        .output()
        .unwrap();
    let sum = String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(saved[5], sum);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(snap).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let names: Vec<String> = std::fs::read_dir(snap_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["snap.db"], "no temp file left");
    assert_eq!(
        printed(&out, "status"),
        format!(
            "{}|{}|{}|{}|{}",
            saved[2], saved[3], saved[4], saved[5], theirs["hash"]
        )
    );
    assert_eq!(printed(&out, "exists"), "runbook::etcd::snapshot::exists");
    assert_eq!(printed(&out, "relative"), "runbook::etcd::snapshot::path");
    assert_eq!(
        std::fs::read(snap).unwrap(),
        bytes,
        "the refused save left the file alone"
    );

    // etcdctl on the hosts: values, JSON, v2, quoting, failures with stderr.
    assert_eq!(printed(&out, "ctl_get"), (2000 + 49).to_string());
    assert_eq!(
        printed(&out, "ctl_json"),
        format!("{}|true", client_url(&lab, "etcd-2"))
    );
    assert_eq!(printed(&out, "ctl_v2"), "true");
    assert_eq!(printed(&out, "ctl_put"), "OK");
    assert_eq!(
        ok(
            etcdctl(&env, 3, &["get", "/ctl/it's", "--print-value-only"]),
            "get"
        )
        .trim(),
        "a b"
    );
    assert_eq!(printed(&out, "ctl_fail"), "runbook::etcd::etcdctl::failed");
    assert_eq!(printed(&out, "ctl_stderr"), "true");
}

#[test]
fn check_plans_the_changes_and_changes_nothing() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let env = lab.env();
    ok(etcdctl(&env, 3, &["put", "/planned/a", "1"]), "put");
    let before_rev = revision(&env);
    let snap_dir = tempfile::tempdir().unwrap();
    let snap = snap_dir.path().join("planned.db");
    let script = format!(
        r#"
print(`read_first=${{etcd.get("/planned/a")[0].value}}`);
let p = etcd.put("/planned/b", "2");
print(`put=${{p.key}}|${{p.revision}}`);
let d = etcd.delete("/planned/a");
print(`delete=${{d.deleted}}|${{d.revision}}`);
let f = etcd.defrag("etcd-1");
print(`defrag=${{f.host}}|${{f.db_size_after}}`);
let c = etcd.compact({before_rev});
print(`compact=${{c.revision}}|${{c.compacted_from}}`);
let s = etcd.snapshot_save("etcd-2", "{snap}");
print(`snapshot=${{s.path}}|${{s.sha256}}`);
print(`read_after=${{etcd.get("/planned/a").len()}}`);
print(`ctl=${{etcd.etcdctl("etcd-1", "put /planned/c 3")}}`);
"#,
        snap = snap.display()
    );
    let path = write_file(&lab.dir, "planned.rhai", &script);
    let checked = Runbook::new()
        .current_dir(&lab.dir)
        .arg("check")
        .arg(&path)
        .arg("-i")
        .arg(lab.inventory())
        .run()
        .success();
    let out = &checked.stdout;
    // The read before any change ran for real; the rest are stand-ins of the same shape.
    assert_eq!(printed(out, "read_first"), "1");
    assert_eq!(printed(out, "put"), "/planned/b|0");
    assert_eq!(printed(out, "delete"), "0|0");
    assert_eq!(printed(out, "defrag"), "etcd-1|0");
    assert_eq!(printed(out, "compact"), format!("{before_rev}|0"));
    assert_eq!(printed(out, "snapshot"), format!("{}|", snap.display()));
    assert_eq!(printed(out, "read_after"), "0");
    assert_eq!(printed(out, "ctl"), "");
    for line in [
        "etcd v3 put /planned/b",
        "etcd v3 delete the key /planned/a",
        "defragment etcd on etcd-1",
        &format!("compact the etcd history up to revision {before_rev}"),
        &format!("save a v3 snapshot of etcd on etcd-2 to {}", snap.display()),
        "check: etcd v3 get the key /planned/a",
        "etcdctl put /planned/c 3 on etcd-1",
    ] {
        assert!(out.contains(line), "no `{line}` in the plan:\n{out}");
    }
    // Nothing changed: keys, revision, history, the snapshot file.
    assert_eq!(revision(&env), before_rev);
    assert_eq!(
        ok(
            etcdctl(&env, 3, &["get", "/planned/", "--prefix", "--keys-only"]),
            "get"
        )
        .trim(),
        "/planned/a"
    );
    ok(
        etcdctl(&env, 3, &["get", "/planned/a", "--rev", "2"]),
        "an old revision is still there",
    );
    assert!(!snap.exists());
}
