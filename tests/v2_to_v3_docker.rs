//! `runbooks/v2-to-v3.rhai` on a lab laid out as openshift-ansible's containerized install:
//! the inventory says only `containerized=true`, as openshift-ansible's do, and its own
//! derivation picks the layout `docker` and the service `etcd_container`. The migration must
//! back up, migrate and restart there, and leave `etcd_container` running everywhere.

use crate::support::command::{repo_root, Runbook};
use crate::support::lab::TestLab;
use crate::support::migration::{assert_migrated, before};
use std::path::{Path, PathBuf};

const MEMBERS: [&str; 3] = ["etcd-1", "etcd-2", "etcd-3"];

/// The `openshift-backup-pre-migration*` directories in `dir`.
fn backups_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.is_dir()
                && path.file_name().is_some_and(|n| {
                    n.to_string_lossy()
                        .starts_with("openshift-backup-pre-migration")
                })
        })
        .collect()
}

/// Runs `source` against the lab and returns what it printed.
fn probe(lab: &TestLab, source: &str) -> String {
    lab.run("probe.rhai", source).success().stdout
}

#[test]
fn the_migration_runbook_migrates_a_containerized_lab() {
    let lab = TestLab::up(&["--tls", "--keys", "1500", "--layout", "docker"]);

    // The inventory names neither the layout nor the service.
    let inventory = std::fs::read_to_string(lab.inventory()).unwrap();
    assert!(inventory.contains("containerized=true"), "{inventory}");
    assert!(!inventory.contains("runbook_etcd_layout"), "{inventory}");
    assert!(!inventory.contains("etcd_service"), "{inventory}");
    for member in MEMBERS {
        let host = lab.host_dir(member);
        assert!(
            lab.data_dir(member).join("member/snap").is_dir(),
            "{member}: no data in var/lib/etcd/member"
        );
        assert!(
            host.join("var/log/etcd_container.log").is_file(),
            "{member}"
        );
        assert!(host.join("run/etcd_container.pid").is_file(), "{member}");
        assert!(!host.join("var/log/etcd.log").exists(), "{member}");
    }
    let vars = probe(&lab,
        "let h = inventory.host(\"etcd-1\");\nprint(`service=${h.vars.etcd_service} data=${h.vars.etcd_data_dir}`);\n",
    );
    let expected = format!(
        "service=etcd_container data={}",
        lab.data_dir("etcd-1").display()
    );
    assert!(vars.contains(&expected), "{vars}");

    let before = before(&lab);
    assert_eq!(before.leaves.len(), 1500, "seeded leaves");
    let run = Runbook::new()
        .args(["run", "v2-to-v3.rhai", "--output", "json", "-i"])
        .arg(lab.inventory())
        .current_dir(repo_root())
        .run()
        .success();
    assert!(
        run.stdout
            .contains("etcd-1: docker (service etcd_container, etcdctl: etcdctl)"),
        "the runbook describes the layout: {}",
        run.stdout
    );
    assert_migrated(&lab, &before);

    // Backups and the migration record sit in the data dir docker mounts.
    for member in MEMBERS {
        let data = lab.data_dir(member);
        let backups = backups_in(&data);
        assert_eq!(backups.len(), 1, "{member}: {backups:?}");
        assert!(backups[0].join("member/snap/db").is_file(), "{backups:?}");
        assert!(
            data.join("runbook-v2-to-v3-migration.json").is_file(),
            "{member}: no migration record in {}",
            data.display()
        );
        assert!(!lab.host_dir(member).join("run/etcd.pid").exists());
    }

    // Every member runs again as etcd_container, asked the way runbooks ask.
    let active = probe(&lab,
        "for h in inventory.group(\"etcd\") {\n  let s = h.vars.etcd_service;\n  print(`${h.name} ${s} active=${h.service(s).is_active()}`);\n}\n",
    );
    for member in MEMBERS {
        assert!(
            active.contains(&format!("{member} etcd_container active=true")),
            "{active}"
        );
    }
    let status = Runbook::new()
        .args(["--output", "json", "lab", "status", "--dir"])
        .arg(&lab.dir)
        .run()
        .success();
    let result = status
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "result")
        .expect("a result line")["result"]
        .clone();
    assert_eq!(result["layout"], "docker", "{result}");
    assert_eq!(result["etcd_service"], "etcd_container", "{result}");
    for member in result["members"].as_array().unwrap() {
        assert_eq!(member["running"], true, "{member}");
        assert_eq!(member["healthy"], true, "{member}");
    }
}
