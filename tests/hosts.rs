//! Runbooks that use `host.run`, `host.read/write/exists` and `host.service`
//! on local hosts and on ssh hosts reached through a real sshd.

use crate::support::command::{write_file, Runbook};
use std::path::Path;

/// The script every transport must pass; it prints what the test checks.
const HOST_SCRIPT: &str = r#"
let h = inventory.host("box");
let dir = inventory.variable("work_dir");

print(`run: ${h.run("echo hello; echo ignored >&2")}`);
print(`stdin: ${h.run("tr a-z A-Z", #{stdin: "shout"})}`);
let r = h.try_run("echo out; echo err >&2; exit 3");
print(`try_run: ${r.code} ${r.stdout == "out"} ${r.stderr == "err\n"}`);
print(`try_run keeps inner newlines: ${h.try_run("printf 'a\\n\\nb\\n\\n'").stdout == "a\n\nb\n"}`);
try {
    h.run("echo broken >&2; exit 4");
    print("run did not throw");
} catch (e) {
    print(`caught: ${e.code}: ${e.message}`);
}

try { h.run("sleep 5", #{timeout: "300ms"}); } catch (e) { print(`timeout: ${e.code}`); }
try { h.run("true", #{timeout: "10"}); } catch (e) { print(`bad timeout: ${e.code}: ${e.help}`); }

let file = `${dir}/sub dir/it's.txt`;
h.run(`mkdir -p '${dir}/sub dir'`);
print(`exists before: ${h.exists(file)}`);
h.write(file, "line 1\nzwei – drei\n");
print(`exists after: ${h.exists(file)}`);
print(`read: ${h.read(file)}`);
h.run(`chmod 600 "${file}"`);
h.write(file, "replaced\n");
print(`mode kept: ${h.run(`stat -c %a "${file}"`)}`);

let svc = h.service("demo");
print(`active at first: ${svc.is_active()}`);
svc.start();
print(`active after start: ${svc.is_active()}`);
svc.restart();
print(`active after restart: ${svc.is_active()}`);
svc.stop();
print(`active after stop: ${svc.is_active()}`);
try {
    h.service("broken").start();
} catch (e) {
    print(`service failure: ${e.message}`);
}
"#;

/// A tiny service manager for the test: `svc.sh ACTION SERVICE`, one pid file per service.
fn write_service_script(dir: &Path) -> String {
    let script = write_file(
        dir,
        "svc.sh",
        r#"#!/bin/sh
action="$1"; name="$2"; pidfile="$(dirname "$0")/$name.pid"
if [ "$name" = broken ]; then echo "unit $name not found" >&2; exit 5; fi
alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
case "$action" in
  start) alive || { setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "$pidfile"; } ;;
  stop) if alive; then kill "$(cat "$pidfile")"; fi; rm -f "$pidfile" ;;
  restart) "$0" stop "$name" && "$0" start "$name" ;;
  is-active) alive ;;
esac
"#,
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script.display().to_string()
}

fn check_host_script_output(stdout: &str, dir: &Path) {
    let expected = [
        "run: hello".to_string(),
        "stdin: SHOUT".to_string(),
        "try_run: 3 true true".to_string(),
        "try_run keeps inner newlines: true".to_string(),
        "caught: runbook::host::command_failed: command failed on box (exit 4): `echo broken >&2; exit 4`\nstderr: broken".to_string(),
        "timeout: runbook::transport::timeout".to_string(),
        "bad timeout: runbook::duration::no_unit: add a unit: `10s` for seconds".to_string(),
        "exists before: false".to_string(),
        "exists after: true".to_string(),
        "read: line 1\nzwei – drei\n".to_string(),
        "mode kept: 600".to_string(),
        "active at first: false".to_string(),
        "active after start: true".to_string(),
        "active after restart: true".to_string(),
        "active after stop: false".to_string(),
    ];
    for line in &expected {
        assert!(
            stdout.contains(line.as_str()),
            "stdout lacks {line:?}\nstdout:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("service failure: ") && stdout.contains("unit broken not found"),
        "stdout:\n{stdout}"
    );
    let written = dir.join("sub dir/it's.txt");
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "replaced\n");
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("sub dir"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary files left behind: {leftovers:?}"
    );
}

#[test]
fn a_runbook_drives_a_local_host() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let svc = write_service_script(dir.path());
    write_file(
        dir.path(),
        "inventory.ini",
        &format!(
            "[all:vars]\nwork_dir=\"{}\"\n\n[boxes]\nbox ansible_connection=local runbook_service_command=\"{svc} {{action}} {{service}}\"\n",
            work.display()
        ),
    );
    write_file(dir.path(), "host.rhai", HOST_SCRIPT);
    let run = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "host.rhai", "-i", "inventory.ini"])
        .run()
        .success();
    check_host_script_output(&run.stdout, &work);
}

#[test]
fn a_runbook_drives_an_ssh_host() {
    let sshd = crate::support::sshd::Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let svc = write_service_script(dir.path());
    write_file(
        dir.path(),
        "inventory.ini",
        &format!(
            "[all:vars]\nwork_dir=\"{}\"\n\n[boxes]\nbox {} runbook_service_command=\"{svc} {{action}} {{service}}\"\n",
            work.display(),
            sshd.inventory_vars()
        ),
    );
    write_file(dir.path(), "host.rhai", HOST_SCRIPT);
    let run = Runbook::new()
        .current_dir(dir.path())
        .args(["run", "host.rhai", "-i", "inventory.ini"])
        .run()
        .success();
    check_host_script_output(&run.stdout, &work);
    assert!(
        sshd.log().contains("Accepted publickey"),
        "the commands went through sshd:\n{}",
        sshd.log()
    );
}

#[test]
fn run_all_runs_everywhere_and_reports_in_host_order() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "inventory.ini",
        "[etcd]\netcd-1 ansible_connection=local\netcd-2 ansible_connection=local\netcd-3 ansible_connection=local\n",
    );
    write_file(
        dir.path(),
        "all.rhai",
        r#"
let hosts = inventory.group("etcd");
let results = hosts.run_all("echo ok");
print(results.map(|r| `${r.host}=${r.stdout == "ok"}`));
let tried = hosts.try_run_all("exit 7");
print(tried.map(|r| r.code));
try { hosts.run_all("exit 9") } catch (e) { print(e.message) }
"#,
    );
    Runbook::new()
        .current_dir(dir.path())
        .args(["run", "all.rhai", "-i", "inventory.ini"])
        .run()
        .success()
        .stdout_has("[\"etcd-1=true\", \"etcd-2=true\", \"etcd-3=true\"]")
        .stdout_has("[7, 7, 7]")
        .stdout_has("3 of 3 hosts failed:\ncommand failed on etcd-1 (exit 9)");
}
