//! `etcd.verify` on a member migrated in place (all members stopped through their services,
//! `etcdctl migrate` on etcd-1's data dir, etcd-1 started with force-new-cluster): it passes,
//! then names keys missing, changed or rewritten in v3 behind its back.

mod support;

use runbook::inventory::Inventory;
use runbook::ops::service::{ServiceAction, ServiceManager};
use runbook::transport::{ConnectionTarget, Transport};
use std::io::Write;
use std::time::Duration;
use support::command::{Finished, Runbook};
use support::etcd::{etcdctl, runtime, wait_until};
use support::lab::TestLab;
use tokio_util::sync::CancellationToken;

fn run_script(lab: &TestLab, text: &str) -> Finished {
    let script = lab.dir.join("verify.rhai");
    std::fs::write(&script, text).expect("write script");
    Runbook::new()
        .arg("run")
        .arg(&script)
        .arg("-i")
        .arg(lab.inventory())
        .run()
}

/// `name=value` lines printed by a script.
fn printed(stdout: &str, name: &str) -> u64 {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {stdout}"))
}

const VERIFY: &str = r#"
let r = etcd.verify("etcd-1");
for name in ["v2_keys", "v3_checked", "missing", "different_value", "different_revision"] {
    print(`${name}=${r[name]}`);
}
"#;

#[test]
fn verify_passes_after_migrate_and_names_keys_changed_behind_its_back() {
    let lab = TestLab::up(&["--tls", "--keys", "400"]);
    let rt = runtime();
    let cancel = CancellationToken::new();
    let inventory = Inventory::load(&lab.inventory(), &[]).expect("lab inventory");
    let members = inventory.group("etcd").expect("[etcd] group");
    let control = |action: ServiceAction, index: usize| {
        let host = members[index];
        let transport = rt
            .block_on(Transport::connect(
                &host.name,
                &ConnectionTarget::from_host(host).expect("target"),
                &cancel,
            ))
            .expect("transport");
        rt.block_on(ServiceManager::from_host(host).control(&transport, action, "etcd", &cancel))
            .expect("service control");
    };

    // The migration, as the procedure does it.
    for index in 0..members.len() {
        control(ServiceAction::Stop, index);
    }
    let data_dir = lab.host_dir("etcd-1").join("var/lib/etcd");
    let migrate = etcdctl(
        &lab.env(),
        3,
        &["migrate", &format!("--data-dir={}", data_dir.display())],
    );
    assert_eq!(migrate.code, 0, "etcdctl migrate: {}", migrate.stderr);
    assert!(
        migrate.stdout.contains("finished transforming keys"),
        "{}",
        migrate.stdout
    );
    let conf = lab.host_dir("etcd-1").join("etc/etcd/etcd.conf");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&conf)
        .expect("etcd.conf");
    writeln!(file, "ETCD_FORCE_NEW_CLUSTER=true").expect("append");
    drop(file);
    control(ServiceAction::Start, 0);
    // etcdctl talks to etcd-1 only (the other members are stopped).
    let url = format!(
        "https://127.0.0.1:{}",
        members[0].var_str("etcd_client_port").expect("client port")
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
    let mut last = String::new();
    let healthy = wait_until(Duration::from_secs(30), || {
        let out = etcdctl(&env, 3, &["endpoint", "health"]);
        last = format!("{}{}", out.stdout, out.stderr);
        out.code == 0
    });
    let log = std::fs::read_to_string(lab.host_dir("etcd-1").join("var/log/etcd.log"))
        .unwrap_or_default();
    assert!(
        healthy,
        "etcd-1 did not become healthy after force-new-cluster: {last}\nlog tail: {}",
        &log[log.len().saturating_sub(3000)..]
    );

    let passed = run_script(&lab, VERIFY).success();
    let v2_keys = printed(&passed.stdout, "v2_keys");
    assert!(v2_keys >= 300, "{}", passed.stdout);
    assert_eq!(printed(&passed.stdout, "v3_checked"), v2_keys);
    assert_eq!(printed(&passed.stdout, "missing"), 0);
    assert_eq!(printed(&passed.stdout, "different_value"), 0);
    assert_eq!(printed(&passed.stdout, "different_revision"), 0);

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
    let original = ctl(&["get", changed, "--print-value-only"]);
    ctl(&["put", changed, "changed behind its back"]);
    let same = ctl(&["get", rewritten, "--print-value-only"]);
    ctl(&["put", rewritten, same.trim_end_matches('\n')]);

    let failed = run_script(&lab, VERIFY).code(1);
    // The report is wrapped for the terminal: compare without whitespace and frame.
    let squeeze = |text: &str| -> String {
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    let stderr = squeeze(&failed.stderr);
    for needle in [
        "1 missing, 1 with a different value, 1 with a different revision".to_string(),
        format!("{deleted} (missing)"),
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
