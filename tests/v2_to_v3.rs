//! `runbooks/v2-to-v3.rhai` end to end on a real 3-member TLS lab with 10,000 v2 keys,
//! hidden ones, the bare controller lease key, TTLs spread over their range, keys about to
//! expire and TTL keys outside the documented prefixes: checked with plain etcdctl, every v2
//! leaf is a v3 key with the same value (and revisions, where etcdctl migrate kept them),
//! every TTL is a lease ending when v2 would have deleted the key, expired keys are gone,
//! the members agree, the masters run on etcd3, the backups verify, and a second run refuses.

use crate::support::command::{repo_root, write_file, Runbook};
use crate::support::etcd::{etcdctl, member_identities};
use crate::support::lab::TestLab;
use crate::support::migration::{assert_migrated, before_with, lease_ttl, v2_leaves, v3_keys};

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
    // The closing report's data: the outage, each step's phase, the backups, the way back.
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let up = events
        .iter()
        .find(|e| e["event"] == "api_up")
        .expect("an api_up event");
    assert!(events.iter().any(|e| e["event"] == "api_down"));
    let outage = result["outage"]["seconds"].as_f64().unwrap();
    assert!(outage > 0.5, "{result}");
    assert!(
        (up["outage_seconds"].as_f64().unwrap() - outage).abs() < 0.01,
        "{up}"
    );
    let phase_of = |name: &str| {
        result["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name}: {result}"))["phase"]
            .clone()
    };
    assert_eq!(phase_of("preflight"), "before");
    assert_eq!(phase_of("stop the masters"), "outage");
    assert_eq!(phase_of("migrate etcd-1"), "outage");
    assert_eq!(phase_of("restart the masters"), "outage");
    assert_eq!(phase_of("join etcd-2"), "online");
    assert_eq!(phase_of("restore TTLs as leases"), "online");
    let methods: Vec<(String, String)> = result["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["host"].as_str().unwrap().into(),
                b["method"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        methods,
        [("etcd-1", "move"), ("etcd-2", "move"), ("etcd-3", "move")]
            .map(|(h, m)| (h.to_string(), m.to_string()))
    );
    let journal = lab.dir.join(".runbook/v2-to-v3.journal");
    assert_eq!(result["journal"], journal.display().to_string());
    let rollback = result["rollback"].as_str().unwrap();
    assert!(
        rollback.starts_with("runbook run ")
            && rollback.contains("/runbooks/rollback.rhai -i ")
            && rollback.ends_with("inventory.ini"),
        "{rollback}"
    );

    assert_migrated(&lab, &before);
    // The v2 copies of the masters' data are gone from the cluster (the backups keep them).
    for prefix in ["/kubernetes.io", "/openshift.io"] {
        let listed = etcdctl(&env, 2, &["ls", prefix]);
        assert!(
            listed.stderr.contains("Key not found"),
            "{prefix}: {}",
            listed.stdout
        );
    }
    assert_eq!(
        phase_of("drop the v2 copies of the masters' data on etcd-1"),
        "online"
    );
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
    let members_before = member_identities(&lab.env());
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
        .args(["run", "v2-to-v3.rhai", "--outage", "classic", "-i"])
        .arg(lab.inventory())
        .current_dir(repo_root())
        .run()
        .success();
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(output.contains("order: classic"), "{output}");
    // Long steps say how far they are: the verification counts its keys.
    let verified = run
        .stderr
        .lines()
        .find(|l| l.starts_with("verify etcd-1: "))
        .unwrap_or_else(|| panic!("no progress of the verification: {}", run.stderr));
    let (done, total) = verified["verify etcd-1: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .split_once('/')
        .unwrap();
    assert_eq!(done, total, "{verified}");
    assert!(total.parse::<u64>().unwrap() >= 500, "{verified}");
    // The closing report is one table: in the classic order the joins are in the outage.
    let report = &run.stdout[run.stdout.find("WHAT").expect("the report table")..];
    for row in [
        "API outage ",
        "step: join etcd-3 ",
        "backup: etcd-1 ",
        "journal ",
        "rollback ",
    ] {
        assert!(report.contains(row), "{row:?} in {report}");
    }
    let join = report
        .lines()
        .find(|l| l.starts_with("step: join etcd-3"))
        .unwrap();
    assert!(join.ends_with("(outage)"), "{join}");
    let backup = report
        .lines()
        .find(|l| l.starts_with("backup: etcd-2"))
        .unwrap();
    assert!(backup.contains("(etcdctl_backup, "), "{backup}");
    assert!(!run.stdout.contains("#{"), "no raw map: {}", run.stdout);
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

    // Its backups are `etcdctl backup`s: the rollback starts the first member's as a new
    // cluster and the others join it, under their own names and peer URLs.
    let rollback = Runbook::new()
        .args(["run", "rollback.rhai", "-i"])
        .arg(lab.inventory())
        .current_dir(repo_root())
        .run()
        .success();
    let said = format!("{}{}", rollback.stdout, rollback.stderr);
    assert!(said.contains("taken by etcdctl_backup"), "{said}");
    assert!(said.contains("==> step join etcd-3"), "{said}");
    assert!(
        v2_leaves(&lab, None, &[]) == before.leaves,
        "v2 data after the rollback"
    );
    assert!(
        v3_keys(&lab).is_empty(),
        "v3 keys remain after the rollback"
    );
    let names_and_peers = |members: Vec<(String, String, Vec<String>)>| {
        let mut kept: Vec<(String, Vec<String>)> = members
            .into_iter()
            .map(|(_, name, peers)| (name, peers))
            .collect();
        kept.sort();
        kept
    };
    assert_eq!(
        names_and_peers(member_identities(&lab.env())),
        names_and_peers(members_before)
    );
}
