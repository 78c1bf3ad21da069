//! Script errors render as miette reports with the caret at the exact token,
//! the chain of calls, and the imported module's own source.

use crate::support::command::{repo_root, write_file, Runbook};

fn stdlib_dir() -> String {
    repo_root().join("stdlib").display().to_string()
}

#[test]
fn a_syntax_error_points_at_line_3_column_9_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "bad.rhai",
        "let a = 1;\nlet b = 2;\nlet c = * b;\n",
    );
    let run = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "bad.rhai"])
        .run()
        .code(2);
    let expected = "\
runbook::script::syntax

  × syntax error: Unexpected '*'
   ╭─[bad.rhai:3:9]
 2 │ let b = 2;
 3 │ let c = * b;
   ·         ┬
   ·         ╰── here
   ╰────
  help: fix the syntax at the marked token (Rhai syntax: https://rhai.rs/book/)
";
    assert_eq!(
        run.stderr.trim_end(),
        expected.trim_end(),
        "stderr:\n{}",
        run.stderr
    );
    assert_eq!(
        run.stdout, "",
        "nothing runs when the script does not parse"
    );
}

#[test]
fn a_runtime_error_inside_functions_shows_every_call_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "calls.rhai",
        "fn check(n) {\n    if n > 1 {\n        throw `too many: ${n}`;\n    }\n}\nfn outer() { check(5) }\nprint(\"before\");\nouter();\nprint(\"after\");\n",
    );
    let run = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "calls.rhai"])
        .run()
        .code(1);
    assert_eq!(
        run.stdout, "before\n",
        "the script ran up to the error and no further"
    );
    let expected = "\
runbook::script::thrown

  × too many: 5
   ╭─[calls.rhai:3:9]
 2 │     if n > 1 {
 3 │         throw `too many: ${n}`;
   ·         ──┬──
   ·           ╰── thrown here
 4 │     }
   ╰────
  help: the runbook threw this error; see the `throw` or the failed check at the marked line

Error: runbook::script::call

  × `check` was called here
   ╭─[calls.rhai:6:14]
 5 │ }
 6 │ fn outer() { check(5) }
   ·              ──┬──
   ·                ╰── call
 7 │ print(\"before\");
   ╰────

Error: runbook::script::call

  × `outer` was called here
   ╭─[calls.rhai:8:1]
 7 │ print(\"before\");
 8 │ outer();
   · ──┬──
   ·   ╰── call
 9 │ print(\"after\");
   ╰────
";
    assert_eq!(
        run.stderr.trim_end(),
        expected.trim_end(),
        "stderr:\n{}",
        run.stderr
    );
}

#[test]
fn an_error_inside_an_imported_stdlib_module_quotes_that_module() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "inventory.ini",
        "[masters]\nmaster-1 ansible_connection=local\nmaster-2 ansible_connection=local\n",
    );
    write_file(
        dir.path(),
        "uses_stdlib.rhai",
        "import \"openshift\" as os;\n\nlet members = os::etcd_hosts();\n",
    );
    let run = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "uses_stdlib.rhai", "-i", "inventory.ini", "--stdlib"])
        .arg(stdlib_dir())
        .run()
        .code(1);
    let stderr = run.stderr.replace(&stdlib_dir(), "<stdlib>");
    let module_text = std::fs::read_to_string(repo_root().join("stdlib/openshift.rhai")).unwrap();
    let throw_line = module_text
        .lines()
        .position(|l| {
            l.contains("throw `the inventory has no hosts in [etcd] and ${masters.len()} masters")
        })
        .unwrap()
        + 1;
    let expected_header = format!("╭─[<stdlib>/openshift.rhai:{throw_line}:13]");
    assert!(
        stderr.contains("× the inventory has no hosts in [etcd] and 2 masters: etcd embedded in the master serves one"),
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&expected_header),
        "caret at the throw in the module; stderr:\n{stderr}"
    );
    let caret =
        format!("{throw_line:>3} │             throw `the inventory has no hosts in [etcd]");
    assert!(
        stderr.contains(&caret),
        "the module's own line is quoted; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("    ·             ──┬──\n    ·               ╰── thrown here"),
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("× `etcd_hosts` was called here\n   ╭─[uses_stdlib.rhai:3:19]"),
        "stderr:\n{stderr}"
    );
}

#[test]
fn a_syntax_error_in_an_imported_module_names_the_module_and_the_import() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "broken.rhai", "fn f() {\n  let = 3;\n}\n");
    write_file(
        dir.path(),
        "main.rhai",
        "let q = 1;\nimport \"broken\" as b;\n",
    );
    let run = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "main.rhai"])
        .run()
        .code(1);
    assert!(
        run.stderr
            .contains("× syntax error: Expecting name of a variable\n   ╭─[broken.rhai:2:7]"),
        "stderr:\n{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("× `broken.rhai` was imported here\n   ╭─[main.rhai:2:8]"),
        "stderr:\n{}",
        run.stderr
    );
}

#[test]
fn an_unreadable_runbook_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    Runbook::new()
        .current_dir(dir.path())
        .args(["run", "missing.rhai"])
        .run()
        .code(2)
        .stderr_has("cannot read runbook missing.rhai");
}

#[test]
fn an_unknown_or_wrongly_called_function_says_what_was_meant_in_runbook_terms() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "etcd.helth();",
            "× an etcd has no method `helth` (called as etcd.helth())",
            "help: did you mean etcd.health() -> health report?",
        ),
        (
            "let h = inventory.hosts()[0];\nh.run(5);",
            "× `host.run` was called with arguments it does not take: host.run(int)",
            "host.run(command[, #{timeout, stdin, read_only}]) -> string",
        ),
        (
            "stpe(\"restart\", || 1);",
            "× no function `stpe` (called as stpe(string, closure))",
            "help: did you mean step(name[, #{always}], || { ... }) -> value?",
        ),
        (
            "fn check_health(member) { member }\ncheck_helth(1);",
            "× no function `check_helth` (called as check_helth(int))",
            "did you mean check_health(member) (the runbook's own)?",
        ),
        (
            "let h = inventory.hosts()[0];\nh.wait_healthy();",
            "× a host has no method `wait_healthy` (called as host.wait_healthy())",
            "`wait_healthy` is a method of an etcd: etcd.wait_healthy(host[, #{timeout: \"2m\"}])",
        ),
    ];
    for (script, message, help) in cases {
        write_file(dir.path(), "typo.rhai", script);
        let run = Runbook::new()
            .current_dir(dir.path())
            .args(["run", "typo.rhai", "--no-journal"])
            .run()
            .code(1)
            .stderr_has("runbook::script::function")
            .stderr_has(message)
            .stderr_has(help);
        for internal in ["ImmutableString", "i64", "&str", "ScriptEtcd", "FnPtr"] {
            assert!(
                !run.stderr.contains(internal),
                "{internal}:\n{}",
                run.stderr
            );
        }
    }
}
