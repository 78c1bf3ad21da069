//! `runbooks/v2-to-v3.rhai` end to end on a real 3-member TLS lab with 10,000 v2 keys,
//! hidden ones, the bare controller lease key, TTLs spread over their range, keys about to
//! expire and TTL keys outside the documented prefixes: checked with plain etcdctl, every v2
//! leaf is a v3 key with the same value (and revisions, where etcdctl migrate kept them),
//! every TTL is a lease ending when v2 would have deleted the key, expired keys are gone,
//! the members agree, the masters run on etcd3, the backups verify, and a second run refuses.

use crate::support::command::{repo_root, write_file, Runbook};
use crate::support::etcd::etcdctl;
use crate::support::lab::TestLab;
use crate::support::migration::{assert_migrated, before_with, lease_ttl, v3_keys};

#[test]
fn the_migration_runbook_migrates_a_tls_lab_end_to_end() {
    let lab = TestLab::up(&["--tls", "--keys", "10000", "--expiring", "12"]);
    let env = lab.env();
    // Beyond what the lab seeds: a key under a documented prefix without a TTL, and a
    // hidden directory.
    let no_ttl = "/kubernetes.io/events/default/written-without-ttl";
    let in_hidden_dir = "/openshift.io/_internal/state";
    for (key, value) in [(no_ttl, "event"), (in_hidden_dir, "kept")] {
        let set = etcdctl(&env, 2, &["set", key, value]);
        assert_eq!(set.code, 0, "{}", set.stderr);
    }
    let before = before_with(&lab, &[in_hidden_dir]);
    assert!(
        before.leaves.len() >= 9990,
        "seeded leaves: {}",
        before.leaves.len()
    );
    let hidden = before.hidden();
    assert!(hidden.len() >= 10, "hidden keys seeded: {}", hidden.len());
    assert!(before
        .leaves
        .contains_key("/openshift.io/leases/controllers"));
    // etcdctl migrate alone would lose them: a v2 listing does not show them.
    let listed = etcdctl(
        &env,
        2,
        &["ls", "--recursive", "/openshift.io/oauth/accesstokens"],
    );
    assert!(!listed.stdout.contains("/_"), "{}", listed.stdout);

    let run = Runbook::new()
        .args(["run", "v2-to-v3.rhai", "--output", "json", "-i"])
        .arg(lab.inventory())
        .current_dir(repo_root())
        .run()
        .success();
    let result: serde_json::Value = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "result")
        .expect("a result line")["result"]["value"]
        .clone();
    assert_eq!(
        result["hidden_keys_copied"],
        hidden.len() as i64,
        "{result}"
    );
    assert!(result["leases"].as_i64().unwrap() > 5, "{result}");

    assert_migrated(&lab, &before);
    let after = v3_keys(&lab);
    for key in &hidden {
        assert!(after.contains_key(*key), "{key}");
    }
    // No v2 TTL under a documented prefix: the documented duration (event-ttl 1h).
    let event = &after[no_ttl];
    assert_eq!(lease_ttl(&lab, event.lease).0, 3600);
    assert_eq!(
        after[in_hidden_dir].lease, 0,
        "no TTL outside the prefixes: no lease"
    );

    // Backups on every member still verify; a second run refuses.
    let work = tempfile::tempdir().unwrap();
    write_file(work.path(), "check.rhai", "for h in inventory.group(\"etcd\") { etcd.verify_backup(h); }\nprint(\"backups verified\");\n");
    Runbook::new()
        .current_dir(work.path())
        .arg("run")
        .arg("check.rhai")
        .arg("-i")
        .arg(lab.inventory())
        .run()
        .success()
        .stdout_has("backups verified");
    let again = Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-i"])
        .arg(lab.inventory())
        .run()
        .code(1);
    assert!(again.stderr.contains("rollback.rhai"), "{}", again.stderr);
}

/// The steps a run started, in order (`==> step NAME`).
fn steps_started(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("==> step "))
        .collect()
}

#[test]
fn the_classic_order_rebuilds_every_member_before_the_masters_return() {
    let lab = TestLab::up(&["--tls", "--keys", "500"]);
    let before = before_with(&lab, &[]);
    let refused = Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-e", "runbook_outage=fast", "-i"])
        .arg(lab.inventory())
        .current_dir(repo_root())
        .run();
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr_unwrapped()
            .contains("runbook_outage=fast is not an order of this runbook"),
        "{}",
        refused.stderr
    );
    assert!(
        steps_started(&refused.stderr).is_empty(),
        "{}",
        refused.stderr
    );

    let run = Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-e", "runbook_outage=classic", "-i"])
        .arg(lab.inventory())
        .current_dir(repo_root())
        .run()
        .success();
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(output.contains("order: classic"), "{output}");
    assert_eq!(
        steps_started(&run.stderr),
        [
            "preflight",
            "stop the masters",
            "wait for raft convergence",
            "back up every member",
            "stop etcd",
            "migrate etcd-1",
            "start etcd-1 as a new cluster",
            "copy the keys etcdctl migrate left out on etcd-1",
            "verify the migrated data on etcd-1",
            "join etcd-2",
            "join etcd-3",
            "wait for health and convergence",
            "restore TTLs as leases",
            "check that every member holds the same data",
            "switch the masters to etcd3",
            "restart the masters",
        ],
        "{}",
        run.stderr
    );
    assert_migrated(&lab, &before);
}
