//! What a finished v2 -> v3 migration of a lab must look like, checked with plain `etcdctl`
//! (never runbook's own readers): every v2 leaf, hidden ones included, is a v3 key with its
//! value (and its revisions, where `etcdctl migrate` carried them); every key with a v2 TTL
//! is on a lease ending when v2 would have deleted it, within the tolerance; expired keys
//! are gone; no prefix uses more leases than the bound; the members agree; the masters run
//! on etcd3.

use super::command::Runbook;
use super::etcd::{etcdctl, v2_expiration, CtlOutput};
use super::lab::TestLab;
use base64::Engine as _;
use runbook::lab::seed_plan::SeedPlan;
use runbook::lab::state::LabState;
use std::collections::{BTreeMap, BTreeSet};

const SECOND: i64 = 1_000_000_000;

/// The lab's documented TTL prefixes and durations (its master-config.yaml).
pub const DOCUMENTED: [(&str, i64); 5] = [
    ("/kubernetes.io/events", 3600),
    ("/kubernetes.io/masterleases", 10),
    ("/openshift.io/oauth/accesstokens", 86400),
    ("/openshift.io/oauth/authorizetokens", 500),
    ("/openshift.io/leases/controllers", 30),
];

/// A v2 key as `etcdctl` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Key {
    pub value: String,
    pub created: u64,
    pub modified: u64,
    /// Unix ns.
    pub expiration: Option<i64>,
}

/// The lab before the migration: every v2 leaf and the master config.
pub struct Before {
    pub leaves: BTreeMap<String, V2Key>,
    pub master_config: String,
    /// When the leaves were read (Unix ns).
    pub at: i64,
    /// `(name, peer URLs)` of every member, as `etcdctl member list` printed them.
    pub members: Vec<(String, String)>,
}

impl Before {
    /// Leaves a v2 listing hides.
    pub fn hidden(&self) -> Vec<&String> {
        self.leaves
            .keys()
            .filter(|k| k.split('/').any(|s| s.starts_with('_')))
            .collect()
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap()
}

fn master_config_path(lab: &TestLab) -> std::path::PathBuf {
    lab.host_dir("master-1")
        .join("etc/origin/master/master-config.yaml")
}

fn ctl_ok(out: CtlOutput, what: &str) -> String {
    assert_eq!(out.code, 0, "etcdctl {what}: {}{}", out.stdout, out.stderr);
    out.stdout
}

fn collect_v2(node: &serde_json::Value, into: &mut BTreeMap<String, V2Key>) {
    if node["dir"].as_bool() == Some(true) {
        for child in node["nodes"].as_array().into_iter().flatten() {
            collect_v2(child, into);
        }
    } else if let Some(key) = node["key"].as_str() {
        into.insert(
            key.to_string(),
            V2Key {
                value: node["value"].as_str().unwrap_or("").to_string(),
                created: node["createdIndex"].as_u64().unwrap(),
                modified: node["modifiedIndex"].as_u64().unwrap(),
                expiration: v2_expiration(node),
            },
        );
    }
}

/// The keys the lab seeded that a listing hides.
fn seeded_hidden(lab: &TestLab) -> Vec<String> {
    let state: LabState =
        serde_json::from_slice(&std::fs::read(lab.dir.join("lab.json")).unwrap()).unwrap();
    SeedPlan::with_expiring(state.keys, state.expiring)
        .hidden_keys()
        .map(|k| k.key.clone())
        .collect()
}

/// Every v2 leaf served through `endpoint` (or the lab's endpoints): `etcdctl ls -o json
/// --recursive` for what a listing shows, `etcdctl get -o json` for the seeded hidden keys
/// and `extra_hidden`.
pub fn v2_leaves(
    lab: &TestLab,
    endpoint: Option<&str>,
    extra_hidden: &[&str],
) -> BTreeMap<String, V2Key> {
    v2_leaves_through(lab, &lab.env(), endpoint, extra_hidden)
}

/// [`v2_leaves`] through the etcdctl environment `env` (another env file of the lab).
pub fn v2_leaves_through(
    lab: &TestLab,
    env: &[(String, String)],
    endpoint: Option<&str>,
    extra_hidden: &[&str],
) -> BTreeMap<String, V2Key> {
    let pinned: Vec<String> = endpoint
        .map(|e| format!("--endpoints={e}"))
        .into_iter()
        .collect();
    let with = |rest: &[&str]| -> Vec<String> {
        pinned
            .iter()
            .cloned()
            .chain(rest.iter().map(|s| s.to_string()))
            .collect()
    };
    let etcdctl = |api: u8, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        etcdctl(env, api, &args)
    };
    let listed = ctl_ok(
        etcdctl(2, with(&["-o", "json", "ls", "--recursive", "/"])),
        "ls",
    );
    let mut leaves = BTreeMap::new();
    collect_v2(
        &serde_json::from_str::<serde_json::Value>(&listed).unwrap()["node"],
        &mut leaves,
    );
    let mut hidden = seeded_hidden(lab);
    hidden.extend(extra_hidden.iter().map(|s| s.to_string()));
    for key in hidden {
        let got = etcdctl(2, with(&["-o", "json", "get", &key]));
        if got.code != 0 && got.stderr.contains("Key not found") {
            continue; // expired
        }
        let got = ctl_ok(got, &format!("get {key}"));
        collect_v2(
            &serde_json::from_str::<serde_json::Value>(&got).unwrap()["node"],
            &mut leaves,
        );
    }
    leaves
}

/// Reads the lab's v2 data and master config (`extra_hidden`: hidden keys a test added).
pub fn before_with(lab: &TestLab, extra_hidden: &[&str]) -> Before {
    let at = now();
    Before {
        leaves: v2_leaves(lab, None, extra_hidden),
        master_config: std::fs::read_to_string(master_config_path(lab)).unwrap(),
        at,
        members: lab.member_list(),
    }
}

/// Reads the lab's v2 data (seeded hidden keys included) and master config.
pub fn before(lab: &TestLab) -> Before {
    before_with(lab, &[])
}

/// `runbook run v2-to-v3.rhai -i INVENTORY`, to run.
pub fn migration(inventory: &std::path::Path) -> Runbook {
    Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-i"])
        .arg(inventory)
}

/// A v3 key as `etcdctl get -w json` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Key {
    pub value: String,
    pub create: i64,
    pub modify: i64,
    pub lease: i64,
}

/// Every v3 key, through `etcdctl get "" --from-key -w json`.
pub fn v3_keys(lab: &TestLab) -> BTreeMap<String, V3Key> {
    v3_keys_through(&lab.env())
}

/// [`v3_keys`] through the etcdctl environment `env`.
pub fn v3_keys_through(env: &[(String, String)]) -> BTreeMap<String, V3Key> {
    let out = ctl_ok(
        etcdctl(env, 3, &["get", "", "--from-key", "-w", "json"]),
        "get --from-key",
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let decode = |v: &serde_json::Value| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or(""))
            .unwrap();
        String::from_utf8(bytes).unwrap()
    };
    json["kvs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|kv| {
            (
                decode(&kv["key"]),
                V3Key {
                    value: decode(&kv["value"]),
                    create: kv["create_revision"].as_i64().unwrap(),
                    modify: kv["mod_revision"].as_i64().unwrap(),
                    lease: kv["lease"].as_i64().unwrap_or(0),
                },
            )
        })
        .collect()
}

/// A lease's granted and remaining TTL (s), through `etcdctl lease timetolive -w json`.
pub fn lease_ttl(lab: &TestLab, lease: i64) -> (i64, i64) {
    let out = ctl_ok(
        etcdctl(
            &lab.env(),
            3,
            &["lease", "timetolive", &format!("{lease:x}"), "-w", "json"],
        ),
        "lease timetolive",
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        json["granted-ttl"].as_i64().unwrap(),
        json["ttl"].as_i64().unwrap(),
    )
}

/// The group a key's lease is sized by: its documented prefix, else its first two segments.
pub fn ttl_group(key: &str) -> String {
    for (prefix, _) in DOCUMENTED {
        if key == prefix || key.starts_with(&format!("{prefix}/")) {
            return prefix.to_string();
        }
    }
    let segments: Vec<&str> = key.split('/').filter(|s| !s.is_empty()).collect();
    format!(
        "/{}",
        segments[..segments.len().saturating_sub(1).min(2)].join("/")
    )
}

/// How late a lease may end: max(60 s, 2% of the group's TTL), the TTL being the documented
/// one or the longest a key of the group had left when `before` was read (ns).
pub fn tolerances(before: &Before) -> BTreeMap<String, i64> {
    let mut longest: BTreeMap<String, i64> = BTreeMap::new();
    for (key, leaf) in &before.leaves {
        if let Some(at) = leaf.expiration {
            let entry = longest.entry(ttl_group(key)).or_insert(0);
            *entry = (*entry).max(at - before.at);
        }
    }
    for (prefix, seconds) in DOCUMENTED {
        let entry = longest.entry(prefix.to_string()).or_insert(0);
        *entry = (*entry).max(seconds * SECOND);
    }
    longest
        .into_iter()
        .map(|(group, ttl)| (group, (60 * SECOND).max(ttl / 50)))
        .collect()
}

/// Asserts the lab is fully migrated (see the module's comment).
pub fn assert_migrated(lab: &TestLab, before: &Before) {
    assert_eq!(
        lab.member_list(),
        before.members,
        "the members keep their names and peer URLs"
    );
    let after = v3_keys(lab);
    let checked_at = now();
    let tolerances = tolerances(before);
    let slack = 5 * SECOND;
    let mut lease_ends: BTreeMap<i64, i64> = BTreeMap::new();
    let mut leases_of: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    let mut keys_of_lease: BTreeMap<i64, usize> = BTreeMap::new();
    let mut group_keys: BTreeMap<String, usize> = BTreeMap::new();
    for (key, leaf) in &before.leaves {
        let group = ttl_group(key);
        let tolerance = tolerances.get(&group).copied().unwrap_or(60 * SECOND);
        let hidden = key.split('/').any(|s| s.starts_with('_'));
        match (after.get(key), leaf.expiration) {
            (None, Some(at)) => assert!(
                at <= checked_at,
                "{key}: missing from v3 though its v2 TTL has {} s left",
                (at - checked_at) / SECOND
            ),
            (None, None) => panic!("{key} missing from v3"),
            (Some(_), Some(at)) if at + tolerance + slack < checked_at => {
                panic!(
                    "{key}: expired {} s ago, still in v3",
                    (checked_at - at) / SECOND
                )
            }
            (Some(v3), expiration) => {
                assert_eq!(v3.value, leaf.value, "{key}: value");
                if !hidden {
                    assert_eq!(v3.create as u64, leaf.created, "{key}: create revision");
                    if v3.lease == 0 {
                        assert_eq!(v3.modify as u64, leaf.modified, "{key}: mod revision");
                    } else {
                        assert!(
                            v3.modify as u64 > leaf.modified,
                            "{key}: leased after the migration"
                        );
                    }
                }
                let Some(at) = expiration else { continue };
                assert_ne!(v3.lease, 0, "{key}: a v2 TTL and no lease");
                let remaining = *lease_ends.entry(v3.lease).or_insert_with(|| {
                    let (_, remaining) = lease_ttl(lab, v3.lease);
                    now() + remaining * SECOND
                }) - checked_at;
                let expected = at - checked_at;
                assert!(
                    remaining >= expected - slack && remaining <= expected + tolerance + slack,
                    "{key}: lease ends in {} s, v2 in {} s (tolerance {} s)",
                    remaining / SECOND,
                    expected / SECOND,
                    tolerance / SECOND
                );
                leases_of.entry(group.clone()).or_default().insert(v3.lease);
                *keys_of_lease.entry(v3.lease).or_default() += 1;
                *group_keys.entry(group).or_default() += 1;
            }
        }
    }
    for (group, leases) in &leases_of {
        assert!(leases.len() <= 120, "{group}: {} leases", leases.len());
        let cap = group_keys[group].div_ceil(20).max(100);
        for lease in leases {
            assert!(
                keys_of_lease[lease] <= cap,
                "{group}: lease {lease:x} holds {} keys",
                keys_of_lease[lease]
            );
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
    for service in lab_master_services(lab) {
        let log = std::fs::read_to_string(
            lab.host_dir("master-1")
                .join(format!("var/log/{service}.log")),
        )
        .unwrap();
        // The service's own start lines (an embedded etcd logs after them).
        let started = format!("{service} started");
        let last_start = log.lines().rfind(|l| l.contains(&started));
        assert!(
            last_start.is_some_and(|l| l.contains("storage-backend=etcd3")),
            "{service}: {log}"
        );
    }
}

/// The lab's master services (one for a master with embedded etcd).
pub fn lab_master_services(lab: &TestLab) -> Vec<&'static str> {
    runbook::lab::layout::master_services(lab.state().layout).to_vec()
}

/// Asserts the lab's members are healthy and hold the same data (`endpoint hashkv`).
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
    assert_eq!(hashes.len(), lab.state().members.len());
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
}

/// The v2 data every member serves equals what was seeded (values and indexes).
pub fn assert_v2_as_seeded(lab: &TestLab, was: &Before) {
    let now = before(lab);
    assert_eq!(now.leaves.len(), was.leaves.len(), "v2 key count");
    let changed: Vec<&String> = was
        .leaves
        .iter()
        .filter(|(k, v)| now.leaves.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    assert!(changed.is_empty(), "v2 keys lost or changed: {changed:?}");
    assert!(v3_keys(lab).is_empty(), "v3 keys remain");
    assert_hashkv_agree(lab);
}
