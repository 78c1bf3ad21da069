//! The v2 store reader (`ops::etcd::v2store`) against real etcd 3.4 members. A lab takes v2
//! traffic of every kind through `curl` (sets, creates, compare-and-swap and -delete that
//! succeed and fail, updates, refreshes, in-order keys, directories with and without TTLs,
//! recursive deletes, keys that expire, hidden keys and hidden directories) and
//! configuration changes through `etcdctl`, so its members write snapshots and WAL tails
//! of them all. What etcd itself serves (`curl` of every key by its exact name, the
//! recursive listing for the rest) must be what the reader reads from the files: of a
//! running member, and of every member once stopped.

use crate::support::command::run_script;
use crate::support::etcd::{etcdctl, runtime, v2_expiration, wait_until};
use crate::support::lab::TestLab;
use runbook::ops::etcd::v2store::{read_member_dir, V2Store};
use runbook::transport::local::LocalTransport;
use runbook::transport::Transport;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A key as etcd serves it: value, createdIndex, modifiedIndex, and the moment it expires
/// (its own expiration or the earliest of its directories').
#[derive(Debug, Clone, PartialEq, Eq)]
struct Served {
    value: String,
    created: u64,
    modified: u64,
    expires: Option<i64>,
}

/// `curl` against one member's v2 API.
struct V2Http {
    base: String,
}

impl V2Http {
    fn call(&self, method: &str, path: &str, form: &[(&str, &str)], query: &str) -> Value {
        let url = format!("{}/v2/keys{path}{query}", self.base);
        let mut command = Command::new("curl");
        command.args(["-sS", "-X", method, &url]);
        for (name, value) in form {
            command
                .arg("--data-urlencode")
                .arg(format!("{name}={value}"));
        }
        let output = command.output().expect("curl runs");
        assert!(output.status.success(), "curl {method} {url}: {output:?}");
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("curl {method} {url}: {e}: {output:?}"))
    }

    fn put(&self, path: &str, form: &[(&str, &str)]) -> Value {
        self.call("PUT", path, form, "")
    }
}

/// Every leaf under `node` (a v2 API node), with the expiry its directories impose.
fn served_leaves(node: &Value, inherited: Option<i64>, into: &mut BTreeMap<String, Served>) {
    let own = v2_expiration(node);
    let expires = match (inherited, own) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if node["dir"].as_bool() == Some(true) {
        for child in node["nodes"].as_array().into_iter().flatten() {
            served_leaves(child, expires, into);
        }
        return;
    }
    let Some(key) = node["key"].as_str() else {
        return;
    };
    into.insert(
        key.to_string(),
        Served {
            value: node["value"].as_str().unwrap_or("").to_string(),
            created: node["createdIndex"].as_u64().unwrap(),
            modified: node["modifiedIndex"].as_u64().unwrap(),
            expires,
        },
    );
}

/// What etcd serves: the recursive listing, plus every hidden path by its exact name (with
/// the expiry of the directories above it, read one by one).
fn served(http: &V2Http, hidden: &BTreeSet<String>) -> BTreeMap<String, Served> {
    let mut all = BTreeMap::new();
    served_leaves(
        &http.call("GET", "/", &[], "?recursive=true")["node"],
        None,
        &mut all,
    );
    for path in hidden {
        let answer = http.call("GET", path, &[], "?recursive=true");
        if answer["errorCode"].as_u64() == Some(100) {
            continue; // deleted or expired since
        }
        let mut inherited = None;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for depth in 1..parts.len() {
            let dir = format!("/{}", parts[..depth].join("/"));
            let node = http.call("GET", &dir, &[], "");
            if let Some(at) = v2_expiration(&node["node"]) {
                inherited = Some(inherited.map_or(at, |i: i64| i.min(at)));
            }
        }
        served_leaves(&answer["node"], inherited, &mut all);
    }
    all
}

fn read(dir: &std::path::Path) -> V2Store {
    let transport = Transport::Local(LocalTransport::new("etcd-test"));
    runtime()
        .block_on(read_member_dir(
            &transport,
            dir.join("member").to_str().unwrap(),
            &CancellationToken::new(),
        ))
        .unwrap_or_else(|e| panic!("reading {}: {e:?}", dir.display()))
}

fn assert_same(what: &str, store: &V2Store, served: &BTreeMap<String, Served>) {
    let read: BTreeMap<String, Served> = store
        .leaves
        .iter()
        .map(|l| {
            (
                l.key.clone(),
                Served {
                    value: String::from_utf8(l.value.clone()).unwrap(),
                    created: l.created,
                    modified: l.modified,
                    expires: l.expires,
                },
            )
        })
        .collect();
    let missing: Vec<&String> = served.keys().filter(|k| !read.contains_key(*k)).collect();
    let extra: Vec<&String> = read.keys().filter(|k| !served.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, extra {extra:?}"
    );
    for (key, expected) in served {
        assert_eq!(&read[key], expected, "{what}: {key}");
    }
}

#[test]
fn reads_every_key_as_etcd_serves_it_from_running_and_stopped_members() {
    let lab = TestLab::up(&["--keys", "200"]);
    let env = lab.env();
    let endpoints = env
        .iter()
        .find(|(k, _)| k == "ETCDCTL_ENDPOINTS")
        .map(|(_, v)| v.clone())
        .unwrap();
    let http = V2Http {
        base: endpoints.split(',').next().unwrap().to_string(),
    };
    // etcd-3 stops taking snapshots, so its WAL holds all that follows; the others go on
    // snapshotting every 100 entries, so theirs hold snapshots of it too.
    let conf = lab.host_dir("etcd-3").join("etc/etcd/etcd.conf");
    let text: String = std::fs::read_to_string(&conf)
        .unwrap()
        .lines()
        .map(|line| match line.starts_with("ETCD_SNAPSHOT_COUNT=") {
            true => "ETCD_SNAPSHOT_COUNT=100000\n".to_string(),
            false => format!("{line}\n"),
        })
        .collect();
    assert!(text.contains("ETCD_SNAPSHOT_COUNT=100000"), "{text}");
    std::fs::write(&conf, text).unwrap();
    let restart = run_script(
        &lab.dir,
        &lab.inventory(),
        "restart.rhai",
        r#"let h = inventory.host("etcd-3"); h.service(h.vars.etcd_service).restart();"#,
    );
    assert_eq!(restart.code, 0, "{}", restart.stderr);
    // The lab seeds hidden tokens of its own.
    let mut hidden: BTreeSet<String> = runbook::lab::seed_plan::SeedPlan::new(200)
        .hidden_keys()
        .map(|k| k.key.clone())
        .collect();
    let seeded_hidden = hidden.len();
    let t = "/runbook-test";

    // Plain, hidden and nested hidden keys; values with unicode, empty and large.
    for i in 0..40 {
        http.put(&format!("{t}/k{i}"), &[("value", &format!("v{i}"))]);
    }
    for path in [
        "/openshift.io/oauth/accesstokens/_tok-a",
        "/openshift.io/oauth/authorizetokens/_tok-b",
        &format!("{t}/_hidden/visible-inside"),
        &format!("{t}/_hidden/_both"),
        &format!("{t}/plain/_tail"),
    ] {
        http.put(path, &[("value", "secret-ish")]);
        hidden.insert(path.to_string());
    }
    http.put(&format!("{t}/unicode"), &[("value", "Grüße, привет")]);
    http.put(&format!("{t}/empty"), &[("value", "")]);
    http.put(&format!("{t}/large"), &[("value", &"x".repeat(100 * 1024))]);

    // TTLs: long ones, short ones that expire, a directory with a TTL taking its key along.
    http.put(&format!("{t}/ttl/long"), &[("value", "l"), ("ttl", "3600")]);
    http.put(
        &format!("{t}/_ttl-hidden"),
        &[("value", "h"), ("ttl", "7200")],
    );
    hidden.insert(format!("{t}/_ttl-hidden"));
    for i in 0..5 {
        http.put(
            &format!("{t}/ttl/short{i}"),
            &[("value", "s"), ("ttl", "1")],
        );
    }
    http.put(&format!("{t}/ttldir"), &[("dir", "true"), ("ttl", "1800")]);
    http.put(
        &format!("{t}/ttldir/inner"),
        &[("value", "i"), ("ttl", "3600")],
    );
    http.put(&format!("{t}/gone-dir"), &[("dir", "true"), ("ttl", "1")]);
    http.put(&format!("{t}/gone-dir/inner"), &[("value", "i")]);

    // Creates, compare-and-swap / -delete that succeed and fail, updates and refreshes.
    http.put(&format!("{t}/c"), &[("value", "1"), ("prevExist", "false")]);
    http.put(&format!("{t}/c"), &[("value", "2"), ("prevExist", "false")]);
    let index = http.put(&format!("{t}/k1"), &[("value", "again")])["node"]["modifiedIndex"]
        .as_u64()
        .unwrap();
    http.call(
        "PUT",
        &format!("{t}/k1"),
        &[("value", "cas-ok")],
        &format!("?prevIndex={index}"),
    );
    http.call(
        "PUT",
        &format!("{t}/k1"),
        &[("value", "cas-no")],
        &format!("?prevIndex={index}"),
    );
    http.call(
        "PUT",
        &format!("{t}/k2"),
        &[("value", "by-value")],
        "?prevValue=v2",
    );
    http.call(
        "PUT",
        &format!("{t}/k3"),
        &[("value", "x")],
        "?prevValue=nope",
    );
    http.put(
        &format!("{t}/k4"),
        &[("value", "updated"), ("prevExist", "true")],
    );
    http.put(
        &format!("{t}/nope"),
        &[("value", "x"), ("prevExist", "true")],
    );
    http.put(
        &format!("{t}/ttl/long"),
        &[("ttl", "5400"), ("refresh", "true"), ("prevExist", "true")],
    );
    http.call("DELETE", &format!("{t}/k5"), &[], "");
    let k6 = http.call("GET", &format!("{t}/k6"), &[], "")["node"]["modifiedIndex"]
        .as_u64()
        .unwrap();
    http.call(
        "DELETE",
        &format!("{t}/k6"),
        &[],
        &format!("?prevIndex={k6}"),
    );
    http.call("DELETE", &format!("{t}/k7"), &[], "?prevIndex=1");
    http.call("DELETE", &format!("{t}/k8"), &[], "?prevValue=v8");
    http.put(&format!("{t}/tree/a/b"), &[("value", "1")]);
    http.put(&format!("{t}/tree/a/c"), &[("value", "2")]);
    http.call("DELETE", &format!("{t}/tree/a"), &[], "?recursive=true");
    http.put(&format!("{t}/emptydir"), &[("dir", "true")]);
    http.call("DELETE", &format!("{t}/emptydir"), &[], "?dir=true");
    for _ in 0..3 {
        http.call("POST", &format!("{t}/queue"), &[("value", "job")], "");
    }
    http.call("GET", &format!("{t}/k9"), &[], "?quorum=true");

    // Configuration changes: a learner added (never started) and removed, a member's peer
    // URLs updated to what they are.
    // etcd refuses reconfiguration until its peers have been connected for 5 s.
    let mut added = None;
    assert!(wait_until(Duration::from_secs(30), || {
        let out = etcdctl(
            &env,
            3,
            &[
                "member",
                "add",
                "phantom",
                "--learner",
                "--peer-urls=http://127.0.0.1:1",
                "-w",
                "json",
            ],
        );
        let ok = out.code == 0;
        added = Some(out);
        ok
    }));
    let added = added.unwrap();
    let id = serde_json::from_str::<Value>(&added.stdout).unwrap()["member"]["ID"]
        .as_u64()
        .unwrap();
    http.put(&format!("{t}/during-phantom"), &[("value", "x")]);
    let removed = etcdctl(&env, 3, &["member", "remove", &format!("{id:x}")]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    let members = etcdctl(&env, 3, &["member", "list", "-w", "json"]);
    let members: Value = serde_json::from_str(&members.stdout).unwrap();
    let second = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "etcd-2")
        .unwrap();
    let peer = second["peerURLs"][0].as_str().unwrap();
    let updated = etcdctl(
        &env,
        3,
        &[
            "member",
            "update",
            &format!("{:x}", second["ID"].as_u64().unwrap()),
            &format!("--peer-urls={peer}"),
        ],
    );
    assert_eq!(updated.code, 0, "{}", updated.stderr);
    for i in 40..60 {
        http.put(&format!("{t}/k{i}"), &[("value", &format!("v{i}"))]);
    }
    // The leader expires the short TTLs with SYNC entries.
    std::thread::sleep(Duration::from_secs(3));
    http.put(
        &format!("{t}/last"),
        &[("value", "written after the expiries")],
    );

    let expected = served(&http, &hidden);
    assert!(expected.contains_key("/openshift.io/oauth/accesstokens/_tok-a"));
    assert!(expected.contains_key(&format!("{t}/ttldir/inner")));
    assert!(
        !expected.contains_key(&format!("{t}/ttl/short0")),
        "short TTLs expired"
    );
    assert!(!expected.contains_key(&format!("{t}/gone-dir/inner")));
    assert!(expected.len() > 250, "{} keys", expected.len());

    // A running member: its files up to what it has written.
    let running = read(&lab.host_dir("etcd-3").join("var/lib/etcd"));
    assert_same("etcd-3 while running", &running, &expected);
    assert!(
        running.snapshot.is_some(),
        "etcd-3 snapshotted while seeded"
    );
    // Everything the test did is in its WAL tail, replayed on the snapshot.
    let replayed = &running.replay;
    assert!(replayed.entries > 100, "{replayed:?}");
    assert!(replayed.syncs > 0 && replayed.expired >= 6, "{replayed:?}");
    assert!(replayed.conf_changes >= 3, "{replayed:?}");
    assert_eq!(running.hidden(), 6 + seeded_hidden);

    // Every member, stopped.
    let stop = run_script(
        &lab.dir,
        &lab.inventory(),
        "stop.rhai",
        r#"for h in inventory.group("etcd") { h.service(h.vars.etcd_service).stop(); }"#,
    );
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    for member in ["etcd-1", "etcd-2", "etcd-3"] {
        let store = read(&lab.host_dir(member).join("var/lib/etcd"));
        assert_same(member, &store, &expected);
    }
}
