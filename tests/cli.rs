//! The command line itself: help, completions, usage errors, output formats.

use crate::support::command::{write_file, Runbook};

#[test]
fn every_subcommand_has_help() {
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["lab", "--help"],
        vec!["lab", "up", "--help"],
        vec!["lab", "down", "--help"],
        vec!["lab", "status", "--help"],
        vec!["completions", "--help"],
    ] {
        let run = Runbook::new().args(&args).run().success();
        assert!(
            run.stdout.contains("Usage: runbook"),
            "{args:?}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    Runbook::new()
        .args(["completions", "bash"])
        .run()
        .success()
        .stdout_has("_runbook()");
    Runbook::new()
        .args(["completions", "zsh"])
        .run()
        .success()
        .stdout_has("#compdef runbook");
    Runbook::new()
        .args(["completions", "fish"])
        .run()
        .success()
        .stdout_has("complete -c runbook");
}

#[test]
fn bad_usage_exits_2() {
    Runbook::new()
        .args(["run"])
        .run()
        .code(2)
        .stderr_has("<SCRIPT>");
    Runbook::new().args(["frobnicate"]).run().code(2);
    Runbook::new()
        .args(["run", "x.rhai", "-e", "novalue"])
        .run()
        .code(2)
        .stderr_has("is not NAME=VALUE");
}

#[test]
fn print_goes_to_stdout_and_json_mode_writes_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "hello.rhai",
        "print(\"hello\");\n#{answer: 42}\n",
    );
    let human = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "hello.rhai"])
        .run()
        .success();
    assert!(human.stdout.starts_with("hello\n"), "{}", human.stdout);

    let json = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "hello.rhai", "--output", "json"])
        .run()
        .success();
    let lines: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert_eq!(lines[0]["event"], "print");
    assert_eq!(lines[0]["message"], "hello");
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "result");
    assert_eq!(last["result"]["status"], "ok");
    assert_eq!(last["result"]["value"]["answer"], 42);
}

#[test]
fn globals_are_visible_inside_functions_and_locals_shadow_them() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "inv.ini",
        "[etcd]\netcd-1 ansible_connection=local\netcd-2 ansible_connection=local\n",
    );
    write_file(
        dir.path(),
        "globals.rhai",
        "fn count() { inventory.group(\"etcd\").len() }\nprint(`in fn: ${count()}`);\nlet f = |x| inventory.hosts().len() + x;\nprint(`in closure: ${f.call(1)}`);\n{\n  let inventory = \"mine\";\n  print(`shadowed: ${inventory}`);\n}\n",
    );
    Runbook::new()
        .current_dir(dir.path())
        .args(["run", "globals.rhai", "-i", "inv.ini"])
        .run()
        .success()
        .stdout_has("in fn: 2\nin closure: 3\nshadowed: mine\n");
}

#[test]
fn every_global_is_defined() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "types.rhai",
        "fn in_fn() { [type_of(inventory), type_of(etcd), type_of(lease), type_of(master)] }\nprint(in_fn());\n",
    );
    Runbook::new()
        .current_dir(dir.path())
        .args(["run", "types.rhai"])
        .run()
        .success()
        .stdout_has("[\"Inventory\", \"Etcd\", \"Lease\", \"Master\"]");
}

#[test]
fn shipped_runbooks_are_listed_and_found_by_name() {
    let listed = Runbook::new().arg("list").run().success();
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.starts_with("v2-to-v3.rhai") && l.contains("OpenShift 3.x etcd v2 -> v3")),
        "{}",
        listed.stdout
    );
    // By name from anywhere: an inventory without [etcd] is embedded etcd, and the shipped
    // preflight looks for the master's etcdConfig.
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "inv.ini",
        "[masters]\nm1 ansible_connection=local\n",
    );
    Runbook::new()
        .current_dir(dir.path())
        .args(["run", "v2-to-v3", "-i", "inv.ini"])
        .run()
        .code(1)
        .stderr_has("/etc/origin/master/master-config.yaml does not exist on m1");
    // An empty [etcd] with one master is etcd embedded in it, to the primitives as to the
    // stdlib: its client port, data dir, service and the master's client certificate.
    write_file(
        dir.path(),
        "embedded.ini",
        "[etcd]\n\n[masters]\nm1 ansible_connection=local openshift_release=v3.6\n",
    );
    write_file(
        dir.path(),
        "health.rhai",
        "import \"openshift\" as os;\nlet m = os::etcd_hosts()[0];\nprint(`${m.name} ${m.vars.runbook_etcd_layout} ${m.vars.etcd_data_dir} ${m.vars.etcd_service}`);\nlet h = etcd.health().members[0];\nprint(`${h.endpoint} ${h.error}`);\n",
    );
    Runbook::new()
        .current_dir(dir.path())
        .args(["run", "health.rhai", "-i", "embedded.ini"])
        .run()
        .success()
        .stdout_has("m1 embedded /var/lib/origin/openshift.local.etcd atomic-openshift-master\n")
        .stdout_has("https://m1:4001 cannot read the TLS files of openshift.local: /etc/origin/master/ca-bundle.crt does not exist on m1");
    // A file in the current directory wins over the shipped one (in a directory of its
    // own: the failed run above left its journal here).
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "v2-to-v3.rhai", "print(\"local copy\");\n");
    Runbook::new()
        .current_dir(dir.path())
        .args(["run", "v2-to-v3.rhai"])
        .run()
        .success()
        .stdout_has("local copy");
    Runbook::new()
        .current_dir(dir.path())
        .args(["run", "nonexistent"])
        .run()
        .code(2)
        .stderr_has("no shipped runbook of that name");
}

#[test]
fn outage_sets_the_migration_order_and_a_different_e_value_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "order.rhai",
        "print(`order ${inventory.host(\"localhost\").vars.runbook_outage}`);\n",
    );
    let order = |args: &[&str]| {
        Runbook::new()
            .current_dir(dir.path())
            .args(["run", "order.rhai"])
            .args(args)
            .run()
    };
    assert!(order(&[]).success().stdout.contains("order minimal"));
    for args in [
        &["--outage", "classic"][..],
        &["-e", "runbook_outage=classic"],
        &["--outage", "classic", "-e", "runbook_outage=classic"],
    ] {
        let run = order(args).success();
        assert!(
            run.stdout.contains("order classic"),
            "{args:?}: {}",
            run.stdout
        );
    }
    let refused = order(&["--outage", "classic", "-e", "runbook_outage=minimal"]).code(2);
    assert!(
        refused.stderr_unwrapped().contains(
            "--outage classic and -e runbook_outage=minimal ask for different orders: give one of them"
        ),
        "{}",
        refused.stderr
    );
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    order(&["--outage", "fast"])
        .code(2)
        .stderr_has("[possible values: minimal, classic]");
}

/// A failed run under `--output json` puts its error where a machine reads the result:
/// on stdout, with the code, message, help and location; the exit code is unchanged.
#[test]
fn json_mode_reports_a_failure_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "x.rhai", "let a = 1;\nthrow \"boom\";\n");
    let failed = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "x.rhai", "--output", "json"])
        .run()
        .code(1);
    let result = crate::support::command::json_result(&failed.stdout);
    assert_eq!(result["status"], "error", "{}", failed.stdout);
    assert_eq!(result["exit_code"], 1);
    assert_eq!(result["code"], "runbook::script::thrown");
    assert_eq!(result["message"], "boom");
    assert_eq!(result["location"], "x.rhai:2:1");
    assert!(
        result["help"].as_str().unwrap().contains("threw"),
        "{result}"
    );

    let missing = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "missing.rhai", "--output", "json"])
        .run()
        .code(2);
    let result = crate::support::command::json_result(&missing.stdout);
    assert_eq!(result["code"], "runbook::run::unreadable");
    assert_eq!(result["exit_code"], 2);
}
