//! The shipped `runbooks/v2-to-v3.rhai` preflight against a real TLS lab: it passes on a
//! fresh v2 cluster and refuses, naming the reason, once v3 data exists.

mod support;

use support::command::{repo_root, Runbook};
use support::etcd::etcdctl;
use support::lab::TestLab;

#[test]
fn preflight_passes_on_a_fresh_lab_and_refuses_when_v3_keys_exist() {
    let lab = TestLab::up(&["--tls", "--keys", "300"]);
    let runbook = repo_root().join("runbooks/v2-to-v3.rhai");

    Runbook::new()
        .arg("run")
        .arg(&runbook)
        .arg("-i")
        .arg(lab.inventory())
        .run()
        .success()
        .stdout_has("etcd members: [\"etcd-1\", \"etcd-2\", \"etcd-3\"]")
        .stdout_has("health: every member is healthy")
        .stdout_has("snapshots: every member has a v2 snapshot")
        .stdout_has("v3 keys: none")
        .stdout_has("(converged)")
        .stdout_has("preflight passed");

    let put = etcdctl(&lab.env(), 3, &["put", "/registry/leftover", "v3"]);
    assert_eq!(put.code, 0, "etcdctl put: {}", put.stderr);

    Runbook::new()
        .arg("run")
        .arg(&runbook)
        .arg("-i")
        .arg(lab.inventory())
        .run()
        .code(1)
        .stdout_has("snapshots: every member has a v2 snapshot")
        .stderr_has("the cluster already holds 1 v3 keys");
}
