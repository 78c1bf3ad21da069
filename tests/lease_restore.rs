//! `etcd.migrate`, `etcd.migrate_missing` and `lease.restore_ttls` as a custom runbook calls
//! them, on a one-member lab, with keys the test writes so that their fate is known: keys
//! whose TTL runs out between the migration and the TTL step are deleted (a hidden one too,
//! after `migrate_missing` brought it over), except one a "master" wrote again in v3
//! meanwhile; the others keep their own expiry on leases; the bare prefix key and a key
//! outside the documented prefixes get theirs; running the step again changes nothing.
//! Checked with plain etcdctl.

use crate::support::command::{json_result, Runbook};
use crate::support::etcd::etcdctl;
use crate::support::lab::TestLab;
use crate::support::migration::{lease_ttl, v3_keys};
use std::time::{Duration, Instant};

#[test]
fn expired_keys_are_deleted_live_ones_keep_their_expiry_and_a_rerun_changes_nothing() {
    let lab = TestLab::up(&["--members", "1", "--keys", "300"]);
    let env = lab.env();
    let endpoint = env
        .iter()
        .find(|(k, _)| k == "ETCDCTL_ENDPOINTS")
        .map(|(_, v)| v.clone())
        .unwrap();
    let set = |key: &str, value: &str, ttl: Option<u64>| {
        let mut args = vec!["set", key, value];
        let ttl = ttl.map(|t| t.to_string());
        if let Some(ttl) = &ttl {
            args.extend(["--ttl", ttl.as_str()]);
        }
        let out = etcdctl(&env, 2, &args);
        assert_eq!(out.code, 0, "set {key}: {}", out.stderr);
    };
    // About to expire: 20 s left, so they outlive the steps before etcd stops.
    let expiring = [
        "/kubernetes.io/events/ns/soon-1",
        "/kubernetes.io/events/ns/soon-2",
        "/openshift.io/oauth/accesstokens/_soon-hidden",
        "/kubernetes.io/leases/ns/soon-other",
    ];
    let rewritten = "/kubernetes.io/events/ns/soon-rewritten";
    let written = Instant::now();
    for key in expiring.iter().chain([&rewritten]) {
        set(key, "short", Some(20));
    }
    set("/kubernetes.io/events/ns/later", "long", Some(600));
    set(
        "/openshift.io/oauth/accesstokens/_later-hidden",
        "long",
        Some(900),
    );
    set("/kubernetes.io/leases/ns/later-other", "long", Some(1200));
    set("/kubernetes.io/events/ns/no-ttl", "none", None);

    let script = format!(
        r#"
let h = inventory.host("etcd-1");
if etcd.v3_key_count() != 0 {{ throw "v3 keys"; }}
etcd.backup();
h.service(h.vars.etcd_service).stop();
let migrated = etcd.migrate(h);
etcd.force_new_cluster(h);
let copied = etcd.migrate_missing(h);
etcd.verify(h);
// Until the short TTLs have run out; then a master writes one of those keys again.
h.run("sleep {sleep}");
h.run("ETCDCTL_API=3 etcdctl --endpoints={endpoint} put {rewritten} written-again");
let prefixes = master.ttl_durations();
let first = lease.restore_ttls(h, prefixes);
let again = lease.restore_ttls(h, prefixes);
#{{migrated: migrated, copied: copied, first: first, again: again}}
"#,
        sleep = 22u64.saturating_sub(written.elapsed().as_secs()).max(1) + 3,
    );
    let path = lab.dir.join("ttl.rhai");
    std::fs::write(&path, script).unwrap();
    let run = Runbook::new()
        .args(["run", "--output", "json", "-i"])
        .arg(lab.inventory())
        .arg(&path)
        .run()
        .success();
    assert!(
        written.elapsed() > Duration::from_secs(21),
        "the TTL step ran after the short TTLs"
    );
    let result = json_result(&run.stdout)["value"].clone();
    // Two hidden keys of the test's, and the lab's own hidden tokens.
    let seeded = runbook::lab::seed_plan::SeedPlan::new(300)
        .hidden_keys()
        .count() as i64;
    assert_eq!(result["copied"]["written"], 2 + seeded, "{result}");
    assert_eq!(result["copied"]["hidden"], 2 + seeded);
    let first = &result["first"];
    assert_eq!(first["expired_deleted"], 4, "{first}");
    let groups = first["groups"].as_array().unwrap();
    let kept: i64 = groups
        .iter()
        .map(|g| g["expired_kept"].as_i64().unwrap())
        .sum();
    assert_eq!(kept, 1, "the key written again stays");
    let again = &result["again"];
    assert_eq!(again["leases"], 0, "{again}");
    assert_eq!(again["expired_deleted"], 0);
    let skipped: i64 = again["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["skipped"].as_i64().unwrap())
        .sum();
    assert!(skipped >= 4, "{again}");

    let after = v3_keys(&lab);
    for key in expiring {
        assert!(!after.contains_key(key), "{key} expired in v2, still in v3");
    }
    assert_eq!(after[rewritten].value, "written-again");
    assert_eq!(after[rewritten].lease, 0);
    for (key, ttl) in [
        ("/kubernetes.io/events/ns/later", 600),
        ("/openshift.io/oauth/accesstokens/_later-hidden", 900),
        ("/kubernetes.io/leases/ns/later-other", 1200),
    ] {
        let kv = &after[key];
        assert_eq!(kv.value, "long");
        assert_ne!(kv.lease, 0, "{key}");
        let (_, remaining) = lease_ttl(&lab, kv.lease);
        let expected = ttl - written.elapsed().as_secs() as i64;
        assert!(
            remaining >= expected - 5 && remaining <= expected + 60 + 5,
            "{key}: {remaining} s left on its lease, {expected} s in v2"
        );
    }
    let no_ttl = &after["/kubernetes.io/events/ns/no-ttl"];
    assert_eq!(
        lease_ttl(&lab, no_ttl.lease).0,
        3600,
        "the documented duration"
    );
    let bare = &after["/openshift.io/leases/controllers"];
    assert_ne!(bare.lease, 0, "the bare controllers key");
}
