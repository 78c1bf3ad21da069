//! `runbooks/v2-to-v3.rhai` end to end on a real 3-member TLS lab with 10,000 v2 keys:
//! every v2 leaf is a v3 key with the same value and revisions, TTL prefixes carry
//! leases of the configured durations, the members agree, the masters run on etcd3,
//! the backups verify, and a second run refuses.

mod support;

use support::command::{repo_root, write_file, Runbook};
use support::lab::TestLab;
use support::migration::{assert_migrated, before};

#[test]
fn the_migration_runbook_migrates_a_tls_lab_end_to_end() {
    let lab = TestLab::up(&["--tls", "--keys", "10000"]);
    let before = before(&lab);
    assert_eq!(before.leaves.len(), 10000, "seeded leaves");

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

    // Leases: one per prefix, the configured TTL, every seeded key under it attached.
    let expected_ttl = [
        ("/kubernetes.io/events", 3600),
        ("/kubernetes.io/masterleases", 10),
        ("/openshift.io/oauth/accesstokens", 86400),
        ("/openshift.io/oauth/authorizetokens", 500),
        ("/openshift.io/leases/controllers", 30),
    ];
    let leases = result["leases"].as_array().expect("leases in the result");
    assert_eq!(leases.len(), 5);
    for ((prefix, ttl), lease) in expected_ttl.iter().zip(leases) {
        let seeded = before
            .leaves
            .keys()
            .filter(|k| k.starts_with(&format!("{prefix}/")))
            .count() as i64;
        assert!(seeded > 0, "the lab seeds keys under {prefix}");
        assert_eq!(lease["ttl"], *ttl, "{prefix}: {lease}");
        assert_eq!(lease["attached"], seeded, "{prefix}: {lease}");
    }
    assert_migrated(&lab, &before);

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
