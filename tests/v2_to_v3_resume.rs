//! The migration runbook killed with SIGKILL at every step boundary, and inside the
//! steps where a half-done cluster is at stake, then `--resume`d: a plain re-run
//! refuses and names the step and the exact resume command, the resume finishes, and
//! the result is the same as an uninterrupted run, with nothing lost.

use crate::support::command::{repo_root, says, Runbook};
use crate::support::lab::TestLab;
use crate::support::migration::{assert_migrated, before, migration};
use crate::support::running::Running;
use std::time::{Duration, Instant};

/// The steps of `v2-to-v3.rhai` on a three-member lab, in order (the default, minimal
/// order: the masters return before the other members are rebuilt).
const STEPS: [&str; 17] = [
    "preflight",
    "stop the masters",
    "wait for raft convergence",
    "stop etcd",
    "back up every member",
    "migrate etcd-1",
    "start etcd-1 as a new cluster",
    "copy the keys etcdctl migrate left out on etcd-1",
    "verify the migrated data on etcd-1",
    "switch the masters to etcd3",
    "restart the masters",
    "drop the v2 copies of the masters' data on etcd-1",
    "join etcd-2",
    "join etcd-3",
    "wait for health and convergence",
    "restore TTLs as leases",
    "check that every member holds the same data",
];

/// Runs the migration until the journal shows `event` for `step`, waits `then`,
/// kills the runbook with SIGKILL, and resumes it to the end.
fn kill_and_resume(event: &str, step: &str, then: Duration) {
    let lab = TestLab::up(&["--tls", "--keys", "1500"]);
    let before = before(&lab);
    let journal = lab.dir.join(".runbook/v2-to-v3.journal");
    let mut child = Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-i"])
        .arg(lab.inventory())
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        let reached = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|e| e["event"] == event && e["step"] == step);
        if reached {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            panic!(
                "the run ended ({status}) before {event} {step}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(Instant::now() < deadline, "never reached {event} {step}");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(then);
    child.kill().unwrap(); // SIGKILL: no cleanup of any kind
    child.wait().unwrap();

    let refused = Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-i"])
        .arg(lab.inventory())
        .run()
        .code(2);
    assert!(
        refused.stderr_unwrapped().contains("did not finish"),
        "{}",
        refused.stderr
    );
    let resumed = Runbook::new()
        .args(["run", "v2-to-v3.rhai", "--resume", "-i"])
        .arg(lab.inventory())
        .run();
    assert_eq!(
        resumed.code, 0,
        "resume after {event} {step}:\n{}\n{}",
        resumed.stdout, resumed.stderr
    );
    assert!(
        resumed.stdout.contains("migration finished"),
        "{}",
        resumed.stdout
    );
    assert_migrated(&lab, &before);
}

/// SIGKILL right after each `<== step NAME: done` line, one boundary after the other:
/// the run is killed after the first step, a plain re-run refuses, `--resume` carries
/// on and is killed after the next step, and so on; the last resume finishes. Every
/// resume starts from the state the kill left at its boundary.
#[test]
fn killed_at_every_step_boundary() {
    let lab = TestLab::up(&["--tls", "--keys", "300"]);
    let inventory = lab.inventory();
    let before = before(&lab);
    let resume = format!(
        "runbook run {} -i {} --resume",
        repo_root().join("runbooks/v2-to-v3.rhai").display(),
        inventory.display()
    );
    for (done, step) in STEPS.iter().enumerate() {
        let run = migration(&inventory);
        let run = if done == 0 { run } else { run.arg("--resume") };
        let mut run = Running::start(run);
        run.wait_for_step_done(step, Duration::from_secs(180));
        let killed = run.kill();
        for earlier in &STEPS[..done] {
            let skipped = format!("--- step {earlier}: skipped (done in an earlier run)");
            assert!(killed.stderr.contains(&skipped), "{}", killed.stderr);
        }
        let journal = std::fs::read_to_string(lab.dir.join(".runbook/v2-to-v3.journal")).unwrap();
        let last_event = journal
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|e| e["event"].clone());
        if last_event == Some("run_finished".into()) {
            // After the last step only the summary is left: the run may record its end
            // before the kill lands. Then there is nothing to resume.
            assert_eq!(done, STEPS.len() - 1, "{}", killed.stderr);
            migration(&inventory)
                .arg("--resume")
                .run()
                .code(2)
                .stderr_has("nothing to resume: the last run finished");
            assert_migrated(&lab, &before);
            return;
        }

        let refused = migration(&inventory).run().code(2);
        let said = refused.stderr_unwrapped();
        for needle in [
            format!("its last finished step is `{step}`"),
            format!("continue it with `{resume}`"),
        ] {
            assert!(
                says(&said, &needle),
                "killed after {step}: lacks {needle:?}\n{said}"
            );
        }
    }
    let resumed = migration(&inventory).arg("--resume").run().success();
    assert!(
        resumed.stdout.contains("migration finished"),
        "{}",
        resumed.stdout
    );
    for step in STEPS {
        let skipped = format!("--- step {step}: skipped (done in an earlier run)");
        assert!(resumed.stderr.contains(&skipped), "{}", resumed.stderr);
    }
    assert_migrated(&lab, &before);
}

#[test]
fn killed_while_backing_up_the_stopped_members() {
    kill_and_resume(
        "step_started",
        "back up every member",
        Duration::from_millis(300),
    );
}

#[test]
fn killed_while_joining_a_member() {
    kill_and_resume("step_started", "join etcd-3", Duration::from_millis(700));
}

#[test]
fn killed_while_restoring_ttls() {
    kill_and_resume(
        "step_started",
        "restore TTLs as leases",
        Duration::from_millis(300),
    );
}
