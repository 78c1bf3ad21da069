//! The shipped runbooks on etcd embedded in a master (`lab up --layout embedded --tls`: one
//! OpenShift 3.6 master whose service runs etcd from master-config.yaml's etcdConfig, no
//! [etcd] hosts): `v2-to-v3.rhai` migrates it in place with the TTLs restored while the
//! master is down, `rollback.rhai` gives back the v2 data, a run killed while the
//! member runs on its own resumes, and `lab down` stops what such a run left. Checked with
//! plain etcdctl, GNU diff and the files on disk.

use crate::support::command::{says, Finished, Runbook};
use crate::support::etcd::etcdctl;
use crate::support::files::changed_lines;
use crate::support::lab::TestLab;
use crate::support::migration::{assert_migrated, assert_v2_as_seeded, before, migration};
use crate::support::running::Running;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LAB: [&str; 5] = ["--layout", "embedded", "--tls", "--keys", "400"];

fn show(finished: &Finished) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        finished.code, finished.stdout, finished.stderr
    )
}

fn master_config(lab: &TestLab) -> PathBuf {
    lab.host_dir("master-1")
        .join("etc/origin/master/master-config.yaml")
}

/// The pid file `etcd.start_standalone` writes beside the data dir.
fn standalone_pid_file(lab: &TestLab) -> PathBuf {
    let data = lab.data_dir("master-1");
    PathBuf::from(format!("{}.runbook-standalone.pid", data.display()))
}

/// The last line the master service logged when it started.
fn last_master_start(lab: &TestLab) -> String {
    let log = std::fs::read_to_string(
        lab.host_dir("master-1")
            .join("var/log/atomic-openshift-master.log"),
    )
    .unwrap();
    log.lines()
        .rfind(|l| l.contains("atomic-openshift-master started"))
        .unwrap_or_default()
        .to_string()
}

/// Whether `pid` runs (a zombie waiting for a parent that does not reap it has ended).
fn alive(pid: i32) -> bool {
    runbook::lab::pidfile::start_time(pid).is_some()
}

fn rollback(inventory: &Path) -> Finished {
    Runbook::new()
        .args(["run", "rollback.rhai", "-i"])
        .arg(inventory)
        .run()
}

#[test]
fn migrated_in_place_with_ttls_while_the_master_is_down_then_rolled_back() {
    let lab = TestLab::up(&LAB);
    let inventory = lab.inventory();
    let before = before(&lab);
    let original_config = std::fs::read(master_config(&lab)).unwrap();
    assert!(last_master_start(&lab).contains("storage-backend=unset"));

    let run = migration(&inventory).run();
    assert_eq!(run.code, 0, "{}", show(&run));
    for needle in [
        "etcd: embedded in the master master-1, migrated in place while the master is stopped",
        "==> step run master-1's etcd on its own",
        "master-1: the master's etcd started on its own",
        "<== step restore TTLs as leases: done",
        "<== step stop master-1's etcd running on its own: done",
        "==> step start the master",
    ] {
        assert!(
            says(&run.stderr, needle) || says(&run.stdout, needle),
            "lacks {needle:?}\n{}",
            show(&run)
        );
    }
    // The TTLs were restored before the master started on etcd3.
    let order = |needle: &str| run.stderr.find(needle).unwrap_or(usize::MAX);
    assert!(order("<== step restore TTLs as leases") < order("==> step start the master"));
    assert!(run.stdout.contains("migration finished"), "{}", show(&run));

    // Every v2 leaf is in v3 with its value and revisions, TTLs as leases with the time v2
    // had left; the member is the same one; the master runs on etcd3.
    assert_migrated(&lab, &before);
    assert_eq!(
        lab.member_list()
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["openshift.local"]
    );
    assert!(last_master_start(&lab).contains("storage-backend=etcd3"));
    assert!(
        !standalone_pid_file(&lab).exists(),
        "the member no longer runs on its own"
    );
    // master-config.yaml changed by exactly the two arguments (GNU diff against the copy).
    let copy = std::fs::read_dir(master_config(&lab).parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("master-config.yaml.runbook-"))
        .expect("a copy of the original");
    assert_eq!(std::fs::read(&copy).unwrap(), original_config);
    assert_eq!(
        changed_lines(&copy, &master_config(&lab)),
        [
            "+    storage-backend:",
            "+    - etcd3",
            "+    storage-media-type:",
            "+    - application/vnd.kubernetes.protobuf",
        ]
    );

    let rolled = rollback(&inventory);
    assert_eq!(rolled.code, 0, "{}", show(&rolled));
    assert!(
        rolled.stdout.contains("rollback finished"),
        "{}",
        show(&rolled)
    );
    assert!(
        rolled
            .stderr
            .contains("master-1: the master's etcd started on its own"),
        "{}",
        show(&rolled)
    );
    // The v2 data as seeded (values and indexes), no v3 key, the config's bytes as they
    // were, the master on etcd2 again.
    assert_v2_as_seeded(&lab, &before);
    assert_eq!(std::fs::read(master_config(&lab)).unwrap(), original_config);
    assert!(last_master_start(&lab).contains("storage-backend=unset"));
    assert!(!standalone_pid_file(&lab).exists());
}

#[test]
fn killed_while_the_member_runs_on_its_own_resumes_and_lab_down_stops_what_a_run_left() {
    let lab = TestLab::up(&LAB);
    let inventory = lab.inventory();
    let before = before(&lab);
    let mut run = Running::start(migration(&inventory));
    run.wait_for_step_done(
        "copy the keys etcdctl migrate left out on master-1",
        Duration::from_secs(180),
    );
    run.kill();
    // The member still runs on its own; the master is down.
    let pid: i32 = std::fs::read_to_string(standalone_pid_file(&lab))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(pid));
    let health = etcdctl(&lab.env(), 3, &["endpoint", "health"]);
    assert_eq!(health.code, 0, "{}", health.stderr);

    let resumed = migration(&inventory).arg("--resume").run();
    assert_eq!(resumed.code, 0, "{}", show(&resumed));
    assert!(
        resumed
            .stderr
            .contains("--- step run master-1's etcd on its own: skipped (done in an earlier run)"),
        "{}",
        show(&resumed)
    );
    assert_migrated(&lab, &before);
    assert!(!alive(pid), "stopped by the resumed run");

    // A member left running on its own by a run cut short is stopped by `lab down`.
    std::fs::write(
        lab.dir.join("leave-running.rhai"),
        "master.stop();\nprint(etcd.start_standalone(\"master-1\").pid);\n",
    )
    .unwrap();
    let started = Runbook::new()
        .current_dir(&lab.dir)
        .args(["run", "leave-running.rhai", "-i"])
        .arg(&inventory)
        .run();
    assert_eq!(started.code, 0, "{}", show(&started));
    let pid: i32 = started
        .stdout
        .trim()
        .lines()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert!(alive(pid));
    let down = Runbook::new()
        .args(["lab", "down", "--dir"])
        .arg(&lab.dir)
        .run();
    assert_eq!(down.code, 0, "{}", show(&down));
    assert!(!alive(pid), "lab down stopped pid {pid}: {}", show(&down));
}
