//! `runbook debug` and `runbook run --step` on a real terminal (tmux): breakpoints by
//! line and function, step, finish, next, backtrace, printing and evaluating at a stop,
//! and answering yes / no / continue before each step.

use crate::support::command::{write_file, Runbook};
use crate::support::terminal::Terminal;
use std::path::Path;
use std::time::Duration;

const SCRIPT: &str = "\
fn double(x) {
    let twice = x * 2;
    twice
}

let base = 20;
let total = double(base) + 1;
print(`total ${total}`);
let after = total + 1;
after
";

const PROMPT: &str = "debug> ";

/// Sends a debugger command and waits for the next prompt (or the end of the run).
fn command(t: &Terminal, text: &str) -> String {
    let before = t.screen().matches(PROMPT).count();
    t.line(text);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let screen = t.screen();
        if screen.matches(PROMPT).count() > before || screen.contains("[exit ") {
            return screen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no prompt after {text:?}:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The screen from the last `text` on.
fn since<'a>(screen: &'a str, text: &str) -> &'a str {
    &screen[screen.rfind(text).unwrap_or(0)..]
}

fn debug(dir: &Path, args: &[&str]) -> Terminal {
    write_file(dir, "numbers.rhai", SCRIPT);
    let mut all = vec!["debug", "numbers.rhai"];
    all.extend_from_slice(args);
    let t = Terminal::start(&all, dir, &[]);
    t.wait_for(PROMPT);
    t
}

#[test]
fn line_breakpoint_step_finish_next_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let t = debug(dir.path(), &["--break", "7"]);
    let screen = t.screen();
    assert!(screen.contains("breakpoint 1: numbers.rhai:7"), "{screen}");
    assert!(
        screen.contains("=>    7 | let total = double(base) + 1;"),
        "{screen}"
    );

    let screen = command(&t, "print base");
    assert!(since(&screen, "print base").contains("\n20\n"), "{screen}");
    let screen = command(&t, "base * 3 + 1");
    assert!(
        since(&screen, "base * 3 + 1").contains("\n61\n"),
        "{screen}"
    );

    let screen = command(&t, "step");
    assert!(
        since(&screen, "debug> step").contains("=>    2 |     let twice = x * 2;"),
        "{screen}"
    );
    let screen = command(&t, "p x + 1000");
    assert!(
        since(&screen, "p x + 1000").contains("\n1020\n"),
        "{screen}"
    );
    let screen = command(&t, "bt");
    let trace = since(&screen, "debug> bt");
    assert!(trace.contains("#0 double() at numbers.rhai:2"), "{trace}");
    assert!(
        trace.contains("#1 (top level) at numbers.rhai:7 (calls double)"),
        "{trace}"
    );

    let screen = command(&t, "finish");
    let finished = since(&screen, "debug> finish");
    assert!(finished.contains("double() returned 40"), "{finished}");
    assert!(
        finished.contains("=>    7 | let total = double(base) + 1;"),
        "{finished}"
    );

    let screen = command(&t, "next");
    assert!(
        since(&screen, "debug> next").contains("=>    8 | print(`total ${total}`);"),
        "{screen}"
    );
    let screen = command(&t, "p total");
    assert!(since(&screen, "p total").contains("\n41\n"), "{screen}");

    let screen = command(&t, "continue");
    assert!(screen.contains("total 41"), "{screen}");
    t.wait_for("[exit 0]");
}

#[test]
fn function_breakpoint_and_a_breakpoint_set_at_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let t = debug(dir.path(), &["--break", "double"]);
    let screen = t.screen();
    assert!(screen.contains("breakpoint 1: fn double"), "{screen}");
    assert!(
        screen.contains("=>    7 | let total = double(base) + 1;"),
        "{screen}"
    );

    let screen = command(&t, "break 9");
    assert!(
        since(&screen, "debug> break 9").contains("breakpoint 2: numbers.rhai:9"),
        "{screen}"
    );
    let screen = command(&t, "c");
    let stop = since(&screen, "debug> c");
    assert!(stop.contains("total 41"), "{stop}");
    assert!(stop.contains("=>    9 | let after = total + 1;"), "{stop}");
    let screen = command(&t, "quit");
    assert!(screen.contains("stopped in the debugger"), "{screen}");
    t.wait_for("[exit 1]");
}

#[test]
fn without_breakpoints_it_stops_before_the_first_statement() {
    let dir = tempfile::tempdir().unwrap();
    let t = debug(dir.path(), &[]);
    let screen = t.screen();
    assert!(
        screen.contains("stopped before the first statement"),
        "{screen}"
    );
    assert!(screen.contains("=>    6 | let base = 20;"), "{screen}");
    command(&t, "c");
    t.wait_for("[exit 0]");
}

#[test]
fn a_breakpoint_that_names_nothing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "numbers.rhai", SCRIPT);
    Runbook::new()
        .current_dir(dir.path())
        .args(["debug", "numbers.rhai", "--break", "nosuch.rhai:3"])
        .run()
        .code(2)
        .stderr_has("no module `nosuch.rhai` beside the runbook or in the stdlib");
    Runbook::new()
        .current_dir(dir.path())
        .args(["debug", "numbers.rhai", "--break", "0"])
        .run()
        .code(2)
        .stderr_has("a line is a number from 1");
}

#[test]
fn run_step_asks_yes_no_continue_before_each_step() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "steps.rhai",
        r#"
for name in ["one", "two", "three", "four"] {
    step(name, || print(`ran ${name}`));
}
"#,
    );
    let t = Terminal::start(&["run", "--step", "steps.rhai"], dir.path(), &[]);
    t.wait_for("Run step `one`? (y)es/(n)o/(c)ontinue: ");
    t.line("y");
    t.wait_for("Run step `two`?");
    t.line("maybe");
    t.wait_for("answer y (run it), n (skip it) or c");
    t.line("n");
    t.wait_for("Run step `three`?");
    t.line("c");
    let screen = t.wait_for("[exit 0]");
    assert!(screen.contains("ran one"), "{screen}");
    assert!(!screen.contains("ran two"), "{screen}");
    assert!(
        screen.contains("--- step two: skipped (declined)"),
        "{screen}"
    );
    assert!(
        screen.contains("ran three") && screen.contains("ran four"),
        "{screen}"
    );
    assert!(!screen.contains("Run step `four`?"), "{screen}");
}
