//! Membership primitives against a real TLS lab: force-new-cluster on the first
//! member, join of the others, member add/remove, and the guards that refuse.

use crate::support::command::{run_script, Runbook};
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
print(`forced: ${forced.host} ${forced.peer_urls.len()} ${etcd.members().len()}`);
for h in hosts.extract(1) {
    let joined = etcd.join(h, #{timeout: "60s"});
    print(`joined: ${joined.host} moved=${joined.moved_to != ()} promoted=${joined.promoted}`);
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
    assert!(out.contains("forced: etcd-1 1 1"), "{out}");
    assert!(
        out.contains("joined: etcd-2 moved=true promoted=true")
            && out.contains("joined: etcd-3 moved=true promoted=true"),
        "{out}"
    );
    // etcd 3.4: each joined as a learner, promoted once caught up; none is a learner now.
    assert!(
        rebuilt.stderr.contains("etcd-2: added as member")
            && rebuilt
                .stderr
                .contains(", a learner until it has caught up")
            && rebuilt
                .stderr
                .contains("etcd-3: caught up, promoted from learner to voting member"),
        "{}",
        rebuilt.stderr
    );
    let (learners, listed) = crate::support::etcd::learners(&env);
    assert!(learners.is_empty(), "{listed}");
    // Each member's v2 store, read from its files (its WAL holds the learner adds and the
    // promotions), has every key.
    let status = Runbook::new()
        .args(["--output", "json", "lab", "status", "--dir"])
        .arg(&lab.dir)
        .run()
        .success();
    let status = crate::support::command::json_result(&status.stdout);
    let reported = status["members"].as_array().unwrap();
    assert_eq!(reported.len(), 3, "{status}");
    for member in reported {
        assert_eq!(member["v2_keys"], 300, "{member}");
    }
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
fn a_member_keeps_its_name_and_peer_url_whatever_the_inventory_calls_it() {
    let lab = TestLab::up(&["--keys", "50"]);
    let members_before = lab.member_list();
    // The inventory knows etcd-1 by another name and address than the cluster does: the
    // member is called etcd-1 and advertises https://127.0.0.1:<port>.
    let original = std::fs::read_to_string(lab.inventory()).unwrap();
    let data_1 = lab.host_dir("etcd-1").join("var/lib/etcd");
    let renamed = original
        .replacen(
            "etcd-1 etcd_ip=127.0.0.1",
            "etcd-1 etcd_ip=localhost etcd_hostname=etcd-one.example.com",
            1,
        )
        .replacen(
            &format!("etcd_data_dir={}", data_1.display()),
            "etcd_data_dir=/nonexistent/etcd",
            1,
        );
    assert!(renamed.contains("etcd_data_dir=/nonexistent/etcd"));
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
        r#"
let ids = etcd.identify();
print(`identified: ${ids[0].host}=${ids[0].name} ${ids[0].source} ${ids[0].peer_urls[0]}`);
let hosts = inventory.group("etcd");
for h in hosts { h.service("etcd").stop(); }
let f = etcd.force_new_cluster(hosts[0]);
print(`forced: ${f.peer_url}`);
for h in hosts.extract(1) { etcd.join(h, #{timeout: "60s"}); }
print(`members: ${etcd.members().map(|m| m.name)}`);
"#,
    )
    .success();
    let peer_1 = members_before
        .iter()
        .find(|(name, _)| name == "etcd-1")
        .map(|(_, peer)| peer.clone())
        .unwrap();
    assert!(
        run.stdout
            .contains(&format!("identified: etcd-1=etcd-1 cluster {peer_1}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(
            "etcd-1: the member is called etcd-1 (the inventory's etcd_hostname is etcd-one.example.com): it keeps its name"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("etcd-1: the inventory's client URL ")
            && run.stderr.contains("://localhost:")
            && run.stderr.contains("the member's own is used"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "etcd-1: the data dir is {}, as ETCD_DATA_DIR in {} says (the inventory's etcd_data_dir is /nonexistent/etcd)",
            data_1.display(),
            conf.display()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("etcd-1: the member's peer URL stays {peer_1}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!("forced: {peer_1}")),
        "{}",
        run.stdout
    );
    // Plain etcdctl sees the same names and peer URLs as before.
    assert_eq!(lab.member_list(), members_before);
    let conf_after = std::fs::read_to_string(&conf).unwrap();
    assert!(
        !conf_after.contains("ETCD_FORCE_NEW_CLUSTER"),
        "{conf_after}"
    );
    assert!(conf_after.contains("ETCD_NAME=etcd-1\n"), "{conf_after}");
}

#[test]
fn member_update_is_the_one_way_to_change_a_peer_url_and_check_plans_it() {
    let lab = TestLab::up(&["--keys", "20"]);
    let before = lab.member_list();
    let (_, peer_2) = before.iter().find(|(n, _)| n == "etcd-2").unwrap().clone();
    let moved = peer_2.replace("127.0.0.1", "localhost");
    let work = tempfile::tempdir().unwrap();
    let script = format!(
        "let old = etcd.member_update(\"etcd-2\", \"{moved}\");\nprint(`old: ${{old.peer_urls}}`);\n"
    );
    std::fs::write(work.path().join("update.rhai"), &script).unwrap();
    let plan = crate::support::command::Runbook::new()
        .current_dir(work.path())
        .args(["check", "update.rhai", "-i"])
        .arg(lab.inventory())
        .run()
        .success();
    assert!(
        plan.stdout.contains(&format!(
            "member update etcd-2: peer URL {peer_2} -> {moved}"
        )),
        "{}",
        plan.stdout
    );
    assert_eq!(lab.member_list(), before, "check changes nothing");
    run_script(work.path(), &lab.inventory(), "update.rhai", &script).success();
    let after = lab.member_list();
    assert_eq!(
        after
            .iter()
            .find(|(n, _)| n == "etcd-2")
            .map(|(_, p)| p.as_str()),
        Some(moved.as_str())
    );
}
