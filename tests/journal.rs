//! The step journal through the binary: a failed or killed run blocks a plain re-run,
//! `--resume` skips what finished (returning its recorded value), `--restart` and
//! `--start-at` do what they say, and the journal is private to its owner.

use crate::support::command::{write_file, Runbook};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

const SCRIPT: &str = r#"
let answer = step("prepare", || { print("prepare ran"); 41 + 1 });
print(`answer: ${answer}`);
for name in ["one", "two"] {
    step("each", || print(`each ${name} ran`));
}
step("check", || {
    if inventory.variable("fail") == true { throw "the check failed"; }
    print("check ran");
});
step("finish", || print("finish ran"));
"#;

fn run(dir: &Path, extra: &[&str]) -> crate::support::command::Finished {
    Runbook::new()
        .current_dir(dir)
        .args(["run", "steps.rhai", "-i", "inventory.ini"])
        .args(extra)
        .run()
}

fn journal_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(".runbook/steps.journal"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_failed_run_blocks_a_plain_rerun_and_resume_skips_finished_steps() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_file(dir, "steps.rhai", SCRIPT);
    write_file(
        dir,
        "inventory.ini",
        "[all:vars]\nfail=True\n\n[local]\nlocalhost ansible_connection=local\n",
    );

    let first = run(dir, &[]).code(1);
    assert!(
        first
            .stdout
            .contains("prepare ran\nanswer: 42\neach one ran\neach two ran\n"),
        "{}",
        first.stdout
    );
    assert!(!first.stdout.contains("finish ran"));
    assert!(
        first.stderr.contains("==> step prepare")
            && first.stderr.contains("<== step check: FAILED"),
        "{}",
        first.stderr
    );

    let refused = run(dir, &[]).code(2).stderr_has("--resume");
    assert!(
        refused.stderr_unwrapped().contains("the last run of steps.rhai did not finish: its last finished step is `each#2`, `check` failed"),
        "{}",
        refused.stderr
    );

    write_file(
        dir,
        "inventory.ini",
        "[local]\nlocalhost ansible_connection=local\n",
    );
    let resumed = run(dir, &["--resume"]).success();
    assert_eq!(
        resumed.stdout, "answer: 42\ncheck ran\nfinish ran\n",
        "finished steps skipped, their value returned"
    );
    assert!(
        resumed
            .stderr
            .contains("--- step prepare: skipped (done in an earlier run)"),
        "{}",
        resumed.stderr
    );

    // A finished run: a plain run starts afresh; --resume has nothing to do.
    run(dir, &["--resume"])
        .code(2)
        .stderr_has("nothing to resume: the last run finished");
    let again = run(dir, &[]).success();
    assert!(again.stdout.contains("prepare ran") && again.stdout.contains("finish ran"));

    // The record: every run and step, owner-only.
    let events = journal_lines(dir);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "run_started").count(), 3);
    assert!(events.iter().any(|e| e["event"] == "step_failed"
        && e["step"] == "check"
        && e["error"] == "the check failed"));
    assert!(events
        .iter()
        .any(|e| e["event"] == "step_finished" && e["step"] == "prepare" && e["result"] == 42));
    let resumed_run = events
        .iter()
        .find(|e| e["event"] == "run_started" && e["resumes"].is_string())
        .unwrap();
    assert_eq!(resumed_run["resumes"], events[0]["run"]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join(".runbook")), 0o700);
    assert_eq!(mode(&dir.join(".runbook/steps.journal")), 0o600);
}

#[test]
fn restart_and_start_at() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_file(dir, "steps.rhai", SCRIPT);
    write_file(
        dir,
        "inventory.ini",
        "[all:vars]\nfail=True\n[local]\nlocalhost ansible_connection=local\n",
    );
    run(dir, &[]).code(1);
    write_file(
        dir,
        "inventory.ini",
        "[local]\nlocalhost ansible_connection=local\n",
    );
    let restarted = run(dir, &["--restart"]).success();
    assert!(restarted.stdout.contains("prepare ran") && restarted.stdout.contains("finish ran"));

    let started_at = run(dir, &["--start-at", "check"]).success();
    assert_eq!(started_at.stdout, "answer: \ncheck ran\nfinish ran\n");
    run(dir, &["--start-at", "nope"])
        .code(1)
        .stderr_has("the runbook has no step `nope` (given with --start-at)");
}

#[test]
fn a_killed_run_is_resumed_from_the_interrupted_step() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let marker = dir.join("slow.started");
    write_file(
        dir,
        "steps.rhai",
        &format!(
            "step(\"quick\", || print(\"quick ran\"));\nstep(\"slow\", || {{\n    let h = inventory.host(\"localhost\");\n    if !h.exists(\"{0}\") {{ h.run(\"touch '{0}'; sleep 30\"); }}\n    print(\"slow ran\");\n}});\n",
            marker.display()
        ),
    );
    write_file(
        dir,
        "inventory.ini",
        "[local]\nlocalhost ansible_connection=local\n",
    );
    let mut child = Runbook::new()
        .current_dir(dir)
        .args(["run", "steps.rhai", "-i", "inventory.ini"])
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the slow step never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let refused = run(dir, &[]).code(2);
    assert!(
        refused
            .stderr_unwrapped()
            .contains("its last finished step is `quick`, `slow` was interrupted"),
        "{}",
        refused.stderr
    );
    let resumed = run(dir, &["--resume"]).success();
    assert_eq!(resumed.stdout, "slow ran\n");
}

/// `nobody`: a user that cannot write a root-owned directory.
const NOBODY: u32 = 65534;

#[test]
fn an_inventory_in_a_directory_the_user_cannot_write_keeps_its_journal_in_the_state_dir() {
    use std::os::unix::fs::MetadataExt;
    // A root-owned, world-readable inventory directory, like /etc/ansible.
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let etc = root.path().join("etc-ansible");
    std::fs::create_dir(&etc).unwrap();
    let inventory = write_file(&etc, "hosts", "localhost ansible_connection=local\n");
    let script = write_file(&etc, "look.rhai", "step(\"look\", || print(\"looked\"));\n");
    for path in [&inventory, &script] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    // The user's own state directory.
    let state = root.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::os::unix::fs::chown(&state, Some(NOBODY), Some(NOBODY)).unwrap();

    let as_nobody = |extra: &[&str]| {
        Runbook::new()
            .run_as(NOBODY, NOBODY)
            .env("XDG_STATE_HOME", &state)
            .current_dir(&state)
            .arg("run")
            .arg(&script)
            .arg("-i")
            .arg(&inventory)
            .args(extra)
            .run()
    };
    let first = as_nobody(&[]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("looked"), "{}", first.stdout);
    assert!(
        first.stderr.contains("is not writable: the journal is")
            && first.stderr.contains("--journal DIR"),
        "one line says where the journal went: {}",
        first.stderr
    );
    assert!(
        !etc.join(".runbook").exists(),
        "nothing written beside the inventory"
    );

    let journals: Vec<_> = std::fs::read_dir(state.join("runbook/journals"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(journals.len(), 1, "{journals:?}");
    let key = journals[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        key.contains("etc-ansible_hosts-"),
        "named after the inventory: {key}"
    );
    let journal = journals[0].join("look.journal");
    let meta = std::fs::metadata(&journal).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o600));
    let kinds: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "\"run_started\"",
            "\"step_started\"",
            "\"step_finished\"",
            "\"run_finished\""
        ],
        "the run and its step are recorded there"
    );

    // The next run finds the same journal.
    as_nobody(&["--resume"])
        .code(2)
        .stderr_has("nothing to resume: the last run finished");

    // --journal puts it where the operator says.
    let chosen = state.join("chosen");
    let run = as_nobody(&["--journal", chosen.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("is not writable"), "{}", run.stderr);
    assert!(chosen.join("look.journal").is_file());
}
