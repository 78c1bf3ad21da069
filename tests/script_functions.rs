//! The functions runbooks use around the primitives, through the binary: time, quoting,
//! JSON, `wait` (which Ctrl-C ends at once), `fail`, `step(name, #{always}, ...)`,
//! `--no-journal`, one journal per runbook file, and a step's failure reported once.

use crate::support::command::{write_file, Runbook};
use std::path::Path;
use std::time::{Duration, Instant};

fn run(dir: &Path, script: &str, extra: &[&str]) -> crate::support::command::Finished {
    Runbook::new()
        .current_dir(dir)
        .args(["run", script])
        .args(extra)
        .run()
}

#[test]
fn time_quoting_and_json_functions_give_what_the_shell_and_serde_agree_on() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "f.rhai",
        r#"
let quoted = shell_quote("it's $HOME");
let echoed = inventory.host("localhost").run(`printf '%s' ${quoted}`);
print(`echoed=${echoed}`);
print(`now=${now_utc()}`);
print(`stamp=${timestamp("%Y-%m-%d")}`);
let v = parse_json(`{"members": [{"name": "a", "id": 7}], "ok": true, "none": null}`);
print(`id=${v.members[0].id} ok=${v.ok} none=${v.none == ()}`);
print(`json=${to_json(#{b: [1, "x", ()], a: 2.5})}`);
"#,
    );
    let out = run(dir.path(), "f.rhai", &["--no-journal"]).success();
    let printed = |name: &str| crate::support::command::printed(&out.stdout, name);
    assert_eq!(
        printed("echoed"),
        "it's $HOME",
        "the shell took it as one literal word"
    );
    let now = chrono::DateTime::parse_from_rfc3339(&printed("now")).expect("RFC 3339");
    assert!(
        (chrono::Utc::now() - now.with_timezone(&chrono::Utc))
            .num_seconds()
            .abs()
            < 60
    );
    assert_eq!(
        printed("stamp"),
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    );
    assert_eq!(printed("id"), "7 ok=true none=true");
    let json: serde_json::Value = serde_json::from_str(&printed("json")).unwrap();
    assert_eq!(json, serde_json::json!({"a": 2.5, "b": [1, "x", null]}));

    write_file(dir.path(), "bad.rhai", "timestamp(\"%Q\");\n");
    let bad = run(dir.path(), "bad.rhai", &["--no-journal"]).code(1);
    assert!(
        bad.stderr.contains("`%Q` is not a strftime format"),
        "{}",
        bad.stderr
    );
    write_file(
        dir.path(),
        "badjson.rhai",
        "parse_json(\"{\\\"a\\\": \");\n",
    );
    let bad = run(dir.path(), "badjson.rhai", &["--no-journal"]).code(1);
    assert!(bad.stderr.contains("not JSON at line 1"), "{}", bad.stderr);
}

/// `fail(message, help)` is the runbook's own words: no caret, no call frames.
#[test]
fn fail_reports_the_message_and_help_without_a_source_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "f.rhai",
        "fn gate() {\n  fail(\"the cluster has 2 members; this runbook needs 3\", \"add a member first\");\n}\nstep(\"gate\", || gate());\n",
    );
    let out = run(dir.path(), "f.rhai", &["--no-journal"]).code(1);
    let stderr = out.stderr_unwrapped();
    assert!(stderr.contains("runbook::failed"), "{stderr}");
    assert!(
        stderr.contains("× the cluster has 2 members; this runbook needs 3"),
        "{stderr}"
    );
    assert!(stderr.contains("help: add a member first"), "{stderr}");
    assert!(!stderr.contains("╭─["), "no source excerpt: {stderr}");
    assert!(!stderr.contains("was called here"), "{stderr}");
}

/// A failed step shows its error once: no frame for the closure `step` called.
#[test]
fn a_failed_step_is_reported_without_the_closures_frame() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "s.rhai",
        "fn check() { throw \"boom\"; }\nstep(\"one\", || {\n  check();\n});\n",
    );
    let out = run(dir.path(), "s.rhai", &["--no-journal"]).code(1);
    let stderr = out.stderr_unwrapped();
    assert!(stderr.contains("× boom"), "{stderr}");
    assert!(
        stderr.contains("`check` was called here"),
        "the named function's frame stays: {stderr}"
    );
    assert!(!stderr.contains("a closure was called here"), "{stderr}");
    assert_eq!(
        stderr.matches("runbook::script::call").count(),
        1,
        "{stderr}"
    );
}

/// `wait` sleeps as long as asked, and Ctrl-C ends it (and the run) at once.
#[test]
fn wait_sleeps_and_ctrl_c_ends_it_at_once() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "w.rhai",
        "step(\"short\", || wait(\"1500ms\"));\nstep(\"long\", || wait(\"10m\"));\nprint(\"not reached\");\n",
    );
    let mut running =
        crate::support::running::Running::start(Runbook::new().current_dir(dir.path()).args([
            "run",
            "w.rhai",
            "--no-journal",
        ]));
    let started = Instant::now();
    running.wait_for_step_done("short", Duration::from_secs(20));
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    running.wait_for_step_start("long", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: the pid is the child this test started and still owns.
    unsafe { libc::kill(running.pid(), libc::SIGINT) };
    let interrupted = Instant::now();
    let finished = running.finish(Duration::from_secs(20));
    assert!(
        interrupted.elapsed() < Duration::from_secs(5),
        "{:?}",
        interrupted.elapsed()
    );
    assert_eq!(finished.code, 130, "{}", finished.stderr);
    assert!(!finished.stdout.contains("not reached"));
}

/// An `always` step runs again on `--resume`; the others are skipped as finished.
#[test]
fn an_always_step_runs_again_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "g.rhai",
        r#"
step("prepare", || print("prepare ran"));
step("gate", #{always: true}, || print("gate ran"));
step("work", || {
    if !inventory.host("localhost").exists(`${inventory.variable("dir")}/go`) { throw "not yet"; }
    print("work ran");
});
"#,
    );
    let var = format!("dir={}", dir.path().display());
    let first = run(dir.path(), "g.rhai", &["-e", &var]).code(1);
    assert!(
        first.stdout.contains("prepare ran\ngate ran\n"),
        "{}",
        first.stdout
    );
    std::fs::write(dir.path().join("go"), "").unwrap();
    let resumed = run(dir.path(), "g.rhai", &["-e", &var, "--resume"]).success();
    assert_eq!(resumed.stdout, "gate ran\nwork ran\n", "{}", resumed.stderr);
    assert!(
        resumed.stderr.contains("--- step prepare: skipped"),
        "{}",
        resumed.stderr
    );

    write_file(dir.path(), "o.rhai", "step(\"x\", #{alway: true}, || 1);\n");
    let bad = run(dir.path(), "o.rhai", &["--no-journal"]).code(1);
    assert!(
        bad.stderr.contains("step has no option `alway`"),
        "{}",
        bad.stderr
    );
}

/// `--no-journal` writes nothing and never refuses; it cannot be combined with `--resume`.
#[test]
fn no_journal_records_nothing_and_refuses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "r.rhai",
        "step(\"a\", || print(\"a ran\"));\nthrow \"stop\";\n",
    );
    for _ in 0..2 {
        let out = run(dir.path(), "r.rhai", &["--no-journal"]).code(1);
        assert!(out.stdout.contains("a ran"), "{}", out.stdout);
    }
    assert!(
        !dir.path().join(".runbook").exists(),
        "no journal directory"
    );
    let both = run(dir.path(), "r.rhai", &["--no-journal", "--resume"]).code(2);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
}

/// Two runbooks of the same file name in different directories keep separate journals:
/// one's unfinished run neither blocks nor is resumed by the other.
#[test]
fn runbooks_of_the_same_name_keep_separate_journals() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    write_file(
        &dir.path().join("a"),
        "backup.rhai",
        "step(\"a1\", || print(\"a1 ran\"));\nthrow \"a fails\";\n",
    );
    write_file(
        &dir.path().join("b"),
        "backup.rhai",
        "step(\"b1\", || print(\"b1 ran\"));\n",
    );
    run(dir.path(), "a/backup.rhai", &[]).code(1);
    let other = run(dir.path(), "b/backup.rhai", &[]).success();
    assert!(
        other.stdout.contains("b1 ran"),
        "not blocked by a/backup.rhai: {}",
        other.stderr
    );
    let journals: Vec<String> = std::fs::read_dir(dir.path().join(".runbook"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(journals.len(), 2, "{journals:?}");
    let a_journal = std::fs::read_to_string(dir.path().join(".runbook/backup.journal")).unwrap();
    let first: serde_json::Value = serde_json::from_str(a_journal.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["script"],
        dir.path()
            .join("a/backup.rhai")
            .canonicalize()
            .unwrap()
            .display()
            .to_string(),
        "the journal records the runbook's absolute path"
    );
    assert!(
        a_journal.lines().any(|l| l.contains("step_finished")) && !a_journal.contains("\"facts\""),
        "a runbook that touches no etcd member journals no facts: {a_journal}"
    );
    // Still a's: a plain rerun of a is refused as unfinished, its resume goes on.
    run(dir.path(), "a/backup.rhai", &[]).code(2);
}

/// `copy_to` moves a file from a local host to one reached over real ssh through runbook:
/// the bytes on disk and `sha256sum` agree with the source, the copy is private, a second
/// copy finds it in place, and a destination with other bytes is refused and kept.
#[test]
fn copy_to_streams_a_file_between_hosts_with_a_checksum_at_both_ends() {
    let sshd = crate::support::sshd::Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("snap.db");
    // Over one chunk (16 MiB) and not a multiple of it, with every byte value.
    let data: Vec<u8> = (0..(17u32 << 20) + 12345)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&source, &data).unwrap();
    let dest = dir.path().join("backups/nested/snap.db");
    write_file(
        dir.path(),
        "inventory.ini",
        &format!(
            "[all]\nhere ansible_connection=local\nthere ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file=\"{}\" runbook_ssh_known_hosts_file=\"{}\" ansible_ssh_timeout=5s\n",
            sshd.address,
            sshd.port,
            sshd.user,
            sshd.key.display(),
            sshd.known_hosts.display()
        ),
    );
    write_file(
        dir.path(),
        "copy.rhai",
        &format!(
            r#"
let here = inventory.host("here");
let there = inventory.host("there");
let first = here.copy_to("{src}", there, "{dest}");
print(`first=${{first.bytes}} ${{first.sha256}} ${{first.already}}`);
let again = here.copy_to("{src}", there, "{dest}");
print(`again=${{again.already}}`);
there.write_blob("{dest}.other", blob(3, 7));
try {{
    here.copy_to("{src}", there, "{dest}.other");
}} catch (e) {{
    print(`refused=${{e.code}}`);
}}
"#,
            src = source.display(),
            dest = dest.display()
        ),
    );
    let out = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "copy.rhai", "-i", "inventory.ini", "--no-journal"])
        .run()
        .success();
    let printed = |name: &str| crate::support::command::printed(&out.stdout, name);
    let sha = std::process::Command::new("sha256sum")
        .arg(&source)
        .output()
        .unwrap();
    let sha = String::from_utf8_lossy(&sha.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(printed("first"), format!("{} {sha} false", data.len()));
    assert_eq!(std::fs::read(&dest).unwrap(), data, "the bytes on disk");
    assert_eq!(crate::support::files::mode(&dest), 0o600);
    assert!(!dest.with_extension("db.runbook-copy").exists());
    assert_eq!(printed("again"), "true");
    assert_eq!(printed("refused"), "runbook::host::copy_exists");
    assert_eq!(
        std::fs::read(dir.path().join("backups/nested/snap.db.other")).unwrap(),
        vec![7u8; 3]
    );
}
