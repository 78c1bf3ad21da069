//! `runbook debug` and `runbook run --step` on a real terminal (tmux): breakpoints by
//! line and function, step, finish, next, backtrace, printing and evaluating at a stop,
//! where a breakpoint stops in an operator's runbook (step closures, filter closures,
//! lines inside a statement), asking before the first change, and answering
//! yes / no / continue before each step.

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

/// An operator's runbook: a filter closure, a statement over three lines, a loop, and a
/// step whose closure captures a variable.
const OPERATOR: &str = "\
let members = [#{name: \"a\", state: \"up\"}, #{name: \"b\", state: \"down\"}, #{name: \"c\", state: \"up\"}];
let healthy = members.filter(|m| m.state == \"up\");
let total = members.len()
    + healthy.len()
    + 0;
let target = \"b\";
for m in healthy {
    print(`member ${m.name}`);
}
step(\"restart\", || {
    let who = target;
    print(`restarting ${who}`);
});
let last = total;
last
";

fn debug_operator(dir: &Path, args: &[&str]) -> Terminal {
    write_file(dir, "operator.rhai", OPERATOR);
    let mut all = vec!["debug", "operator.rhai"];
    all.extend_from_slice(args);
    let t = Terminal::start(&all, dir, &[]);
    t.wait_for(PROMPT);
    t
}

#[test]
fn a_breakpoint_in_a_step_closure_stops_when_the_step_runs() {
    let dir = tempfile::tempdir().unwrap();
    let t = debug_operator(dir.path(), &["--break", "11"]);
    let screen = t.screen();
    // Not when the closure is made (its capture of `target` is on line 11): when it runs.
    let started = screen
        .find("==> step restart")
        .expect("the step has started");
    let stopped = screen
        .find("breakpoint 1: operator.rhai:11")
        .expect("a stop");
    assert!(started < stopped, "{screen}");
    let stop = &screen[stopped..];
    assert!(stop.contains("=>   11 |     let who = target;"), "{screen}");
    assert!(screen.contains("member c"), "{screen}");
    let screen = command(&t, "p target");
    assert!(since(&screen, "p target").contains("\n\"b\"\n"), "{screen}");
    let screen = command(&t, "next");
    assert!(
        since(&screen, "debug> next").contains("=>   12 |     print(`restarting ${who}`);"),
        "{screen}"
    );
    let screen = command(&t, "p who");
    assert!(since(&screen, "p who").contains("\n\"b\"\n"), "{screen}");
    let screen = command(&t, "bt");
    let trace = since(&screen, "debug> bt");
    assert!(
        trace.contains("#0 the closure at operator.rhai:12"),
        "{trace}"
    );
    assert!(trace.contains("(calls step)"), "{trace}");
    let screen = command(&t, "c");
    assert!(screen.contains("restarting b"), "{screen}");
    let screen = t.wait_for("[exit 0]");
    assert_eq!(screen.matches("breakpoint 1:").count(), 1, "{screen}");
}

#[test]
fn a_breakpoint_stops_once_per_statement_run_and_continue_only_at_breakpoints() {
    let dir = tempfile::tempdir().unwrap();
    // 2: the filter line (its closure runs once per member); 8: the loop's body, two passes.
    let t = debug_operator(dir.path(), &["--break", "2", "--break", "8"]);
    let screen = t.screen();
    assert!(
        screen.contains("=>    2 | let healthy = members.filter(|m| m.state == \"up\");"),
        "{screen}"
    );
    let screen = command(&t, "c");
    let stop = since(&screen, "debug> c");
    assert!(stop.contains("breakpoint 2: operator.rhai:8"), "{stop}");
    assert!(!stop.contains("member a"), "{stop}");
    let screen = command(&t, "c");
    let stop = since(&screen, "debug> c");
    assert!(stop.contains("member a"), "{stop}");
    assert!(stop.contains("breakpoint 2: operator.rhai:8"), "{stop}");
    let screen = command(&t, "c");
    let end = since(&screen, "debug> c");
    assert!(
        end.contains("member c") && end.contains("restarting b"),
        "{end}"
    );
    let screen = t.wait_for("[exit 0]");
    // One stop on line 2, two on line 8, and no stop anywhere else.
    assert_eq!(screen.matches("breakpoint 1:").count(), 1, "{screen}");
    assert_eq!(screen.matches("breakpoint 2:").count(), 2, "{screen}");
    assert_eq!(screen.matches("\nat operator.rhai:").count(), 3, "{screen}");
}

#[test]
fn a_line_that_starts_no_statement_stops_at_the_next_that_does() {
    let dir = tempfile::tempdir().unwrap();
    // Line 4 continues the statement of line 3.
    let t = debug_operator(dir.path(), &["--break", "4"]);
    let screen = t.screen();
    assert!(
        screen.contains(
            "breakpoint 1: operator.rhai:6 (line 4 starts no statement; it stops at line 6, the next that does)"
        ),
        "{screen}"
    );
    assert!(screen.contains("=>    6 | let target = \"b\";"), "{screen}");
    let screen = command(&t, "p total");
    assert!(since(&screen, "p total").contains("\n5\n"), "{screen}");
    let screen = command(&t, "next");
    assert!(
        since(&screen, "debug> next").contains("=>    7 | for m in healthy {"),
        "{screen}"
    );
    let screen = command(&t, "next");
    assert!(
        since(&screen, "debug> next").contains("=>    8 |     print(`member ${m.name}`);"),
        "{screen}"
    );
    command(&t, "break 10");
    let screen = command(&t, "c");
    assert!(
        since(&screen, "debug> c").contains("=>   10 | step(\"restart\", || {"),
        "{screen}"
    );
    // next goes over the step's closure: the step runs and the stop is after it.
    let screen = command(&t, "next");
    let over = since(&screen, "debug> next");
    assert!(over.contains("restarting b"), "{over}");
    assert!(over.contains("=>   14 | let last = total;"), "{over}");
    command(&t, "c");
    t.wait_for("[exit 0]");

    write_file(dir.path(), "operator.rhai", OPERATOR);
    Runbook::new()
        .current_dir(dir.path())
        .args(["debug", "operator.rhai", "--break", "40"])
        .run()
        .code(2)
        .stderr_has("operator.rhai:40 is past the last statement, which starts on line 15");
}

#[test]
fn debug_asks_before_the_first_change_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let script = format!(
        "let h = inventory.hosts()[0];\nh.run(\"touch {}\");\n\"done\"\n",
        marker.display()
    );
    write_file(dir.path(), "change.rhai", &script);
    let t = Terminal::start(&["debug", "change.rhai"], dir.path(), &[]);
    t.wait_for(PROMPT);
    t.line("c");
    t.wait_for("Continue? [y/N]");
    let screen = t.screen();
    assert!(
        screen.contains(&format!(
            "The first change of this run: run `touch {}` on localhost",
            marker.display()
        )),
        "{screen}"
    );
    t.line("n");
    let screen = t.wait_for("[exit 1]");
    assert!(
        screen.contains("not confirmed: nothing was changed"),
        "{screen}"
    );
    assert!(!marker.exists());

    let t = Terminal::start(&["debug", "change.rhai", "--yes"], dir.path(), &[]);
    t.wait_for(PROMPT);
    t.line("c");
    let screen = t.wait_for("[exit 0]");
    assert!(!screen.contains("Continue?"), "{screen}");
    assert!(marker.exists());
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
