//! Membership primitives against a real TLS lab: force-new-cluster on the first
//! member, join of the others, member add/remove, and the guards that refuse.

use crate::support::command::run_script;
use crate::support::etcd::etcdctl;
use crate::support::lab::TestLab;
use crate::support::migration::assert_hashkv_agree;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn member_names(env: &[(String, String)]) -> Vec<String> {
    let listed = etcdctl(env, 3, &["member", "list", "-w", "json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let mut names: Vec<String> = json(&listed.stdout)["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap_or("").to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn force_new_cluster_then_join_rebuilds_three_healthy_members_with_equal_data() {
    let lab = TestLab::up(&["--tls", "--keys", "300"]);
    let env = lab.env();
    let work = tempfile::tempdir().unwrap();
    let conf = |host: &str| lab.host_dir(host).join("etc/etcd/etcd.conf");
    let original_conf_1 = std::fs::read_to_string(conf("etcd-1")).unwrap();

    // Refused while the other members run: nothing changes.
    run_script(
        work.path(),
        &lab.inventory(),
        "refused.rhai",
        "let hosts = inventory.group(\"etcd\");\nhosts[0].service(\"etcd\").stop();\netcd.force_new_cluster(hosts[0]);\n",
    )
    .code(1)
    .stderr_has("etcd is still running on etcd-2, etcd-3")
    .stderr_has("stop etcd there first");
    assert_eq!(
        std::fs::read_to_string(conf("etcd-1")).unwrap(),
        original_conf_1
    );

    let rebuilt = run_script(
        work.path(),
        &lab.inventory(),
        "rebuild.rhai",
        r#"
let hosts = inventory.group("etcd");
for h in hosts { h.service("etcd").stop(); }
try { etcd.join(hosts[1]); } catch (e) { print(`join without a cluster: ${e.code}`); }
let forced = etcd.force_new_cluster(hosts[0]);
print(`forced: ${forced.host} ${forced.peer_url_updated} ${etcd.members().len()}`);
for h in hosts.extract(1) {
    let joined = etcd.join(h, #{timeout: "60s"});
    print(`joined: ${joined.host} moved=${joined.moved_to != ()}`);
}
print(`members: ${etcd.members().len()}`);
print(`join again: already=${etcd.join(hosts[1]).already_joined}`);
try { etcd.force_new_cluster(hosts[0]); } catch (e) { print(`force on a running cluster: ${e.message}`); }
"#,
    )
    .success();
    let out = &rebuilt.stdout;
    assert!(
        out.contains("join without a cluster: runbook::etcd::membership::no_quorum"),
        "{out}"
    );
    assert!(out.contains("forced: etcd-1 false 1"), "{out}");
    assert!(
        out.contains("joined: etcd-2 moved=true") && out.contains("joined: etcd-3 moved=true"),
        "{out}"
    );
    assert!(out.contains("members: 3"), "{out}");
    assert!(
        out.contains("join again: already=true")
            && out.contains("force on a running cluster: etcd is still running on etcd-2, etcd-3"),
        "{out}"
    );

    // The cluster: three started members, healthy, equal hashes, all v2 data on each.
    assert_eq!(member_names(&env), ["etcd-1", "etcd-2", "etcd-3"]);
    assert_hashkv_agree(&lab);
    let endpoints = env
        .iter()
        .find(|(k, _)| k == "ETCDCTL_ENDPOINTS")
        .unwrap()
        .1
        .clone();
    // Hidden keys included (a listing does not show them; etcdctl gets them by name).
    for endpoint in endpoints.split(',') {
        let leaves = crate::support::migration::v2_leaves(&lab, Some(endpoint), &[]);
        assert_eq!(leaves.len(), 300, "v2 keys on {endpoint}");
    }

    // Files: the force flag is gone, the joiners' conf says existing, old data kept, copies kept.
    assert_eq!(
        std::fs::read_to_string(conf("etcd-1")).unwrap(),
        original_conf_1
    );
    let conf_2 = std::fs::read_to_string(conf("etcd-2")).unwrap();
    assert!(
        conf_2.contains("ETCD_INITIAL_CLUSTER_STATE=existing"),
        "{conf_2}"
    );
    assert!(conf_2
        .lines()
        .any(|l| l.starts_with("ETCD_INITIAL_CLUSTER=")
            && l.contains("etcd-1=")
            && l.contains("etcd-2=")));
    for host in ["etcd-2", "etcd-3"] {
        let data = lab.host_dir(host).join("var/lib/etcd");
        let old: Vec<_> = std::fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("member.old."))
            .collect();
        assert_eq!(old.len(), 1, "{host}: {old:?}");
        assert!(
            data.join(&old[0]).join("snap").is_dir(),
            "old member dir kept whole"
        );
        let copies = std::fs::read_dir(lab.host_dir(host).join("etc/etcd"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("etcd.conf.runbook-")
            })
            .count();
        assert_eq!(copies, 1, "{host}: one copy of the original etcd.conf");
    }

    // Remove and re-add: a repeated add of the same peer URL is accepted.
    let readd = run_script(
        work.path(),
        &lab.inventory(),
        "readd.rhai",
        r#"
let h = inventory.host("etcd-3");
h.service("etcd").stop();
let removed = etcd.member_remove(h);
print(`removed: ${removed.name} left=${etcd.members().len()}`);
let first = etcd.member_add(h);
let second = etcd.member_add(h);
print(`added: ${first.already_present} ${second.already_present} ${first.id == second.id}`);
print(first.initial_cluster);
"#,
    )
    .success();
    assert!(
        readd.stdout.contains("removed: etcd-3 left=2"),
        "{}",
        readd.stdout
    );
    assert!(
        readd.stdout.contains("added: false true true"),
        "{}",
        readd.stdout
    );
    assert!(
        readd.stdout.contains("etcd-3=https://127.0.0.1:"),
        "{}",
        readd.stdout
    );
}

#[test]
fn force_new_cluster_sets_the_peer_url_the_inventory_names() {
    let lab = TestLab::up(&["--keys", "50"]);
    // Same member, reached by another name: the inventory's peer URL differs from the data's.
    let original = std::fs::read_to_string(lab.inventory()).unwrap();
    let renamed = original.replacen("etcd-1 etcd_ip=127.0.0.1", "etcd-1 etcd_ip=localhost", 1);
    assert_ne!(original, renamed);
    let inventory = lab.dir.join("inventory-localhost.ini");
    std::fs::write(&inventory, renamed).unwrap();
    // A force flag an interrupted run left behind must not survive this one.
    let conf = lab.host_dir("etcd-1").join("etc/etcd/etcd.conf");
    let clean = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, format!("{clean}ETCD_FORCE_NEW_CLUSTER=true\n")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let run = run_script(
        work.path(),
        &inventory,
        "peer.rhai",
        "let hosts = inventory.group(\"etcd\");\nfor h in hosts { h.service(\"etcd\").stop(); }\nlet f = etcd.force_new_cluster(hosts[0]);\nprint(`updated=${f.peer_url_updated} ${f.peer_url}`);\nprint(etcd.members()[0].peer_urls);\n",
    )
    .success();
    assert!(
        run.stdout.contains("updated=true http://localhost:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[\"http://localhost:"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        clean,
        "no force flag left in etcd.conf"
    );
}
