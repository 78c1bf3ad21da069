//! What a finished v2 -> v3 migration of a lab must look like, for the tests that run one.

use super::etcd::{etcdctl, runtime};
use super::lab::TestLab;
use runbook::lab::layout::LabLayout;
use runbook::lab::state::LabState;
use runbook::lab::{lab_client, lab_tls};
use runbook::ops::etcd::V2Node;
use std::collections::BTreeMap;
use std::time::Duration;

/// Prefixes whose leases are short enough to expire during a test.
const SHORT_LEASES: [&str; 2] = [
    "/kubernetes.io/masterleases/",
    "/openshift.io/leases/controllers/",
];

/// The lab before the migration: every v2 leaf (value, createdIndex, modifiedIndex)
/// and the master config.
pub struct Before {
    pub leaves: BTreeMap<String, (String, u64, u64)>,
    pub master_config: String,
}

fn master_config_path(lab: &TestLab) -> std::path::PathBuf {
    lab.host_dir("master-1")
        .join("etc/origin/master/master-config.yaml")
}

pub fn v2_leaves(node: &V2Node, into: &mut BTreeMap<String, (String, u64, u64)>) {
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

/// Reads the lab's v2 data and master config.
pub fn before(lab: &TestLab) -> Before {
    let layout = LabLayout::new(&lab.dir);
    let state = LabState::load(&layout).expect("lab state");
    let v2 = lab_client(&layout, &state, Duration::from_secs(30)).unwrap();
    let mut leaves = BTreeMap::new();
    v2_leaves(&runtime().block_on(v2.get("/", true)).unwrap(), &mut leaves);
    Before {
        leaves,
        master_config: std::fs::read_to_string(master_config_path(lab)).unwrap(),
    }
}

/// Every v3 key: key -> (value, create_revision, mod_revision, lease).
pub fn v3_keys(lab: &TestLab) -> BTreeMap<String, (String, i64, i64, i64)> {
    let layout = LabLayout::new(&lab.dir);
    let state = LabState::load(&layout).expect("lab state");
    let tls = lab_tls(&layout, &state).unwrap();
    let endpoints = state.client_urls();
    runtime().block_on(async {
        let mut client =
            runbook::ops::etcd::v3::connect(&endpoints, tls.as_ref(), Duration::from_secs(10))
                .await
                .unwrap();
        // Paged: the whole keyspace is larger than one gRPC message.
        let mut keys = BTreeMap::new();
        let mut from = vec![0u8];
        loop {
            let options = etcd_client::GetOptions::new()
                .with_from_key()
                .with_limit(500);
            let page = client.get(from.clone(), Some(options)).await.unwrap();
            for kv in page.kvs() {
                let record = (
                    kv.value_str().unwrap().to_string(),
                    kv.create_revision(),
                    kv.mod_revision(),
                    kv.lease(),
                );
                keys.insert(kv.key_str().unwrap().to_string(), record);
            }
            match page.kvs().last() {
                Some(last) if page.more() => {
                    from = last.key().to_vec();
                    from.push(0);
                }
                _ => break,
            }
        }
        keys
    })
}

/// The granted TTL of a lease.
pub fn lease_ttl(lab: &TestLab, lease: i64) -> i64 {
    let layout = LabLayout::new(&lab.dir);
    let state = LabState::load(&layout).expect("lab state");
    let tls = lab_tls(&layout, &state).unwrap();
    runtime().block_on(async {
        let mut client = runbook::ops::etcd::v3::connect(
            &state.client_urls(),
            tls.as_ref(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        client
            .lease_time_to_live(lease, None)
            .await
            .unwrap()
            .granted_ttl()
    })
}

/// Asserts the lab is fully migrated: v3 holds every v2 leaf with its value and create
/// revision (mod revision too, unless a lease was attached, which is one more write),
/// the TTL prefixes that outlive a test carry leases of their TTL, the members agree,
/// and the masters run on an etcd3 config that differs from the old one only there.
pub fn assert_migrated(lab: &TestLab, before: &Before) {
    let after = v3_keys(lab);
    for (key, (value, created, modified)) in &before.leaves {
        match after.get(key) {
            Some((v3_value, create, modify, lease)) => {
                assert_eq!(v3_value, value, "{key}");
                assert_eq!(*create as u64, *created, "{key}: create revision");
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
    for (prefix, ttl) in [
        ("/kubernetes.io/events/", 3600),
        ("/openshift.io/oauth/accesstokens/", 86400),
        ("/openshift.io/oauth/authorizetokens/", 500),
    ] {
        let leases: std::collections::BTreeSet<i64> = after
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.3)
            .collect();
        assert!(!leases.is_empty(), "keys under {prefix}");
        assert!(
            !leases.contains(&0),
            "every key under {prefix} carries a lease"
        );
        for lease in leases {
            assert_eq!(lease_ttl(lab, lease), ttl, "{prefix}");
        }
    }

    assert_hashkv_agree(lab);

    let mut patched: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(master_config_path(lab)).unwrap()).unwrap();
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
        serde_yaml::from_str::<serde_yaml::Value>(&before.master_config).unwrap()
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
}

/// Asserts the lab's three members are healthy and hold the same data (`endpoint hashkv`).
pub fn assert_hashkv_agree(lab: &TestLab) {
    let env = lab.env();
    let health = etcdctl(&env, 3, &["endpoint", "health"]);
    assert_eq!(health.code, 0, "{}{}", health.stdout, health.stderr);
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
}
