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
