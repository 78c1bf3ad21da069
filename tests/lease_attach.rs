//! `lease.attach` against a real TLS lab: only the key `prefix` and the keys under `prefix/`
//! get the lease, with the
//! right TTL (checked with `etcdctl lease timetolive --keys`), leased keys are skipped unless
//! re-leased, bad durations are refused, paging sees every key exactly once at one revision,
//! and a concurrent writer's values and deletions always win.

use crate::support::command::printed;
use crate::support::etcd::{etcdctl, runtime};
use crate::support::lab::TestLab;
use etcd_client::{Client, GetOptions, PutOptions, Txn, TxnOp};
use runbook::inventory::Inventory;
use runbook::ops::etcd::client::paging::KeyPager;
use runbook::ops::etcd::lease::attach::{attach, AttachOptions};
use runbook::ops::etcd::{client::v3, EtcdMember};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A v3 client for every member of the lab, with the lab's client TLS.
async fn lab_client(lab: &TestLab) -> Client {
    let inventory = Inventory::load(&lab.inventory(), &[]).expect("lab inventory");
    let members: Vec<EtcdMember> = inventory
        .group("etcd")
        .expect("[etcd] group")
        .into_iter()
        .map(|h| EtcdMember::from_host(h).expect("member"))
        .collect();
    let tls = members[0]
        .endpoint
        .tls
        .as_ref()
        .map(|files| files.read().expect("lab TLS files"));
    let urls: Vec<String> = members
        .iter()
        .map(|m| m.endpoint.client_url.clone())
        .collect();
    v3::connect(&urls, tls.as_ref(), Duration::from_secs(10))
        .await
        .expect("v3 connect")
}

/// Puts `keys` (all with `value`, on `lease` when non-zero) in transactions of 100.
async fn put_all(client: &Client, keys: &[String], value: &str, lease: i64) {
    for chunk in keys.chunks(100) {
        let ops: Vec<TxnOp> = chunk
            .iter()
            .map(|k| TxnOp::put(k.as_str(), value, Some(PutOptions::new().with_lease(lease))))
            .collect();
        client
            .kv_client()
            .txn(Txn::new().and_then(ops))
            .await
            .expect("put");
    }
}

async fn get(client: &Client, key: &str) -> Option<(String, i64)> {
    let answer = client.kv_client().get(key, None).await.expect("get");
    answer
        .kvs()
        .first()
        .map(|kv| (String::from_utf8_lossy(kv.value()).into_owned(), kv.lease()))
}

/// `etcdctl lease timetolive --keys`: (granted TTL, attached keys).
fn time_to_live(lab: &TestLab, lease_hex: &str) -> (String, BTreeSet<String>) {
    let out = etcdctl(&lab.env(), 3, &["lease", "timetolive", "--keys", lease_hex]);
    assert_eq!(out.code, 0, "etcdctl lease timetolive: {}", out.stderr);
    // lease 694d.. granted with TTL(3600s), remaining TTL(3599s), attached keys([/a /b])
    let text = out.stdout.trim();
    let ttl = text
        .split("granted with TTL(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no TTL in {text}"))
        .to_string();
    let keys = text
        .split("attached keys([")
        .nth(1)
        .and_then(|rest| rest.strip_suffix("])"))
        .unwrap_or_else(|| panic!("no attached keys in {text}"));
    (ttl, keys.split_whitespace().map(String::from).collect())
}

const REPORT: &str = r#"
for name in ["lease", "ttl", "keys", "attached", "skipped", "conflicts", "deleted"] {
    print(`${name}=${r[name]}`);
}
"#;

#[test]
fn attach_touches_only_the_prefix_skips_leased_keys_and_refuses_bad_durations() {
    let lab = TestLab::up(&["--tls", "--members", "1", "--keys", "20"]);
    let rt = runtime();
    let client = rt.block_on(lab_client(&lab));
    // The prefix itself is a key too (as /openshift.io/leases/controllers is on clusters
    // with the legacy controller lease).
    let mut inside: Vec<String> = (0..300).map(|i| format!("/t/events/ns/k{i:04}")).collect();
    inside.push("/t/events".into());
    let outside: Vec<String> = vec![
        "/t/eventsX/a".into(),
        "/t/eventsX/b".into(),
        "/t/event/c".into(),
        "/t/other/d".into(),
    ];
    let leased: Vec<String> = (0..5).map(|i| format!("/t/events/leased{i}")).collect();
    let old_lease = rt.block_on(async {
        put_all(&client, &inside, "value", 0).await;
        put_all(&client, &outside, "outside", 0).await;
        let old = client
            .lease_client()
            .grant(7200, None)
            .await
            .expect("grant")
            .id();
        put_all(&client, &leased, "leased", old).await;
        old
    });

    // Through the script API: one lease of 1h, leased keys skipped.
    let first = lab
        .run(
            "attach.rhai",
            &format!("let r = lease.attach(\"/t/events\", \"1h\");\n{REPORT}"),
        )
        .success();
    assert_eq!(printed(&first.stdout, "ttl"), "3600");
    assert_eq!(printed(&first.stdout, "keys"), "306");
    assert_eq!(printed(&first.stdout, "attached"), "301");
    assert_eq!(printed(&first.stdout, "skipped"), "5");
    assert_eq!(printed(&first.stdout, "conflicts"), "0");
    let lease_hex = printed(&first.stdout, "lease");
    let (ttl, attached) = time_to_live(&lab, &lease_hex);
    assert_eq!(ttl, "3600s");
    assert_eq!(attached, inside.iter().cloned().collect::<BTreeSet<_>>());
    rt.block_on(async {
        for key in &outside {
            assert_eq!(
                get(&client, key).await,
                Some(("outside".to_string(), 0)),
                "{key} must stay untouched"
            );
        }
        for key in &leased {
            assert_eq!(get(&client, key).await, Some(("leased".into(), old_lease)));
        }
        for key in &inside {
            let (value, _) = get(&client, key).await.expect("key still there");
            assert_eq!(value, "value", "{key} keeps its value");
        }
    });

    // Re-lease: every key under the prefix moves to the new lease.
    let second = lab.run("attach.rhai",
        &format!(
            "let r = lease.attach(\"/t/events/\", \"86400s\", #{{re_lease: true, page_size: 7}});\n{REPORT}"
        ),
    )
    .success();
    assert_eq!(printed(&second.stdout, "keys"), "306");
    assert_eq!(printed(&second.stdout, "attached"), "306");
    assert_eq!(printed(&second.stdout, "skipped"), "0");
    let (ttl, attached) = time_to_live(&lab, &printed(&second.stdout, "lease"));
    assert_eq!(ttl, "86400s");
    let mut expected: BTreeSet<String> = inside.iter().cloned().collect();
    expected.extend(leased.iter().cloned());
    assert_eq!(attached, expected);
    let (_, left) = time_to_live(&lab, &lease_hex);
    assert!(left.is_empty(), "the first lease lost every key: {left:?}");

    // Bad durations and options are refused before anything is written.
    let refused = lab
        .run(
            "attach.rhai",
            r#"
for d in ["1x", "-5s", "0s", "10", "500ms", "1500ms"] {
    try { lease.attach("/t/events", d); print(`accepted ${d}`); }
    catch (e) { print(`refused ${d}: ${e.code}`); }
}
try { lease.attach("/t/events", "1h", #{relase: true}); print("accepted relase"); }
catch (e) { print(`refused option: ${e.message}`); }
try { lease.attach("/", "1h"); print("accepted /"); }
catch (e) { print(`refused prefix: ${e.code}`); }
"#,
        )
        .success();
    for d in ["1x", "-5s", "0s", "10", "500ms", "1500ms"] {
        assert!(
            refused
                .stdout
                .contains(&format!("refused {d}: runbook::lease::duration")),
            "{d}: {}",
            refused.stdout
        );
    }
    assert!(refused
        .stdout
        .contains("refused option: lease.attach has no option `relase`"));
    assert!(refused
        .stdout
        .contains("refused prefix: runbook::lease::prefix"));
}

/// Every key of the pager's pages, in order.
async fn page_all(client: &Client, prefix: &str, page_size: usize) -> Vec<String> {
    let (mut pager, count) = KeyPager::pin(client, prefix, page_size, true)
        .await
        .expect("pin");
    let mut keys = Vec::new();
    while let Some(page) = pager.next_page().await.expect("page") {
        assert!(page.len() <= page_size);
        keys.extend(
            page.iter()
                .map(|kv| String::from_utf8_lossy(kv.key()).into_owned()),
        );
    }
    assert_eq!(
        keys.len() as u64,
        count,
        "count-only total matches the pages"
    );
    keys
}

#[test]
fn paging_sees_every_key_once_and_a_concurrent_writer_always_wins() {
    let lab = TestLab::up(&["--tls", "--members", "1", "--keys", "20"]);
    let rt = runtime();
    let client = rt.block_on(lab_client(&lab));

    // Paging: several key sets, several page sizes, neighbours that must not appear.
    rt.block_on(async {
        for (set, size) in [0usize, 1, 2, 7, 100, 257].into_iter().enumerate() {
            let prefix = format!("/p{set}/x");
            let mut keys: Vec<String> = (0..size).map(|i| format!("{prefix}/{i}")).collect();
            if size > 2 {
                keys.push(format!("{prefix}/a\u{0}b"));
                keys.push(format!("{prefix}/a"));
                keys.push(format!("{prefix}/\u{ff}\u{ff}"));
            }
            put_all(&client, &keys, "v", 0).await;
            let neighbours = [prefix.clone(), format!("{prefix}Y/1"), format!("/p{set}/w")];
            put_all(&client, &neighbours, "n", 0).await;
            keys.sort();
            for page_size in [1, 2, 3, 10, 1000] {
                assert_eq!(
                    page_all(&client, &prefix, page_size).await,
                    keys,
                    "set {set} page size {page_size}"
                );
            }
        }
        // One pinned revision: later puts and deletes do not change what is paged.
        let (mut pager, count) = KeyPager::pin(&client, "/p4/x", 5, true).await.expect("pin");
        client
            .kv_client()
            .put("/p4/x/new", "v", None)
            .await
            .expect("put");
        client
            .kv_client()
            .delete("/p4/x/0", None)
            .await
            .expect("del");
        let mut seen = 0;
        while let Some(page) = pager.next_page().await.expect("page") {
            seen += page.len() as u64;
            assert!(!page.iter().any(|kv| kv.key() == b"/p4/x/new"));
        }
        assert_eq!(seen, count);
        assert_eq!(count, 103);
    });

    // A concurrent writer rewrites and deletes keys (from the end, where attach comes last).
    let keys: Vec<String> = (0..4000).map(|i| format!("/c/events/k{i:05}")).collect();
    rt.block_on(put_all(&client, &keys, "v0", 0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let client = client.clone();
        let keys = keys.clone();
        let stop = stop.clone();
        rt.spawn(async move {
            let mut last: BTreeMap<String, Option<String>> = BTreeMap::new();
            let mut kv = client.kv_client();
            let mut round = 0u64;
            let mut writes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                tokio::task::yield_now().await;
                for key in keys.iter().rev().step_by(7) {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if matches!(last.get(key), Some(None)) {
                        continue;
                    }
                    writes += 1;
                    // Deletes only in the first round, so most keys survive to be checked.
                    if round == 1 && writes % 5 == 0 {
                        kv.delete(key.as_str(), None).await.expect("writer delete");
                        last.insert(key.clone(), None);
                    } else {
                        let value = format!("w{round}-{writes}");
                        // ignore_lease: the writer changes values only, so every surviving
                        // key must end up on the new lease.
                        kv.put(
                            key.as_str(),
                            value.as_str(),
                            Some(PutOptions::new().with_ignore_lease()),
                        )
                        .await
                        .expect("writer put");
                        last.insert(key.clone(), Some(value));
                    }
                }
            }
            (last, writes)
        })
    };
    // Let the writer get going so its writes overlap the whole attach.
    std::thread::sleep(Duration::from_millis(300));
    let options = AttachOptions {
        page_size: 50,
        batch_size: 16,
        concurrency: 2,
        ..AttachOptions::default()
    };
    let mut calls = 0u64;
    let report = rt
        .block_on(attach(
            &client,
            "/c/events",
            3600,
            &options,
            &CancellationToken::new(),
            &mut |_done, _total| calls += 1,
        ))
        .expect("attach");
    stop.store(true, Ordering::Relaxed);
    let (last, writes) = rt.block_on(writer).expect("writer");
    eprintln!("attach: {report:?}; writer: {writes} writes");
    assert!(calls > 1, "progress was reported");
    assert_eq!(report.skipped, 0);
    assert_eq!(report.keys, report.attached + report.deleted);
    assert!(report.conflicts > 0, "the writer interleaved: {report:?}");
    assert!(
        report.deleted > 0,
        "the writer deleted during attach: {report:?}"
    );

    rt.block_on(async {
        let answer = client
            .kv_client()
            .get("/c/events/", Some(GetOptions::new().with_prefix()))
            .await
            .expect("get");
        let now: BTreeMap<String, (String, i64)> = answer
            .kvs()
            .iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(kv.key()).into_owned(),
                    (String::from_utf8_lossy(kv.value()).into_owned(), kv.lease()),
                )
            })
            .collect();
        for key in &keys {
            match last.get(key) {
                Some(None) => assert!(!now.contains_key(key), "{key} was resurrected"),
                Some(Some(value)) => {
                    assert_eq!(now.get(key), Some(&(value.clone(), report.lease)), "{key}")
                }
                None => assert_eq!(now.get(key), Some(&("v0".into(), report.lease)), "{key}"),
            }
        }
    });
}
