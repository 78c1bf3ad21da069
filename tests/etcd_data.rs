//! Keys read and written by `etcd.get`, `put`, `delete`, `v2_get`, `v2_ls` and `key_counts`
//! against a real TLS lab, each outcome checked with plain etcdctl: values (blobs for binary
//! ones), revisions, lease ids, deleted counts, pages of a prefix, members' counts.

use crate::support::command::printed;
use crate::support::etcd::{etcdctl, runtime};
use crate::support::lab::TestLab;
use base64::Engine;
use runbook::interrupt::Interrupt;
use runbook::inventory::Inventory;
use runbook::ops::etcd::data::range::{self, RangeRequest};
use runbook::ops::etcd::{EtcdAccess, EtcdMember};
use runbook::transport::TransportPool;
use std::process::Command;
use std::sync::Arc;

fn ok(out: crate::support::etcd::CtlOutput, what: &str) -> String {
    assert_eq!(out.code, 0, "etcdctl {what}: {}", out.stderr);
    out.stdout
}

/// `etcdctl get KEY -w json` parsed.
fn get_json(env: &[(String, String)], args: &[&str]) -> serde_json::Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-w", "json"]);
    serde_json::from_str(&ok(etcdctl(env, 3, &all), "get")).unwrap()
}

fn b64(text: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.as_str().unwrap())
        .unwrap()
}

/// Puts a value that is not UTF-8 with plain etcdctl (argv carries any bytes but NUL).
fn put_bytes(env: &[(String, String)], key: &str, value: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let mut command = Command::new("etcdctl");
    for (name, _) in std::env::vars() {
        if name.starts_with("ETCDCTL_") {
            command.env_remove(name);
        }
    }
    let status = command
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("ETCDCTL_API", "3")
        .arg("put")
        .arg(key)
        .arg(std::ffi::OsStr::from_bytes(value))
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn get_put_delete_and_v2_reads_agree_with_etcdctl() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let env = lab.env();
    for i in 0..7 {
        ok(
            etcdctl(
                &env,
                3,
                &["put", &format!("/prims/page/{i:02}"), &format!("v{i}")],
            ),
            "put",
        );
    }
    ok(
        etcdctl(&env, 3, &["put", "/prims/pagesX", "outside"]),
        "put",
    );
    put_bytes(&env, "/prims/binary", &[0xff, 0xfe, b'A', 0x80]);
    let lease_line = ok(etcdctl(&env, 3, &["lease", "grant", "600"]), "lease grant");
    let lease_hex = lease_line.split_whitespace().nth(1).unwrap().to_string();
    let lease = i64::from_str_radix(&lease_hex, 16).unwrap();

    // A v2 leaf and a directory, as plain etcdctl lists them.
    let listing = ok(etcdctl(&env, 2, &["ls", "-r", "-p", "/"]), "ls");
    let leaf = listing
        .lines()
        .find(|l| !l.ends_with('/'))
        .unwrap()
        .to_string();
    let dir = leaf.rsplit_once('/').unwrap().0.to_string();
    let v2_node: serde_json::Value = serde_json::from_str(&ok(
        etcdctl(&env, 2, &["-o", "json", "get", &leaf]),
        "v2 get",
    ))
    .unwrap();
    let children = ok(etcdctl(&env, 2, &["ls", &dir]), "v2 ls");

    let script = format!(
        r#"
let p = etcd.put("/prims/a", "alpha");
print(`put_key=${{p.key}}`);
print(`put_rev=${{p.revision}}`);
let got = etcd.get("/prims/a");
print(`get_value=${{got[0].value}}`);
print(`get_mod=${{got[0].mod_revision}}`);
print(`get_version=${{got[0].version}}`);
print(`absent=${{etcd.get("/prims/none").len()}}`);
let bin = etcd.get("/prims/binary")[0].value;
print(`bin_type=${{type_of(bin)}}`);
print(`bin_len=${{bin.len()}}`);
let b = blob();
b.push(0); b.push(255); b.push(10);
print(`blob_rev=${{etcd.put("/prims/blob", b).revision}}`);
let l = etcd.put("/prims/leased", "x", #{{lease: {lease}}});
print(`lease_of=${{etcd.get("/prims/leased")[0].lease}}`);
let page = etcd.get("/prims/page/", #{{prefix: true}});
print(`page_keys=${{page.map(|kv| kv.key)}}`);
print(`limited=${{etcd.get("/prims/page/", #{{prefix: true, limit: 3, keys_only: true}}).map(|kv| kv.key)}}`);
print(`keys_only_value=${{etcd.get("/prims/page/", #{{prefix: true, keys_only: true}})[0].value}}`);
let old = etcd.get("/prims/a", #{{revision: p.revision - 1}});
print(`before_put=${{old.len()}}`);
etcd.put("/prims/a", "beta");
print(`at_put=${{etcd.get("/prims/a", #{{revision: p.revision}})[0].value}}`);
try {{ etcd.get("/prims/a", #{{revision: 1000000}}); }} catch (e) {{ print(`future=${{e.code}}`); }}
try {{ etcd.get("/prims/a", #{{bogus: 1}}); }} catch (e) {{ print(`bogus=${{e.code}}`); }}
let d = etcd.delete("/prims/page/", #{{prefix: true}});
print(`deleted=${{d.deleted}}`);
print(`delete_rev=${{d.revision}}`);
print(`deleted_none=${{etcd.delete("/prims/none").deleted}}`);
try {{ etcd.delete("", #{{prefix: true}}); }} catch (e) {{ print(`empty=${{e.code}}`); }}
let n = etcd.v2_get("{leaf}");
print(`v2_value=${{n.value}}`);
print(`v2_created=${{n.created_index}}`);
print(`v2_modified=${{n.modified_index}}`);
print(`v2_dir=${{n.dir}}`);
print(`v2_dir_node=${{etcd.v2_get("{dir}").dir}}`);
print(`v2_absent=${{type_of(etcd.v2_get("/no/such/key"))}}`);
print(`v2_ls=${{etcd.v2_ls("{dir}")}}`);
"#
    );
    let out = lab.run("data.rhai", &script).success().stdout;

    // put: its revision is the key's mod_revision as etcdctl reads it.
    let a = get_json(&env, &["/prims/a"]);
    let put_rev: i64 = printed(&out, "put_rev").parse().unwrap();
    assert_eq!(printed(&out, "put_key"), "/prims/a");
    assert_eq!(a["kvs"][0]["create_revision"].as_i64().unwrap(), put_rev);
    assert_eq!(printed(&out, "get_mod"), put_rev.to_string());
    assert_eq!(printed(&out, "get_value"), "alpha");
    assert_eq!(printed(&out, "get_version"), "1");
    assert_eq!(
        b64(&a["kvs"][0]["value"]),
        b"beta",
        "the second put is what etcd holds"
    );
    assert_eq!(printed(&out, "absent"), "0");
    // Binary values come back as blobs; a blob put is stored byte for byte.
    assert_eq!(printed(&out, "bin_type"), "blob");
    assert_eq!(printed(&out, "bin_len"), "4");
    let blob = get_json(&env, &["/prims/blob"]);
    assert_eq!(b64(&blob["kvs"][0]["value"]), [0, 255, 10]);
    assert_eq!(
        blob["kvs"][0]["mod_revision"].as_i64().unwrap().to_string(),
        printed(&out, "blob_rev")
    );
    // The lease: etcdctl sees the key on it.
    let leased = get_json(&env, &["/prims/leased"]);
    assert_eq!(leased["kvs"][0]["lease"].as_i64().unwrap(), lease);
    assert_eq!(printed(&out, "lease_of"), lease.to_string());
    // The prefix is a byte prefix (the key after it stays out); limits and keys_only.
    let keys: Vec<String> = (0..7).map(|i| format!("\"/prims/page/{i:02}\"")).collect();
    assert_eq!(printed(&out, "page_keys"), format!("[{}]", keys.join(", ")));
    assert_eq!(
        printed(&out, "limited"),
        format!("[{}]", keys[..3].join(", "))
    );
    assert_eq!(printed(&out, "keys_only_value"), "");
    // History: before the put there was no key; at the put, the first value.
    assert_eq!(printed(&out, "before_put"), "0");
    assert_eq!(printed(&out, "at_put"), "alpha");
    assert_eq!(
        printed(&out, "future"),
        "runbook::etcd::data::future_revision"
    );
    assert_eq!(printed(&out, "bogus"), "runbook::option");
    // delete: the count etcdctl no longer finds, the revision etcdctl's header says.
    assert_eq!(printed(&out, "deleted"), "7");
    let left = get_json(&env, &["/prims/page/", "--prefix", "--keys-only"]);
    assert_eq!(left["count"].as_i64().unwrap_or(0), 0);
    assert!(get_json(&env, &["/prims/pagesX"])["kvs"][0]["key"].is_string());
    let delete_rev: i64 = printed(&out, "delete_rev").parse().unwrap();
    let header = get_json(&env, &["/prims/none"])["header"]["revision"]
        .as_i64()
        .unwrap();
    assert!(
        delete_rev > put_rev && delete_rev <= header,
        "{delete_rev} {header}"
    );
    assert_eq!(printed(&out, "deleted_none"), "0");
    assert_eq!(printed(&out, "empty"), "runbook::etcd::data::empty_key");
    // v2: the leaf's value and indexes, the directory, the listing, as etcdctl has them.
    let node = &v2_node["node"];
    assert_eq!(printed(&out, "v2_value"), node["value"].as_str().unwrap());
    assert_eq!(
        printed(&out, "v2_created"),
        node["createdIndex"].to_string()
    );
    assert_eq!(
        printed(&out, "v2_modified"),
        node["modifiedIndex"].to_string()
    );
    assert_eq!(printed(&out, "v2_dir"), "false");
    assert_eq!(printed(&out, "v2_dir_node"), "true");
    assert_eq!(printed(&out, "v2_absent"), "()");
    let mut expected: Vec<String> = children.lines().map(|l| format!("\"{l}\"")).collect();
    expected.sort();
    assert_eq!(printed(&out, "v2_ls"), format!("[{}]", expected.join(", ")));
}

#[test]
fn a_prefix_is_read_in_pages_at_one_revision() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let env = lab.env();
    for i in 0..10 {
        ok(
            etcdctl(&env, 3, &["put", &format!("/paged/{i}"), &format!("{i}")]),
            "put",
        );
    }
    let inventory = Inventory::load(&lab.inventory(), &[]).unwrap();
    let members: Vec<EtcdMember> = inventory
        .group("etcd")
        .unwrap()
        .into_iter()
        .map(|h| EtcdMember::from_host(h).unwrap())
        .collect();
    let access = EtcdAccess::new(Arc::new(TransportPool::new()), Interrupt::new());
    let rt = runtime();
    let client = rt.block_on(access.v3_cluster(&members)).unwrap();
    let request = RangeRequest {
        key: b"/paged/".to_vec(),
        prefix: true,
        page_keys: 3,
        ..RangeRequest::default()
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let answer = rt.block_on(range::get(&client, &request, &cancel)).unwrap();
    let theirs = get_json(&env, &["/paged/", "--prefix"]);
    let their_keys: Vec<Vec<u8>> = theirs["kvs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| b64(&kv["key"]))
        .collect();
    let ours: Vec<Vec<u8>> = answer.entries.iter().map(|e| e.key.clone()).collect();
    assert_eq!(
        ours, their_keys,
        "4 pages of 3 give every key once, in order"
    );
    assert_eq!(
        answer.revision,
        theirs["header"]["revision"].as_i64().unwrap()
    );
    // A limit across pages.
    let limited = RangeRequest {
        limit: Some(5),
        ..request
    };
    let answer = rt.block_on(range::get(&client, &limited, &cancel)).unwrap();
    assert_eq!(answer.entries.len(), 5);
    assert_eq!(answer.entries[4].key, their_keys[4]);
}

#[test]
fn key_counts_are_each_members_own_and_an_unreachable_member_says_why() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let env = lab.env();
    ok(etcdctl(&env, 3, &["put", "/counted/a", "1"]), "put");
    ok(etcdctl(&env, 3, &["put", "/counted/b", "2"]), "put");
    lab.service("etcd-3", "stop", "etcd");
    let script = r#"
for c in etcd.key_counts() {
    print(`${c.host}=${c.v3}|${type_of(c.v2)}|${type_of(c.error)}|${c.member}`);
}
"#;
    let out = lab.run("counts.rhai", script).success().stdout;
    let count = get_json(&env, &["", "--prefix", "--keys-only"])["count"]
        .as_i64()
        .unwrap();
    assert!(count >= 2, "{count}");
    for host in ["etcd-1", "etcd-2"] {
        assert_eq!(
            printed(&out, host),
            format!("{count}|()|()|{host}"),
            "{out}"
        );
    }
    assert_eq!(printed(&out, "etcd-3"), "|()|string|etcd-3", "{out}");
}
