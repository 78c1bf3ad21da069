//! Faults during a real run of the shipped `v2-to-v3.rhai` on a TLS lab: a joining
//! member killed, the first member killed during the TTL step, the leader killed
//! during preflight, the disk filling during the backup, the ssh connection to a
//! host dropped mid-step. Each run stops with a message that names the step and the
//! exact next command (or carries on), and ends completed after `--resume` (checked
//! with `assert_migrated`) or rolled back (the v2 data compared with what was seeded).
//! The matrix is in docs/reliability.md.

use crate::support::command::{repo_root, says, Finished, Runbook};
use crate::support::etcd::{etcdctl, wait_until};
use crate::support::files::{assert_files_as_in_manifest, entries};
use crate::support::lab::TestLab;
use crate::support::migration::{
    assert_migrated, assert_v2_as_seeded, before, migration, v3_keys, Before,
};
use crate::support::process::Killed;
use crate::support::running::Running;
use crate::support::sshd::Sshd;
use runbook::lab::pidfile::RecordedProcess;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const KEYS: &str = "300";
/// Bounds for a loaded machine; the steps take seconds.
const STEP_WAIT: Duration = Duration::from_secs(120);
const RUN_WAIT: Duration = Duration::from_secs(240);
const MEMBERS: [&str; 3] = ["etcd-1", "etcd-2", "etcd-3"];
const MASTER_SERVICES: [&str; 2] = [
    "atomic-openshift-master-api",
    "atomic-openshift-master-controllers",
];

/// The command the run must name to continue.
fn resume_command(inventory: &Path) -> String {
    format!(
        "runbook run {} -i {} --resume",
        repo_root().join("runbooks/v2-to-v3.rhai").display(),
        inventory.display()
    )
}

fn show(finished: &Finished) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        finished.code, finished.stdout, finished.stderr
    )
}

/// Asserts the run stopped (exit 1) in `step`, naming it and the exact resume command.
fn assert_stopped_at(stopped: &Finished, step: &str, inventory: &Path) {
    assert_failed_step(stopped, step);
    let next = format!(
        "the run stopped at step `{step}`; the steps before it are done and journaled. \
         Once the cause below is fixed, continue from this step with: {}",
        resume_command(inventory)
    );
    let said = stopped.stderr_unwrapped();
    assert!(says(&said, &next), "lacks {next:?}\n{}", show(stopped));
}

/// Asserts the run stopped (exit 1) in `step`, naming it and the exact rollback command.
fn assert_stopped_for_rollback(stopped: &Finished, step: &str, inventory: &Path) {
    assert_failed_step(stopped, step);
    let next = format!(
        "the run stopped at step `{step}`; the steps before it are done and journaled. \
         The message below calls for another runbook: runbook run {} -i {} (only if its cause \
         can be fixed instead, continue from this step with: {})",
        repo_root().join("runbooks/rollback.rhai").display(),
        inventory.display(),
        resume_command(inventory)
    );
    let said = stopped.stderr_unwrapped();
    assert!(says(&said, &next), "lacks {next:?}\n{}", show(stopped));
}

fn assert_failed_step(stopped: &Finished, step: &str) {
    assert_eq!(stopped.code, 1, "{}", show(stopped));
    assert!(
        stopped.stderr.contains(&format!("<== step {step}: FAILED")),
        "{}",
        show(stopped)
    );
}

/// A plain re-run refuses, naming the last finished step, the one that failed and the
/// resume command.
fn assert_rerun_refuses(inventory: &Path, last_done: &str, failed: &str) {
    let refused = migration(inventory).run();
    assert_eq!(refused.code, 2, "{}", show(&refused));
    let said = refused.stderr_unwrapped();
    for needle in [
        if last_done.is_empty() {
            format!("did not finish: no step finished, `{failed}` failed")
        } else {
            format!("its last finished step is `{last_done}`, `{failed}` failed")
        },
        format!("continue it with `{}`", resume_command(inventory)),
    ] {
        assert!(says(&said, &needle), "lacks {needle:?}\n{said}");
    }
}

fn resume(inventory: &Path) -> Finished {
    let resumed = migration(inventory).arg("--resume").run();
    assert_eq!(resumed.code, 0, "{}", show(&resumed));
    assert!(
        resumed.stdout.contains("migration finished"),
        "{}",
        show(&resumed)
    );
    resumed
}

/// The etcd process the lab recorded for `host`, if it runs.
fn etcd_process(lab: &TestLab, host: &str) -> Option<RecordedProcess> {
    RecordedProcess::read(&lab.host_dir(host).join("run/etcd.pid"), host, "etcd")
        .filter(RecordedProcess::is_alive)
}

/// SIGKILL of `host`'s etcd, by the pid the lab recorded.
fn kill_etcd(lab: &TestLab, host: &str) {
    let process = etcd_process(lab, host).unwrap_or_else(|| panic!("{host}: etcd not running"));
    assert!(
        process.kill(Duration::from_secs(10)),
        "{host}: etcd lives on"
    );
}

fn is_active(lab: &TestLab, host: &str, service: &str) -> bool {
    Command::new(lab.dir.join("bin/lab-service"))
        .arg(lab.host_dir(host))
        .args(["is-active", service])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The member that leads the cluster now.
fn leader(lab: &TestLab) -> String {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.dir.join("lab.json")).unwrap()).unwrap();
    let status = etcdctl(&lab.env(), 3, &["endpoint", "status", "-w", "json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", status.stdout, status.stderr));
    for endpoint in status.as_array().unwrap() {
        let header = &endpoint["Status"]["header"];
        if header["member_id"] == endpoint["Status"]["leader"] {
            let url = endpoint["Endpoint"].as_str().unwrap();
            let port: u64 = url.rsplit(':').next().unwrap().parse().unwrap();
            for member in state["members"].as_array().unwrap() {
                if member["client_port"].as_u64() == Some(port) {
                    return member["name"].as_str().unwrap().to_string();
                }
            }
        }
    }
    panic!("no leader in {status}");
}

/// Nothing was changed: the v2 data and master config as before, no backup and no
/// migration record anywhere, no v3 key, the masters still running.
fn assert_unchanged(lab: &TestLab, was: &Before) {
    let now = before(lab);
    assert!(now.leaves == was.leaves, "the v2 data changed");
    assert_eq!(now.master_config, was.master_config);
    for host in MEMBERS {
        let names = entries(&lab.data_dir(host));
        assert_eq!(
            names,
            BTreeSet::from(["member".to_string()]),
            "{host}: only its data"
        );
    }
    assert!(v3_keys(lab).is_empty(), "v3 keys appeared");
    for service in MASTER_SERVICES {
        assert!(is_active(lab, "master-1", service), "{service} stopped");
    }
}

#[test]
fn a_joining_member_killed_mid_join() {
    let lab = TestLab::up(&["--tls", "--keys", KEYS]);
    let inventory = lab.inventory();
    let before = before(&lab);

    // etcd-2 killed as soon as its etcd starts: it is in the cluster as a learner.
    let mut run = Running::start(migration(&inventory));
    run.wait_for_step_start("join etcd-2", STEP_WAIT);
    let killed = wait_until(Duration::from_secs(60), || {
        etcd_process(&lab, "etcd-2").is_some_and(|p| p.kill(Duration::from_secs(5)))
    });
    assert!(killed, "etcd-2 never started: {}", run.stderr());
    let stopped = run.finish(RUN_WAIT);
    assert_stopped_at(&stopped, "join etcd-2", &inventory);
    assert!(
        stopped.stderr.contains("etcd-2: added as member")
            && stopped
                .stderr
                .contains(", a learner until it has caught up"),
        "{}",
        show(&stopped)
    );
    // etcd-2 is a learner that does not run, so etcd-1 alone is still the quorum: plain
    // etcdctl writes (and removes) a key through it.
    let (learners, listed) = crate::support::etcd::learners(&lab.env());
    assert_eq!(learners.len(), 1, "{listed}");
    for args in [
        ["put", "/runbook-test/quorum", "kept"].as_slice(),
        ["del", "/runbook-test/quorum"].as_slice(),
    ] {
        let mut args = args.to_vec();
        args.insert(0, "--command-timeout=10s");
        let written = etcdctl(&lab.env(), 3, &args);
        assert_eq!(written.code, 0, "{args:?}: {}", written.stderr);
    }
    // The masters are back on etcd3 before the joins (the minimal order).
    assert_rerun_refuses(
        &inventory,
        "drop the v2 copies of the masters' data on etcd-1",
        "join etcd-2",
    );

    // The resume starts etcd-2 with the data it has; etcd-3 is killed the same way.
    let mut run = Running::start(migration(&inventory).arg("--resume"));
    run.wait_for_step_start("join etcd-3", STEP_WAIT);
    let killed = wait_until(Duration::from_secs(60), || {
        etcd_process(&lab, "etcd-3").is_some_and(|p| p.kill(Duration::from_secs(5)))
    });
    assert!(killed, "etcd-3 never started: {}", run.stderr());
    let stopped = run.finish(RUN_WAIT);
    assert!(
        stopped.stderr.contains("etcd-2: already added as member"),
        "{}",
        show(&stopped)
    );
    assert_stopped_at(&stopped, "join etcd-3", &inventory);

    let resumed = resume(&inventory);
    assert!(
        resumed.stderr.contains("etcd-3: already added as member"),
        "{}",
        show(&resumed)
    );
    assert_migrated(&lab, &before);
}

#[test]
fn the_first_member_killed_during_the_ttl_step() {
    let lab = TestLab::up(&["--tls", "--keys", KEYS]);
    let inventory = lab.inventory();
    let before = before(&lab);
    let mut run = Running::start(migration(&inventory));
    run.wait_for_step_start("restore TTLs as leases", STEP_WAIT);
    // Held still while etcd-1 dies, so the fault lands inside the step.
    run.pause();
    kill_etcd(&lab, "etcd-1");
    run.carry_on();
    let stopped = run.finish(RUN_WAIT);
    let said = stopped.stderr_unwrapped();
    // The client spreads requests over the members: the step stops at the first one sent
    // to etcd-1 or, if none was, the next step finds etcd-1 down.
    if says(&said, "<== step restore TTLs as leases: FAILED") {
        assert_stopped_at(&stopped, "restore TTLs as leases", &inventory);
        assert!(
            says(&said, "(etcd-1 does not answer)"),
            "{}",
            show(&stopped)
        );
        assert!(
            says(&said, "is etcd running on etcd-1?"),
            "{}",
            show(&stopped)
        );
    } else {
        let step = "check that every member holds the same data";
        assert_stopped_at(&stopped, step, &inventory);
        assert!(says(&said, "etcd-1"), "{}", show(&stopped));
    }
    // The operator starts etcd-1 again; the resume attaches what is left.
    lab.service("etcd-1", "start", "etcd");
    resume(&inventory);
    assert_migrated(&lab, &before);
}

#[test]
fn the_leader_killed_during_preflight() {
    let lab = TestLab::up(&["--tls", "--keys", KEYS]);
    let inventory = lab.inventory();
    let before = before(&lab);
    let leader = leader(&lab);
    let mut run = Running::start(migration(&inventory));
    run.wait_for_step_start("preflight", STEP_WAIT);
    // Held still while the leader dies, so the fault lands inside the step.
    run.pause();
    kill_etcd(&lab, &leader);
    run.carry_on();
    let stopped = run.finish(RUN_WAIT);
    let said = stopped.stderr_unwrapped();
    if says(&said, "<== step preflight: FAILED") {
        // The health check saw the dead leader: nothing was changed.
        assert_stopped_at(&stopped, "preflight", &inventory);
        assert!(
            says(&said, "1 etcd member(s) unhealthy:")
                && says(&said, &format!("{leader} (https://")),
            "{}",
            show(&stopped)
        );
        assert!(
            says(&said, &format!("check on {leader}")),
            "{}",
            show(&stopped)
        );
        assert_rerun_refuses(&inventory, "", "preflight");
        lab.service(&leader, "start", "etcd");
        assert_unchanged(&lab, &before);
    } else {
        // The health check answered before the kill landed: the masters were stopped,
        // then the convergence wait finds the leader gone; etcd's data is untouched.
        assert_stopped_at(&stopped, "wait for raft convergence", &inventory);
        assert!(says(&said, &leader), "{}", show(&stopped));
        lab.service(&leader, "start", "etcd");
        for host in MEMBERS {
            assert_eq!(
                entries(&lab.data_dir(host)),
                BTreeSet::from(["member".to_string()])
            );
        }
        assert!(v3_keys(&lab).is_empty());
    }
    resume(&inventory);
    assert_migrated(&lab, &before);
}

/// A tmpfs mounted over a member's data dir; lazily unmounted on drop (etcd may still run on it).
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Moves `host`'s data dir onto a tmpfs of `mib` MiB (etcd stopped meanwhile).
fn data_dir_on_tmpfs(lab: &TestLab, host: &str, mib: u64) -> Tmpfs {
    let dir = lab.data_dir(host);
    lab.service(host, "stop", "etcd");
    let aside = dir.with_extension("disk");
    std::fs::rename(&dir, &aside).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={mib}m,mode=0700"),
            "tmpfs",
        ])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(
        mounted.success(),
        "mount -t tmpfs failed (the test needs root)"
    );
    let tmpfs = Tmpfs(dir.clone());
    let copied = Command::new("cp")
        .arg("-a")
        .arg(aside.join("member"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(copied.success());
    std::fs::remove_dir_all(&aside).unwrap();
    lab.service(host, "start", "etcd");
    let env = lab.env();
    assert!(
        wait_until(Duration::from_secs(60), || etcdctl(
            &env,
            3,
            &["endpoint", "health"]
        )
        .code
            == 0),
        "the cluster is not healthy again"
    );
    tmpfs
}

/// Writes into `dir` until its filesystem is full; returns the file.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0x5au8; 1 << 20];
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    let _ = file.flush();
    path
}

/// A `program` first in PATH that holds every call whose arguments match the shell `case`
/// pattern until `go` exists (writing `started` first), then runs the real one: the moment
/// a member's backup starts writing, after its free-space check, made observable.
struct BackupGate {
    dir: tempfile::TempDir,
}

impl BackupGate {
    /// Holds `etcdctl backup` of `data_dir` (the classic order's backup).
    fn new(data_dir: &Path) -> BackupGate {
        BackupGate::on(
            "etcdctl",
            &format!("*\" backup \"*\"--data-dir {} \"*", data_dir.display()),
        )
    }

    /// Holds the copy of the stopped `data_dir/member` (the minimal order's backup).
    fn on_copy(data_dir: &Path) -> BackupGate {
        BackupGate::on(
            "cp",
            &format!("*\" --reflink=auto -- {}/\"*", data_dir.display()),
        )
    }

    fn on(program: &str, pattern: &str) -> BackupGate {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(program))
            .find(|p| p.exists())
            .unwrap();
        let script = format!(
            "#!/bin/sh\n\
             case \" $* \" in\n\
             {pattern})\n\
             \x20 touch {gate}/started\n\
             \x20 n=0; while [ ! -e {gate}/go ] && [ $n -lt 12000 ]; do sleep 0.01; n=$((n+1)); done\n\
             \x20 if [ -e {gate}/refuse ]; then touch {gate}/refused; exit 1; fi ;;\n\
             esac\n\
             exec {real} \"$@\"\n",
            gate = dir.path().display(),
            real = real.display(),
        );
        let path = dir.path().join(program);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        BackupGate { dir }
    }

    /// PATH with the gated program first.
    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn started(&self) -> bool {
        self.dir.path().join("started").exists()
    }

    fn open(&self) {
        let _ = std::fs::write(self.dir.path().join("go"), "");
    }

    /// Lets the held call go, failing instead of running the real program (for a call
    /// whose runbook was killed meanwhile); returns once it has.
    fn refuse(&self) {
        let _ = std::fs::write(self.dir.path().join("refuse"), "");
        self.open();
        assert!(
            wait_until(Duration::from_secs(10), || self
                .dir
                .path()
                .join("refused")
                .exists()),
            "the held call never ended"
        );
    }
}

impl Drop for BackupGate {
    fn drop(&mut self) {
        self.open();
    }
}

#[test]
fn the_disk_filling_during_the_backup_of_a_running_member() {
    let lab = TestLab::up(&["--tls", "--keys", KEYS]);
    let inventory = lab.inventory();
    // Room for the data, the free-space check (twice the data) and the rebuild.
    let _tmpfs = data_dir_on_tmpfs(&lab, "etcd-2", 520);
    let before = before(&lab);
    let dir = lab.data_dir("etcd-2");
    let gate = BackupGate::new(&dir);
    // The classic order backs up the running members with `etcdctl backup`.
    let classic = |run: Runbook| run.args(["-e", "runbook_outage=classic"]);
    let mut run = Running::start(classic(migration(&inventory)).env("PATH", gate.path()));
    run.wait_for_step_start("back up every member", STEP_WAIT);
    // Something else fills the disk once etcd-2's backup has passed its free-space
    // check and starts writing.
    assert!(
        wait_until(STEP_WAIT, || gate.started()),
        "etcd-2's backup never started: {}",
        run.stderr()
    );
    let filler = fill(&dir);
    gate.open();
    let stopped = run.finish(RUN_WAIT);
    assert_failed_step(&stopped, "back up every member");
    let said = stopped.stderr_unwrapped();
    for needle in [
        "the backup failed on 1 of 3 etcd member(s); the migration must not go on",
        "etcd-2: FAILED: etcd-2: `etcdctl backup` of",
        "no space left on device",
        "etcd-2: the disk filled up while the backup was written: free space on etcd-2",
    ] {
        assert!(says(&said, needle), "lacks {needle:?}\n{}", show(&stopped));
    }
    // Nothing of etcd changed (the masters are stopped); the unfinished backup is gone.
    assert!(v3_keys(&lab).is_empty());
    assert_eq!(
        entries(&dir),
        BTreeSet::from(["member".to_string(), "filler".to_string()])
    );
    // The operator frees the space.
    std::fs::remove_file(&filler).unwrap();
    let resumed = classic(migration(&inventory)).arg("--resume").run();
    assert_eq!(resumed.code, 0, "{}", show(&resumed));
    assert_migrated(&lab, &before);
}

#[test]
fn the_disk_filling_while_the_stopped_first_member_is_copied() {
    let lab = TestLab::up(&["--tls", "--keys", KEYS]);
    let inventory = lab.inventory();
    let _tmpfs = data_dir_on_tmpfs(&lab, "etcd-1", 520);
    let before = before(&lab);
    let dir = lab.data_dir("etcd-1");
    let gate = BackupGate::on_copy(&dir);
    let mut run = Running::start(migration(&inventory).env("PATH", gate.path()));
    run.wait_for_step_start("back up every member", STEP_WAIT);
    assert!(
        wait_until(STEP_WAIT, || gate.started()),
        "etcd-1's copy never started: {}",
        run.stderr()
    );
    let filler = fill(&dir);
    gate.open();
    let stopped = run.finish(RUN_WAIT);
    assert_stopped_at(&stopped, "back up every member", &inventory);
    let said = stopped.stderr_unwrapped();
    for needle in [
        "the backup failed on 1 of 3 etcd member(s); the migration must not go on",
        "etcd-1: FAILED: etcd-1: copying the stopped member's data failed (exit 1)",
        "No space left on device",
        "(the unfinished backup directory",
        "the data left where it was)",
        "etcd.backup(#{stopped: true, hosts: [\"etcd-1\"]})",
        "etcd-1: the disk filled up while the backup was written: free space on etcd-1",
    ] {
        assert!(says(&said, needle), "lacks {needle:?}\n{}", show(&stopped));
    }
    // etcd-1's data is where it was and its unfinished copy is gone; the others' data is
    // in their backups, each with a manifest that says it was moved there.
    assert_eq!(
        entries(&dir),
        BTreeSet::from(["member".to_string(), "filler".to_string()])
    );
    for member in ["etcd-2", "etcd-3"] {
        let data = lab.data_dir(member);
        let (backup, _) = moved_backup(&data, member);
        assert!(
            data.join(backup).join("member/snap/db").is_file(),
            "{member}"
        );
    }
    std::fs::remove_file(&filler).unwrap();
    resume(&inventory);
    assert_migrated(&lab, &before);
}

#[test]
fn killed_while_the_first_members_data_is_copied_back_from_its_backup() {
    let lab = TestLab::up(&["--tls", "--keys", KEYS]);
    let inventory = lab.inventory();
    let before = before(&lab);
    let dir = lab.data_dir("etcd-1");
    let gate = BackupGate::on_copy(&dir);
    let mut run = Running::start(migration(&inventory).env("PATH", gate.path()));
    run.wait_for_step_start("back up every member", STEP_WAIT);
    assert!(
        wait_until(STEP_WAIT, || gate.started()),
        "etcd-1's copy never started: {}",
        run.stderr()
    );
    run.kill();
    gate.refuse();
    // etcd-1's data is in its backup only, with its manifest; a half-made copy is left.
    let (backup, manifest) = moved_backup(&dir, "etcd-1");
    let half = dir.join(".member.runbook-copy/snap");
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(half.join("db"), b"half a copy").unwrap();

    // A copy still being written (the killed run's `cp`, as it goes on over SSH) makes the
    // resume refuse, naming the process, with nothing changed.
    let writer = Killed(
        Command::new("sleep")
            .arg("120")
            .stdout(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(half.join("db"))
                    .unwrap(),
            )
            .spawn()
            .unwrap(),
    );
    let refused = migration(&inventory).arg("--resume").run();
    assert_stopped_at(&refused, "back up every member", &inventory);
    let held = format!(
        "etcd-1: FAILED: etcd is still running on etcd-1: process(es) {} (sleep) hold files of",
        writer.0.id()
    );
    assert!(
        says(&refused.stderr_unwrapped(), &held),
        "{}",
        show(&refused)
    );
    assert_eq!(std::fs::read(half.join("db")).unwrap(), b"half a copy");
    assert!(!dir.join("member").exists());
    drop(writer);

    // Resumed, the step finds the moved backup, verifies it, and copies it back anew.
    resume(&inventory);
    assert_migrated(&lab, &before);
    assert!(!dir.join(".member.runbook-copy").exists());
    assert_eq!(
        std::fs::read(dir.join(&backup).join("member/snap/db"))
            .unwrap()
            .len() as u64,
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == "member/snap/db")
            .unwrap()["size"]
            .as_u64()
            .unwrap(),
        "the backup is untouched"
    );
    assert_files_as_in_manifest(&dir.join(&backup), &manifest, "etcd-1");
}

/// The backup in `data`, a member's data dir whose `member` was moved into it, and the
/// backup's manifest as read from disk, which must say `move`.
fn moved_backup(data: &Path, member: &str) -> (String, serde_json::Value) {
    let names = entries(data);
    assert!(!names.contains("member"), "{member}: {names:?}");
    let backup = names
        .into_iter()
        .find(|n| n.starts_with("openshift-backup-pre-migration"))
        .unwrap_or_else(|| panic!("{member}: no backup in {}", data.display()));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.join(&backup).join("runbook-backup-manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["method"], "move", "{member}");
    (backup, manifest)
}

/// pid -> (parent pid, command name) of every process.
fn processes() -> BTreeMap<i32, (i32, String)> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let parent = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        found.insert(pid, (parent, name));
    }
    found
}

/// Every process below `root`.
fn descendants(root: i32) -> Vec<i32> {
    let all = processes();
    let mut found = vec![];
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, (ppid, _)) in &all {
            if *ppid == parent {
                found.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    found
}

fn cmdline(pid: i32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .replace('\0', " ")
}

fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory effects; the pids are processes this test found under its own sshd.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// The lab's inventory with etcd-1 reached through `first` and every other host through `rest`.
fn ssh_inventory(lab: &TestLab, first: &Sshd, rest: &Sshd) -> PathBuf {
    let local = std::fs::read_to_string(lab.inventory()).unwrap();
    assert!(local.contains("ansible_connection=local"));
    let group_vars = rest.inventory_vars().replace(' ', "\n");
    let text: String = local
        .replace("ansible_connection=local", &group_vars)
        .lines()
        .map(|line| {
            if line.starts_with("etcd-1 ") {
                format!("{line} {}\n", first.inventory_vars())
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    let inventory = lab.dir.join("inventory-ssh.ini");
    std::fs::write(&inventory, text).unwrap();
    inventory
}

#[test]
fn the_ssh_connection_dropped_while_the_first_member_migrates() {
    let first = Sshd::start();
    let rest = Sshd::start();
    let lab = TestLab::up(&["--tls", "--keys", KEYS]);
    let inventory = ssh_inventory(&lab, &first, &rest);
    let before = before(&lab);
    let mut run = Running::start(migration(&inventory));
    run.wait_for_step_start("migrate etcd-1", STEP_WAIT);
    // While `etcdctl migrate` runs on etcd-1: hold it, drop etcd-1's connection
    // (sshd's per-connection processes), let it go on.
    let deadline = Instant::now() + STEP_WAIT;
    let migrating = loop {
        let found = descendants(first.pid() as i32)
            .into_iter()
            .find(|pid| cmdline(*pid).starts_with("etcdctl migrate"));
        if let Some(pid) = found {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "no etcdctl migrate: {}",
            run.stderr()
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    signal(migrating, libc::SIGSTOP);
    let all = processes();
    let sessions: Vec<i32> = descendants(first.pid() as i32)
        .into_iter()
        .filter(|pid| {
            all.get(pid)
                .is_some_and(|(_, name)| name.starts_with("sshd"))
        })
        .collect();
    assert!(!sessions.is_empty(), "no sshd session for etcd-1");
    for pid in &sessions {
        signal(*pid, libc::SIGKILL);
    }
    signal(migrating, libc::SIGCONT);
    let stopped = run.finish(RUN_WAIT);
    // Whether etcdctl finished there is unknown: the data dir may be partly migrated.
    assert_stopped_for_rollback(&stopped, "migrate etcd-1", &inventory);
    let said = stopped.stderr_unwrapped();
    for needle in [
        "`etcdctl migrate` on etcd-1 did not finish: lost the connection to etcd-1",
        "may be partly migrated: do not start etcd on it",
    ] {
        assert!(says(&said, needle), "lacks {needle:?}\n{}", show(&stopped));
    }

    // Resuming refuses to migrate again, and says the same.
    let refused = migration(&inventory).arg("--resume").run();
    assert_stopped_for_rollback(&refused, "migrate etcd-1", &inventory);
    assert!(
        says(
            &refused.stderr_unwrapped(),
            "a v2 -> v3 migration is already recorded for this cluster: etcd-1 was migrated (state started"
        ),
        "{}",
        show(&refused)
    );

    let rollback = Runbook::new()
        .args(["run", "rollback.rhai", "-i"])
        .arg(&inventory)
        .run();
    assert_eq!(rollback.code, 0, "{}", show(&rollback));
    assert!(
        rollback.stdout.contains("rollback finished"),
        "{}",
        show(&rollback)
    );
    assert_v2_as_seeded(&lab, &before);
}
