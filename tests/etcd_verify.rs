//! `etcd.verify` on the member `etcd.migrate` ran on (a custom runbook: the key count, the
//! backups, every member stopped, `etcd.migrate`, `force_new_cluster`, `migrate_missing`):
//! it passes, counting the hidden keys, then names keys missing, changed or rewritten in v3
//! behind its back (a hidden one too). On a member no migration ran on, it refuses.

use crate::support::command::printed;
use crate::support::etcd::etcdctl;

/// A number a script printed as `name=N`.
fn count(stdout: &str, name: &str) -> u64 {
    printed(stdout, name).parse().unwrap()
}
use crate::support::lab::TestLab;

const VERIFY: &str = r#"
let r = etcd.verify("etcd-1");
for name in ["v2_keys", "hidden", "v3_checked", "missing", "different_value", "different_revision"] {
    print(`${name}=${r[name]}`);
}
"#;

const MIGRATE: &str = r#"
if etcd.v3_key_count() != 0 { throw "v3 keys"; }
etcd.backup();
for h in inventory.group("etcd") { h.service(h.vars.etcd_service).stop(); }
etcd.migrate("etcd-1");
etcd.force_new_cluster("etcd-1");
let copied = etcd.migrate_missing("etcd-1");
print(`copied=${copied.written}`);
"#;

#[test]
fn verify_passes_after_migrate_and_names_keys_changed_behind_its_back() {
    let lab = TestLab::up(&["--tls", "--keys", "400"]);
    let refused = lab.run("verify.rhai", VERIFY).code(1);
    assert!(
        refused
            .stderr
            .contains("runbook::etcd::v2store::not_migrated"),
        "{}",
        refused.stderr
    );
    let migrated = lab.run("verify.rhai", MIGRATE).success();
    let copied = count(&migrated.stdout, "copied");
    assert!(copied >= 2, "hidden keys copied: {}", migrated.stdout);
    // etcdctl talks to etcd-1 only (the other members are stopped).
    let inventory = runbook::inventory::Inventory::load(&lab.inventory(), &[]).unwrap();
    let first = inventory.host("etcd-1").unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        first.var_str("etcd_client_port").expect("client port")
    );
    let env: Vec<(String, String)> = lab
        .env()
        .into_iter()
        .map(|(k, v)| {
            if k == "ETCDCTL_ENDPOINTS" {
                (k, url.clone())
            } else {
                (k, v)
            }
        })
        .collect();

    let passed = lab.run("verify.rhai", VERIFY).success();
    let v2_keys = count(&passed.stdout, "v2_keys");
    assert_eq!(v2_keys, 400, "{}", passed.stdout);
    assert_eq!(count(&passed.stdout, "hidden"), copied);
    assert_eq!(count(&passed.stdout, "v3_checked"), v2_keys);
    assert_eq!(count(&passed.stdout, "missing"), 0);
    assert_eq!(count(&passed.stdout, "different_value"), 0);
    assert_eq!(count(&passed.stdout, "different_revision"), 0);

    // Behind verify's back: delete one key, change another, rewrite a third with its own value.
    let listed = etcdctl(
        &env,
        3,
        &["get", "/kubernetes.io/", "--prefix", "--keys-only"],
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let keys: Vec<&str> = listed.stdout.lines().filter(|l| !l.is_empty()).collect();
    assert!(keys.len() > 10, "{}", listed.stdout);
    let (deleted, changed, rewritten) = (keys[2], keys[5], keys[8]);
    let ctl = |args: &[&str]| {
        let out = etcdctl(&env, 3, args);
        assert_eq!(out.code, 0, "etcdctl {args:?}: {}", out.stderr);
        out.stdout
    };
    ctl(&["del", deleted]);
    let hidden = ctl(&[
        "get",
        "/openshift.io/oauth/accesstokens/_",
        "--prefix",
        "--keys-only",
    ]);
    let hidden = hidden
        .lines()
        .find(|l| !l.is_empty())
        .expect("a hidden token in v3")
        .to_string();
    ctl(&["del", &hidden]);
    let original = ctl(&["get", changed, "--print-value-only"]);
    ctl(&["put", changed, "changed behind its back"]);
    let same = ctl(&["get", rewritten, "--print-value-only"]);
    ctl(&["put", rewritten, same.trim_end_matches('\n')]);

    let failed = lab.run("verify.rhai", VERIFY).code(1);
    // The report is wrapped for the terminal: compare without whitespace and frame.
    let squeeze = |text: &str| -> String {
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    let stderr = squeeze(&failed.stderr);
    for needle in [
        "2 missing, 1 with a different value, 1 with a different revision".to_string(),
        format!("{deleted} (missing)"),
        format!("{hidden} (missing)"),
        format!("{changed} (different value"),
        format!("{rewritten} (different revision"),
        "runbook::etcd::verify::mismatch".to_string(),
    ] {
        assert!(
            stderr.contains(&squeeze(&needle)),
            "{needle} not in: {}",
            failed.stderr
        );
    }
    // Values are data (secrets, tokens): a mismatch gives sizes, never contents.
    let original = original.trim_end_matches('\n');
    assert!(original.len() >= 8, "{original:?}");
    for value in [original, "changed behind its back"] {
        assert!(
            !stderr.contains(&squeeze(value)),
            "{value:?} in: {}",
            failed.stderr
        );
    }
    assert!(
        stderr.contains(&squeeze("bytes in v3, contents differ")),
        "{}",
        failed.stderr
    );
}
