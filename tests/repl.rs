//! `runbook repl` on a real terminal (tmux): completion, history kept across sessions,
//! multi-line input, recovery after an error, and Ctrl-C stopping a running command
//! (and its process) without ending the session.

use crate::support::command::write_file;
use crate::support::terminal::Terminal;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

const INVENTORY: &str = "\
[etcd]
etcd-1 ansible_connection=local

[masters]
master-1 ansible_connection=local
";

const PROMPT: &str = "runbook> ";

/// Enters one complete input and waits for the next prompt (typing ahead of the
/// prompt is lost: the line editor flushes pending input when it starts a line).
fn enter(t: &Terminal, text: &str) {
    let before = t.screen().matches(PROMPT).count();
    t.line(text);
    t.wait_for_count(PROMPT, before + 1, Duration::from_secs(30));
}

fn repl(dir: &Path, state: &Path) -> Terminal {
    repl_with(dir, state, INVENTORY)
}

fn repl_with(dir: &Path, state: &Path, inventory: &str) -> Terminal {
    let inventory = write_file(dir, "inventory.ini", inventory);
    let terminal = Terminal::start(
        &["repl", "-i", inventory.to_str().unwrap()],
        dir,
        &[("XDG_STATE_HOME", state.to_str().unwrap())],
    );
    terminal.wait_for("runbook> ");
    terminal
}

#[test]
fn completion_multiline_input_help_and_recovery_after_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let t = repl(dir.path(), state.path());

    t.type_text("etcd.he");
    t.key("Tab");
    t.wait_for("runbook> etcd.health");
    let prompts = t.screen().matches(PROMPT).count();
    t.key("C-c"); // drops the line, as a shell does
    t.wait_for_count(PROMPT, prompts + 1, Duration::from_secs(30));

    t.type_text("inventory.host(\"etcd-");
    t.key("Tab");
    t.wait_for("runbook> inventory.host(\"etcd-1");
    enter(&t, "\").name");
    t.wait_for("=> etcd-1");

    t.line("fn double(x) {");
    t.line("    x * 2");
    enter(&t, "}");
    enter(&t, "double(21)");
    t.wait_for("=> 42");

    enter(&t, "etcd.frobnicate()");
    t.wait_for("an etcd has no method `frobnicate`");
    enter(&t, "double(50)");
    t.wait_for("=> 100");

    enter(&t, "let members = openshift::etcd_hosts();");
    enter(&t, "members.len()");
    t.wait_for("=> 1");

    write_file(
        dir.path(),
        "helpers.rhai",
        "import \"report\" as rep;\nfn triple(x) { x * 3 }\nfn framed(x) { rep::table([\"n\"], [[x]]) }\nlet loaded = 5;\n",
    );
    enter(&t, ":load helpers.rhai");
    t.wait_for("loaded helpers.rhai");
    enter(&t, "triple(loaded)");
    t.wait_for("=> 15");
    enter(&t, "framed(7).len() > 0");
    t.wait_for("=> true");

    enter(&t, ":help lease.attach");
    t.wait_for("lease.attach(prefix, duration");
    enter(&t, "let answer = double(4);");
    enter(&t, ":vars");
    t.wait_for("answer: i64 = 8");
    enter(&t, ":hosts");
    let screen = t.wait_for("master-1             all, masters");
    assert!(
        screen.contains("etcd-1               all, etcd"),
        "{screen}"
    );

    t.line(":quit");
    t.wait_for("[exit 0]");
}

#[test]
fn history_is_kept_across_sessions_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let first = repl(dir.path(), state.path());
    enter(&first, "print(\"from the first session\")");
    first.wait_for_count("from the first session", 2, Duration::from_secs(30));
    first.key("C-d");
    first.wait_for("[exit 0]");
    drop(first);

    let file = state.path().join("runbook").join("repl_history");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "history file mode");
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("print(\"from the first session\")"));

    let second = repl(dir.path(), state.path());
    second.key("Up");
    second.wait_for("runbook> print(\"from the first session\")");
    enter(&second, "");
    second.wait_for_count("from the first session", 2, Duration::from_secs(30));
    second.line(":quit");
    second.wait_for("[exit 0]");
}

#[test]
fn ctrl_c_stops_the_running_command_and_its_process_but_not_the_session() {
    ctrl_c_in_a_session(INVENTORY, "etcd-1");
}

/// Runs `sleep 30` on `host` at the prompt, presses Ctrl-C, and checks that the command
/// and its process end within 2 s and that the next command runs.
fn ctrl_c_in_a_session(inventory: &str, host: &str) {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let t = repl_with(dir.path(), state.path(), inventory);
    enter(&t, &format!("let h = inventory.host(\"{host}\");"));
    t.line(&format!(
        "h.run(\"echo $$ > {} && exec sleep 30\")",
        pid_file.display()
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    let pid: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "the command never started; the screen:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let proc_dir = format!("/proc/{pid}");
    assert!(Path::new(&proc_dir).exists());

    let pressed = Instant::now();
    t.key("C-c");
    t.wait_for("interrupted");
    let stopped_after = pressed.elapsed();
    assert!(
        stopped_after < Duration::from_secs(2),
        "took {stopped_after:?}"
    );
    let gone = Instant::now() + Duration::from_secs(2);
    while Path::new(&proc_dir).exists() && Instant::now() < gone {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!Path::new(&proc_dir).exists(), "sleep {pid} still runs");

    // The session goes on, and its next command is not cancelled.
    enter(&t, "h.run(\"echo still here\")");
    t.wait_for("=> still here");
    t.line(":quit");
    t.wait_for("[exit 0]");
}

#[test]
fn against_a_lab_reports_print_as_tables() {
    let lab = crate::support::lab::TestLab::up(&["--tls", "--keys", "20"]);
    let state = tempfile::tempdir().unwrap();
    let t = Terminal::start(
        &["repl", "--lab", lab.dir.to_str().unwrap()],
        &lab.dir,
        &[("XDG_STATE_HOME", state.path().to_str().unwrap())],
    );
    t.wait_for(PROMPT);
    enter(&t, "etcd.health()");
    let screen = t.screen();
    for member in ["etcd-1", "etcd-2", "etcd-3"] {
        let row = screen
            .lines()
            .find(|l| l.starts_with(&format!("| {member} ")))
            .unwrap_or_else(|| panic!("no row for {member}:\n{screen}"));
        assert_eq!(
            row.matches("| true ").count(),
            2,
            "v2 and v3 healthy: {row}"
        );
    }
    enter(&t, "etcd.status()");
    t.wait_for("RAFT INDEX");
    enter(&t, "etcd.v3_key_count()");
    t.wait_for("=> 0");
    enter(&t, "inventory.group(\"etcd\").len()");
    t.wait_for("=> 3");
    t.line(":quit");
    t.wait_for("[exit 0]");
}
