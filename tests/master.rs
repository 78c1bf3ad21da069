//! The `master` global on a real lab master: patching master-config.yaml for etcd3 and back,
//! the TTL durations it implies, and the services restarted in the right order.

use crate::support::command::{run_script, says, write_file};
use crate::support::files::changed_lines;
use crate::support::lab::TestLab;
use std::path::Path;

fn yaml(text: &str) -> serde_yaml::Value {
    serde_yaml::from_str(text).expect("valid YAML")
}

fn keys(value: &serde_yaml::Value) -> Vec<String> {
    value
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn patch_restart_and_unpatch_on_the_lab_master() {
    let lab = TestLab::up(&["--keys", "20"]);
    let work = tempfile::tempdir().unwrap();
    let config_dir = lab.host_dir("master-1").join("etc/origin/master");
    let config = config_dir.join("master-config.yaml");
    let original = std::fs::read_to_string(&config).unwrap();

    let patched_run = run_script(work.path(),
        &lab.inventory(),
        "patch.rhai",
        "let first = master.patch();\nprint(`changed=${first[0].changed}`);\nlet second = master.patch();\nprint(`again=${second[0].changed}`);\nmaster.restart();\nfor t in master.ttl_durations() { print(`${t.prefix} ${t.duration}`); }\n",
    )
    .success();
    assert!(
        patched_run.stdout.contains("changed=true\nagain=false\n"),
        "{}",
        patched_run.stdout
    );
    assert!(
        patched_run
            .stderr
            .contains("+    storage-backend:\n+    - etcd3"),
        "diff shown: {}",
        patched_run.stderr
    );
    for expected in [
        "/kubernetes.io/events 1h",
        "/kubernetes.io/masterleases 10s",
        "/openshift.io/oauth/accesstokens 1d",
        "/openshift.io/oauth/authorizetokens 8m20s",
        "/openshift.io/leases/controllers 30s",
    ] {
        assert!(
            patched_run.stdout.contains(expected),
            "{expected}: {}",
            patched_run.stdout
        );
    }

    // The patch: the two arguments set, everything else the same, in the same order.
    let patched = std::fs::read_to_string(&config).unwrap();
    let (before, mut after) = (yaml(&original), yaml(&patched));
    let arguments = after["kubernetesMasterConfig"]["apiServerArguments"]
        .as_mapping_mut()
        .unwrap();
    assert_eq!(
        arguments.shift_remove("storage-backend"),
        Some(yaml("[etcd3]"))
    );
    assert_eq!(
        arguments.shift_remove("storage-media-type"),
        Some(yaml("[application/vnd.kubernetes.protobuf]"))
    );
    assert_eq!(after, before, "nothing else changed");
    assert_eq!(keys(&after), keys(&before), "top-level key order kept");
    let copies: Vec<_> = std::fs::read_dir(&config_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("master-config.yaml.runbook-")
        })
        .collect();
    assert_eq!(
        copies.len(),
        1,
        "one copy, taken by the first patch only: {copies:?}"
    );
    assert_eq!(std::fs::read_to_string(&copies[0]).unwrap(), original);

    // The change is exactly the four lines of the two arguments, as GNU diff sees it, and
    // the diff runbook showed is the same hunk.
    let gnu = std::process::Command::new("diff")
        .arg("-U2")
        .arg(&copies[0])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(gnu.status.code(), Some(1), "diff: the files differ");
    let gnu = String::from_utf8(gnu.stdout).unwrap();
    let hunk = &gnu[gnu.find("@@").unwrap()..];
    let changed: Vec<&str> = hunk
        .lines()
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .collect();
    assert_eq!(
        changed,
        [
            "+    storage-backend:",
            "+    - etcd3",
            "+    storage-media-type:",
            "+    - application/vnd.kubernetes.protobuf",
        ],
        "{gnu}"
    );
    assert!(
        patched_run.stderr.contains(hunk.trim_end()),
        "runbook's diff is not GNU diff's hunk:\n{hunk}\nshown:\n{}",
        patched_run.stderr
    );

    // The restarted masters read the new config.
    for service in [
        "atomic-openshift-master-api",
        "atomic-openshift-master-controllers",
    ] {
        let log = std::fs::read_to_string(
            lab.host_dir("master-1")
                .join(format!("var/log/{service}.log")),
        )
        .unwrap();
        let last = log.lines().last().unwrap();
        assert!(last.contains("storage-backend=etcd3"), "{service}: {last}");
    }

    run_script(
        work.path(),
        &lab.inventory(),
        "unpatch.rhai",
        "let r = master.unpatch();\nprint(`restored=${r[0].restored_original}`);\n",
    )
    .success()
    .stdout_has("restored=true");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        original,
        "byte for byte"
    );
}

#[test]
fn services_stop_controllers_first_and_restart_api_first() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls.log");
    let svc = write_file(
        dir.path(),
        "svc.sh",
        &format!(
            "#!/bin/sh\necho \"$1 $2\" >> '{}'\n[ \"$1\" != is-active ] || exit 0\n",
            calls.display()
        ),
    );
    std::fs::set_permissions(&svc, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let inventory = write_file(
        dir.path(),
        "inventory.ini",
        &format!(
            "[masters]\nm1 ansible_connection=local openshift_service_type=origin runbook_service_command=\"{} {{action}} {{service}}\"\nm2 ansible_connection=local runbook_master_services=atomic-openshift-master runbook_service_command=\"{} {{action}} {{service}}\"\n",
            svc.display(),
            svc.display()
        ),
    );
    run_script(
        dir.path(),
        &inventory,
        "svc.rhai",
        "master.stop();\nmaster.restart();\n",
    )
    .success();
    let log = std::fs::read_to_string(&calls).unwrap();
    let actions: Vec<&str> = log
        .lines()
        .filter(|l| !l.starts_with("is-active"))
        .collect();
    assert_eq!(
        actions,
        [
            "stop origin-master-controllers",
            "stop origin-master-api",
            "stop atomic-openshift-master",
            "restart origin-master-api",
            "restart origin-master-controllers",
            "restart atomic-openshift-master",
        ]
    );
}

#[test]
fn a_master_config_of_the_wrong_shape_or_in_flow_style_is_refused_and_left_alone() {
    for (text, message) in [
        (
            "kubernetesMasterConfig:\n  apiServerArguments: [not, a, map]\n",
            "`apiServerArguments` is a list, expected a mapping",
        ),
        (
            "apiVersion: v1\nkubernetesMasterConfig: {apiServerArguments: {event-ttl: [1h]}}\n",
            "master-config.yaml:2: `kubernetesMasterConfig` is written as a flow collection (`{...}` or `[...]`), which runbook does not edit in place",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config_dir = dir.path().join("master");
        let config = write_file(&config_dir, "master-config.yaml", text);
        let inventory = write_file(
            dir.path(),
            "inventory.ini",
            &format!(
                "[masters]\nm1 ansible_connection=local openshift_master_config_dir=\"{}\"\n",
                config_dir.display()
            ),
        );
        let refused = run_script(dir.path(), &inventory, "p.rhai", "master.patch();\n").code(1);
        assert!(says(&refused.stderr, message), "{}", refused.stderr);
        assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
        assert_eq!(
            std::fs::read_dir(&config_dir).unwrap().count(),
            1,
            "no copy, no temp file"
        );
    }
}

/// While the masters are down, a terminal's last line is the outage clock with the running
/// step; once they are back, a line says how long the API was down. Without a terminal the
/// same shows as lines, and `--output json` as events.
#[test]
fn the_outage_clock_counts_while_the_masters_are_down() {
    use crate::support::command::Runbook;
    use crate::support::terminal::Terminal;
    let lab = TestLab::up(&["--keys", "10"]);
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "clock.rhai",
        "step(\"stop the masters\", || master.stop());\n\
         step(\"wait a while\", || inventory.host(\"master-1\").run(\"sleep 4\"));\n\
         step(\"restart the masters\", || master.restart());\n",
    );
    let inventory = lab.inventory();
    let inventory = inventory.to_str().unwrap();
    let t = Terminal::start(
        &["run", "clock.rhai", "-i", inventory, "--yes"],
        dir.path(),
        &[],
    );
    let screen = t.wait_for("(step: wait a while, 2 s)");
    assert!(screen.contains("API down 00:0"), "{screen}");
    let screen = t.wait_for("[exit 0]");
    assert!(screen.contains("API back after "), "{screen}");
    let last_lines: Vec<&str> = screen.lines().rev().take(3).collect();
    assert!(
        !last_lines.iter().any(|l| l.contains("API down")),
        "the clock is gone once the masters are back: {screen}"
    );

    let json = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "clock.rhai", "--output", "json", "-i", inventory])
        .run()
        .success();
    let events: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let up = events.iter().find(|e| e["event"] == "api_up").unwrap();
    let seconds = up["outage_seconds"].as_f64().unwrap();
    assert!((4.0..30.0).contains(&seconds), "{up}");
    assert!(
        events.iter().any(|e| e["event"] == "api_down"),
        "{}",
        json.stdout
    );

    let plain = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "clock.rhai", "-i", inventory])
        .run()
        .success();
    assert!(plain.stderr.contains("API down since "), "{}", plain.stderr);
    assert!(plain.stderr.contains("API back after "), "{}", plain.stderr);
    assert!(
        !plain.stderr.contains("\x1b[2K"),
        "no terminal codes in a log"
    );
}

/// On a master whose service runs etcd from etcdConfig (the embedded lab): pointed at
/// external etcd, the file changes in exactly the etcdClientInfo lines and loses etcdConfig
/// (GNU diff against the copy), and the restarted master runs no etcd; put back, the bytes
/// are the original ones and the restarted master serves the same data again.
#[test]
fn the_embedded_etcd_config_moved_out_and_back() {
    let lab = TestLab::up(&["--layout", "embedded", "--tls", "--keys", "30"]);
    let work = tempfile::tempdir().unwrap();
    let config = lab
        .host_dir("master-1")
        .join("etc/origin/master/master-config.yaml");
    let original = std::fs::read(&config).unwrap();
    let env = lab.env();
    let client_url = env
        .iter()
        .find(|(k, _)| k == "ETCDCTL_ENDPOINTS")
        .map(|(_, v)| v.clone())
        .unwrap();

    let moved = run_script(
        work.path(),
        &lab.inventory(),
        "out.rhai",
        "let r = master.use_external_etcd([\"https://10.0.0.21:2379\", \"https://10.0.0.22:2379\"]);\nprint(`changed=${r[0].changed} backup=${r[0].backup}`);\nmaster.stop();\nmaster.restart();\nprint(`again=${master.use_external_etcd([\"https://10.0.0.21:2379\", \"https://10.0.0.22:2379\"])[0].changed}`);\n",
    )
    .success();
    let backup = moved
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("changed=true backup="))
        .expect("changed, with a copy")
        .to_string();
    assert!(moved.stdout.contains("again=false"), "{}", moved.stdout);
    assert_eq!(std::fs::read(&backup).unwrap(), original);
    let changed = changed_lines(Path::new(&backup), &config);
    let added: Vec<&String> = changed.iter().filter(|l| l.starts_with('+')).collect();
    let removed: Vec<&String> = changed.iter().filter(|l| l.starts_with('-')).collect();
    assert_eq!(
        added,
        [
            "+  ca: master.etcd-ca.crt",
            "+  - https://10.0.0.21:2379",
            "+  - https://10.0.0.22:2379",
        ],
        "{changed:?}"
    );
    assert!(removed.iter().any(|l| *l == "-etcdConfig:"), "{changed:?}");
    assert!(
        removed.iter().any(|l| l.contains(&client_url)),
        "{changed:?}"
    );
    assert!(
        removed.iter().all(|l| !l.contains("keyFile: master")),
        "{changed:?}"
    );
    let now: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert!(now.get("etcdConfig").is_none());
    assert_eq!(
        now["etcdClientInfo"]["certFile"].as_str(),
        Some("master.etcd-client.crt")
    );
    // The master runs without its etcd now.
    let health = crate::support::etcd::etcdctl(&env, 3, &["endpoint", "health"]);
    assert_ne!(health.code, 0, "{}", health.stdout);

    let back = run_script(
        work.path(),
        &lab.inventory(),
        "back.rhai",
        "let r = master.use_embedded_etcd();\nprint(`restored=${r[0].restored_original}`);\nmaster.stop();\nmaster.restart();\nprint(`again=${master.use_embedded_etcd()[0].changed}`);\n",
    )
    .success();
    assert!(back.stdout.contains("restored=true"), "{}", back.stdout);
    assert!(back.stdout.contains("again=false"), "{}", back.stdout);
    assert_eq!(std::fs::read(&config).unwrap(), original, "byte for byte");
    let keys = crate::support::etcd::etcdctl(&env, 2, &["ls", "-r", "/kubernetes.io"]);
    assert_eq!(keys.code, 0, "{}", keys.stderr);
    assert!(keys.stdout.lines().count() > 5, "{}", keys.stdout);
}
