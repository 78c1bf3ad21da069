//! `runbooks/rollback.rhai` on a real 3-member TLS lab: after a full v2 -> v3
//! migration it brings back the pre-migration v2 data exactly (values and indexes, on
//! every member), the original master-config.yaml bytes and etcd2 masters, keeps the
//! migrated data aside, leaves no throwaway etcd behind, and lets a new migration
//! run. Without a backup it refuses before anything is stopped or changed.

use crate::support::command::{run_script, Runbook};
use crate::support::etcd::{etcdctl, member_identities};
use crate::support::files::{assert_files_as_in_manifest, entries};
use crate::support::lab::TestLab;
use crate::support::migration::{
    assert_hashkv_agree, assert_migrated, before, v2_leaves, v3_keys, V2Key,
};
use runbook::lab::layout::LabLayout;
use runbook::lab::state::LabState;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MEMBERS: [&str; 3] = ["etcd-1", "etcd-2", "etcd-3"];
const MASTER_SERVICES: [&str; 2] = [
    "atomic-openshift-master-api",
    "atomic-openshift-master-controllers",
];

/// Every v2 leaf as each member serves it (hidden keys included), read through that
/// member alone with plain etcdctl.
fn v2_leaves_by_member(lab: &TestLab) -> Vec<BTreeMap<String, V2Key>> {
    let layout = LabLayout::new(&lab.dir);
    let state = LabState::load(&layout).unwrap();
    state
        .client_urls()
        .iter()
        .map(|url| v2_leaves(lab, Some(url), &[]))
        .collect()
}

/// Processes whose command line mentions `needle` (a throwaway etcd left behind).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(needle) {
            found.push(format!("{name}: {text}"));
        }
    }
    found
}

/// "<pid> <start time>" of every lab service that runs, by its pid file.
fn running_services(lab: &TestLab) -> BTreeMap<String, String> {
    let mut services = BTreeMap::new();
    for (host, service) in MEMBERS
        .iter()
        .map(|m| (*m, "etcd"))
        .chain(MASTER_SERVICES.iter().map(|s| ("master-1", *s)))
    {
        let pid_file = lab.host_dir(host).join(format!("run/{service}.pid"));
        let recorded = std::fs::read_to_string(&pid_file).unwrap_or_default();
        let pid = recorded
            .split_whitespace()
            .next()
            .unwrap_or("none")
            .to_string();
        assert!(
            Path::new(&format!("/proc/{pid}")).exists(),
            "{host} {service} is not running ({recorded:?})"
        );
        services.insert(format!("{host}/{service}"), recorded);
    }
    services
}

#[test]
fn rollback_brings_back_the_pre_migration_cluster_and_a_new_migration_runs() {
    let lab = TestLab::up(&["--tls", "--keys", "1500"]);
    let before = before(&lab);
    assert_eq!(before.leaves.len(), 1500);
    let master_config = lab
        .host_dir("master-1")
        .join("etc/origin/master/master-config.yaml");
    let original_config = std::fs::read(&master_config).unwrap();
    let members_before = member_identities(&lab.env());
    assert_eq!(members_before.len(), 3, "{members_before:?}");

    Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-i"])
        .arg(lab.inventory())
        .run()
        .success();
    assert_eq!(v3_keys(&lab).len(), 1500, "migrated");

    // The minimal order's backups are the stopped data dirs, moved there (etcd-1 migrated a
    // copy of its own), as their manifests on disk say.
    for (member, method) in [("etcd-1", "move"), ("etcd-2", "move"), ("etcd-3", "move")] {
        let data = lab.data_dir(member);
        let backups: Vec<String> = entries(&data)
            .into_iter()
            .filter(|n| n.starts_with("openshift-backup-pre-migration"))
            .collect();
        assert_eq!(backups.len(), 1, "{member}: {backups:?}");
        let backup = data.join(&backups[0]);
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(backup.join("runbook-backup-manifest.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["method"], method, "{member}");
        assert!(backup.join("member/snap/db").is_file(), "{member}");
        assert!(backup.join("etcd.conf").is_file(), "{member}");
        // Every file is as hashed before the move.
        assert_files_as_in_manifest(&backup, &manifest, member);
    }
    // etcd-1 migrated a copy: its backup's db is still the v2 member's, not the migrated one.
    let etcd1 = lab.data_dir("etcd-1");
    let backup_dir = entries(&etcd1)
        .into_iter()
        .find(|n| n.starts_with("openshift-backup-pre-migration"))
        .unwrap();
    assert_ne!(
        std::fs::read(etcd1.join(&backup_dir).join("member/snap/db")).unwrap(),
        std::fs::read(etcd1.join("member/snap/db")).unwrap(),
        "etcd-1's backup was migrated"
    );

    // While the cluster holds the migrated data, its records stay.
    let work = tempfile::tempdir().unwrap();
    let script = "etcd.clear_migration_record(\"etcd-2\")\n";
    let kept = run_script(work.path(), &lab.inventory(), "clear.rhai", script).code(1);
    let message = kept.stderr_unwrapped();
    assert!(
        message.contains("runbook::etcd::record::v3_data"),
        "{message}"
    );
    assert!(
        message.contains("the cluster still holds 1500 v3 key(s)"),
        "{message}"
    );
    assert!(lab
        .data_dir("etcd-2")
        .join("runbook-v2-to-v3-migration.json")
        .is_file());

    // A dry run plans the restore and changes nothing, and claims no rollback.
    let checked = Runbook::new()
        .args(["check", "rollback.rhai", "-i"])
        .arg(lab.inventory())
        .run()
        .success()
        .stdout_has("restore etcd-1 from its newest pre-migration backup");
    assert!(
        !checked.stdout.contains("rollback finished"),
        "{}",
        checked.stdout
    );
    let names = entries(&lab.data_dir("etcd-1"));
    assert!(
        names.contains("runbook-v2-to-v3-migration.json"),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("member.migrated.")),
        "{names:?}"
    );

    let rollback = Runbook::new()
        .args(["run", "rollback.rhai", "-i"])
        .arg(lab.inventory())
        .run()
        .success()
        .stdout_has("rollback finished");
    // Progress goes to stderr, the runbook's prints to stdout.
    let said = format!("{}{}", rollback.stdout, rollback.stderr);
    for member in MEMBERS {
        let line = format!("{member}: 1500 of 1500 backup keys match (0 expired TTL keys apart)");
        assert!(said.contains(&line), "{said}");
    }

    // Every member serves the original v2 data (the lab's TTLs are hours: none expired).
    for (member, leaves) in MEMBERS.iter().zip(v2_leaves_by_member(&lab)) {
        assert_eq!(leaves.len(), before.leaves.len(), "{member}");
        assert!(
            leaves == before.leaves,
            "{member}: v2 data differs from before the migration"
        );
    }
    assert!(v3_keys(&lab).is_empty(), "v3 keys remain");
    assert_hashkv_agree(&lab);
    // Each member restored from its own data dir: the cluster itself, same member IDs.
    assert_eq!(member_identities(&lab.env()), members_before);

    // The masters: original config bytes, restarted on etcd2 after running on etcd3.
    assert_eq!(std::fs::read(&master_config).unwrap(), original_config);
    for service in MASTER_SERVICES {
        let log = std::fs::read_to_string(
            lab.host_dir("master-1")
                .join(format!("var/log/{service}.log")),
        )
        .unwrap();
        let started: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(" started pid="))
            .collect();
        let n = started.len();
        assert!(n >= 3, "{service}: {log}");
        assert!(
            started[n - 2].contains("storage-backend=etcd3"),
            "{service}: {log}"
        );
        assert!(
            started[n - 1].contains("storage-backend=unset"),
            "{service}: {log}"
        );
    }

    // Records moved aside everywhere, the migrated data kept on the first member,
    // no throwaway etcd or copy left behind.
    for member in MEMBERS {
        let names = entries(&lab.data_dir(member));
        assert!(
            !names.contains("runbook-v2-to-v3-migration.json"),
            "{member}: {names:?}"
        );
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("runbook-v2-to-v3-migration.json.rolled-back.")),
            "{member}: {names:?}"
        );
        assert!(
            !names.iter().any(|n| n.starts_with("runbook-compare.")),
            "{member}: {names:?}"
        );
    }
    let first = entries(&lab.data_dir("etcd-1"));
    let migrated = first
        .iter()
        .find(|n| n.starts_with("member.migrated."))
        .unwrap_or_else(|| panic!("no member.migrated.* on etcd-1: {first:?}"));
    assert!(lab
        .data_dir("etcd-1")
        .join(migrated)
        .join("snap/db")
        .is_file());
    assert_eq!(
        processes_mentioning("runbook-compare"),
        Vec::<String>::new()
    );

    // A key written since is named by the comparison, which leaves nothing behind either.
    let env = lab.env();
    let put = etcdctl(&env, 2, &["set", "/runbook-test/after-rollback", "x"]);
    assert_eq!(put.code, 0, "{}", put.stderr);
    let script = "etcd.compare_with_backup(\"etcd-1\")\n";
    let differs = run_script(work.path(), &lab.inventory(), "compare.rhai", script).code(1);
    let message = differs.stderr_unwrapped();
    assert!(
        message.contains("runbook::etcd::compare::differs"),
        "{message}"
    );
    assert!(
        message.contains("etcd-1: /runbook-test/after-rollback (extra)"),
        "{message}"
    );
    assert!(
        message.contains("etcd-3: 0 missing, 1 extra, 0 changed of 1500 backup keys"),
        "{message}"
    );
    assert_eq!(
        processes_mentioning("runbook-compare"),
        Vec::<String>::new()
    );
    assert!(!entries(&lab.data_dir("etcd-1"))
        .iter()
        .any(|n| n.starts_with("runbook-compare.")));
    let removed = etcdctl(&env, 2, &["rm", "/runbook-test/after-rollback"]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);

    // The last migration finished, so a plain run (no --restart) migrates again.
    Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-i"])
        .arg(lab.inventory())
        .run()
        .success()
        .stdout_has("migration finished");
    assert_migrated(&lab, &before);
}

#[test]
fn rollback_without_a_backup_refuses_before_changing_anything() {
    let lab = TestLab::up(&["--tls", "--keys", "100"]);
    let config_files: Vec<PathBuf> = MEMBERS
        .iter()
        .map(|m| lab.host_dir(m).join("etc/etcd/etcd.conf"))
        .chain([lab
            .host_dir("master-1")
            .join("etc/origin/master/master-config.yaml")])
        .collect();
    let configs: Vec<Vec<u8>> = config_files
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let listings: Vec<std::collections::BTreeSet<String>> =
        MEMBERS.iter().map(|m| entries(&lab.data_dir(m))).collect();
    let services = running_services(&lab);

    let refused = Runbook::new()
        .args(["run", "rollback.rhai", "-i"])
        .arg(lab.inventory())
        .run()
        .code(1);
    let message = refused.stderr_unwrapped();
    assert!(
        message.contains("etcd-1: no backup made by runbook under"),
        "{message}"
    );
    assert!(
        message.contains("runbook::etcd::backup::none_found"),
        "{message}"
    );
    assert!(
        !refused.stdout.contains("step stop the masters"),
        "{}",
        refused.stdout
    );

    assert_eq!(
        running_services(&lab),
        services,
        "a service was stopped or restarted"
    );
    for (path, bytes) in config_files.iter().zip(&configs) {
        assert_eq!(
            &std::fs::read(path).unwrap(),
            bytes,
            "{} changed",
            path.display()
        );
    }
    for (member, listing) in MEMBERS.iter().zip(&listings) {
        assert_eq!(&entries(&lab.data_dir(member)), listing, "{member}");
    }
    let health = etcdctl(&lab.env(), 3, &["endpoint", "health"]);
    assert_eq!(health.code, 0, "{}{}", health.stdout, health.stderr);

    // With a backup, a restore still refuses while etcd runs on the member.
    let work = tempfile::tempdir().unwrap();
    let script = "etcd.backup();\netcd.restore(\"etcd-1\")\n";
    let running = run_script(work.path(), &lab.inventory(), "restore.rhai", script).code(1);
    let message = running.stderr_unwrapped();
    assert!(
        message.contains("runbook::etcd::running::service"),
        "{message}"
    );
    assert!(
        message.contains("etcd is still running on etcd-1"),
        "{message}"
    );
    let names = entries(&lab.data_dir("etcd-1"));
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("openshift-backup-pre-migration")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("member.")), "{names:?}");
    assert_eq!(
        running_services(&lab),
        services,
        "a service was stopped or restarted"
    );
}
