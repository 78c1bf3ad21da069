//! The migration runbook killed with SIGKILL at points where a half-done cluster is
//! at stake, then `--resume`d: it finishes and the result is the same as an
//! uninterrupted run, with nothing lost.

mod support;

use std::time::{Duration, Instant};
use support::command::Runbook;
use support::lab::TestLab;
use support::migration::{assert_migrated, before};

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

#[test]
fn killed_after_the_backup() {
    kill_and_resume("step_finished", "back up every member", Duration::ZERO);
}

#[test]
fn killed_after_the_migrate() {
    kill_and_resume("step_finished", "migrate etcd-1", Duration::ZERO);
}

#[test]
fn killed_while_joining_a_member() {
    kill_and_resume("step_started", "join etcd-3", Duration::from_millis(700));
}

#[test]
fn killed_while_attaching_leases() {
    kill_and_resume(
        "step_started",
        "attach TTLs as leases",
        Duration::from_millis(300),
    );
}
