//! `runbooks/v2-to-v3.rhai` end to end on a real 3-member TLS lab with 10,000 v2 keys:
//! every v2 leaf is a v3 key with the same value and revisions, TTL prefixes carry
//! leases of the configured durations, the members agree, the masters run on etcd3,
//! the backups verify, and a second run refuses.

mod support;

use runbook::lab::layout::LabLayout;
use runbook::lab::state::LabState;
use runbook::lab::{lab_client, lab_tls};
use runbook::ops::etcd::V2Node;
use std::collections::BTreeMap;
use std::time::Duration;
use support::command::{repo_root, Runbook};
use support::etcd::{etcdctl, runtime};
use support::lab::TestLab;

/// Every v2 leaf: key -> (value, createdIndex, modifiedIndex).
fn v2_leaves(node: &V2Node, into: &mut BTreeMap<String, (String, u64, u64)>) {
    if node.dir {
        for child in &node.nodes {
            v2_leaves(child, into);
        }
    } else if let Some(key) = &node.key {
        into.insert(
            key.clone(),
            (
                node.value.clone().unwrap_or_default(),
                node.created_index,
                node.modified_index,
            ),
        );
    }
}

/// Prefixes whose leases are short enough to expire during the test.
const SHORT_LEASES: [&str; 2] = [
    "/kubernetes.io/masterleases/",
    "/openshift.io/leases/controllers/",
];

#[test]
fn the_migration_runbook_migrates_a_tls_lab_end_to_end() {
    let lab = TestLab::up(&["--tls", "--keys", "10000"]);
    let layout = LabLayout::new(&lab.dir);
    let state = LabState::load(&layout).expect("lab state");
    let rt = runtime();

    let v2 = lab_client(&layout, &state, Duration::from_secs(30)).unwrap();
    let mut before = BTreeMap::new();
    v2_leaves(&rt.block_on(v2.get("/", true)).unwrap(), &mut before);
    assert_eq!(before.len(), 10000, "seeded leaves");
    let master_config = lab
        .host_dir("master-1")
        .join("etc/origin/master/master-config.yaml");
    let config_before = std::fs::read_to_string(&master_config).unwrap();

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
            .keys()
            .filter(|k| k.starts_with(&format!("{prefix}/")))
            .count() as i64;
        assert!(seeded > 0, "the lab seeds keys under {prefix}");
        assert_eq!(lease["ttl"], *ttl, "{prefix}: {lease}");
        assert_eq!(lease["attached"], seeded, "{prefix}: {lease}");
    }

    // v3 holds every v2 leaf with its value and revisions (short-lived leases may have expired).
    let tls = lab_tls(&layout, &state).unwrap();
    let endpoints = state.client_urls();
    let after = rt.block_on(async {
        let mut client =
            runbook::ops::etcd::v3::connect(&endpoints, tls.as_ref(), Duration::from_secs(10))
                .await
                .unwrap();
        // Paged: the whole keyspace is larger than one gRPC message.
        let mut after = BTreeMap::new();
        let mut from = vec![0u8];
        loop {
            let options = etcd_client::GetOptions::new()
                .with_from_key()
                .with_limit(500);
            let page = client.get(from.clone(), Some(options)).await.unwrap();
            for kv in page.kvs() {
                let value = kv.value_str().unwrap().to_string();
                let record = (value, kv.create_revision(), kv.mod_revision(), kv.lease());
                after.insert(kv.key_str().unwrap().to_string(), record);
            }
            match page.kvs().last() {
                Some(last) if page.more() => {
                    from = last.key().to_vec();
                    from.push(0);
                }
                _ => break,
            }
        }
        // The long leases really carry their TTL.
        let event = after
            .iter()
            .find(|(k, _)| k.starts_with("/kubernetes.io/events/"))
            .map(|(_, v)| v.3)
            .unwrap();
        let ttl = client.lease_time_to_live(event, None).await.unwrap();
        assert_eq!(ttl.granted_ttl(), 3600);
        after
    });
    for (key, (value, created, modified)) in &before {
        match after.get(key) {
            Some((v3_value, create, modify, lease)) => {
                assert_eq!(v3_value, value, "{key}");
                assert_eq!(*create as u64, *created, "{key}: create revision");
                // Attaching a lease is a write: those keys move on; the others keep theirs
                // (etcd.verify compared every revision before the leases were attached).
                if *lease == 0 {
                    assert_eq!(*modify as u64, *modified, "{key}: mod revision");
                } else {
                    assert!(
                        *modify as u64 > *modified,
                        "{key}: leased after the migration"
                    );
                }
            }
            None => assert!(
                SHORT_LEASES.iter().any(|p| key.starts_with(p)),
                "{key} missing from v3"
            ),
        }
    }
    let unleased_ttl_key = after
        .iter()
        .find(|(k, v)| k.starts_with("/openshift.io/oauth/accesstokens/") && v.3 == 0)
        .map(|(k, _)| k.clone());
    assert_eq!(unleased_ttl_key, None, "every access token carries a lease");

    // Three healthy members with the same data.
    let env = lab.env();
    let hashes = etcdctl(&env, 3, &["endpoint", "hashkv", "-w", "json"]);
    let hashes: Vec<u64> = serde_json::from_str::<serde_json::Value>(&hashes.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["HashKV"]["hash"].as_u64().unwrap())
        .collect();
    assert_eq!(hashes.len(), 3);
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");

    // Masters: config patched and otherwise unchanged, restarted onto etcd3.
    let config_after = std::fs::read_to_string(&master_config).unwrap();
    let mut patched: serde_yaml::Value = serde_yaml::from_str(&config_after).unwrap();
    let arguments = patched["kubernetesMasterConfig"]["apiServerArguments"]
        .as_mapping_mut()
        .unwrap();
    assert_eq!(
        arguments.shift_remove("storage-backend"),
        Some(serde_yaml::from_str("[etcd3]").unwrap())
    );
    assert!(arguments.shift_remove("storage-media-type").is_some());
    assert_eq!(
        patched,
        serde_yaml::from_str::<serde_yaml::Value>(&config_before).unwrap()
    );
    for service in [
        "atomic-openshift-master-api",
        "atomic-openshift-master-controllers",
    ] {
        let log = std::fs::read_to_string(
            lab.host_dir("master-1")
                .join(format!("var/log/{service}.log")),
        )
        .unwrap();
        assert!(
            log.lines()
                .last()
                .unwrap()
                .contains("storage-backend=etcd3"),
            "{service}: {log}"
        );
    }

    // Backups on every member still verify; a second run refuses.
    let work = tempfile::tempdir().unwrap();
    support::command::write_file(work.path(), "check.rhai", "for h in inventory.group(\"etcd\") { etcd.verify_backup(h); }\nprint(\"backups verified\");\n");
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
