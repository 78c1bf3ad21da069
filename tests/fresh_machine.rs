//! `.ci/fresh-machine-check`: what the build and the tests need from the machine, each
//! requirement proven by what it does. The suite runs after `.ci/install-deps`, so on the
//! machine itself every requirement holds; broken tools made in a temp dir (a protoc that
//! cannot find its includes, an etcd of the wrong line, an etcdctl without `migrate`, an
//! iptables that cannot queue packets) must each be reported missing with the package that
//! fixes it.

use crate::support::command::repo_root;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// What one run of the check printed.
struct Check {
    code: i32,
    stdout: String,
}

impl Check {
    /// The table's rows by requirement: (status, whole line).
    fn rows(&self) -> Vec<(&str, &str)> {
        self.stdout
            .lines()
            .skip(1)
            .take_while(|line| !line.is_empty())
            .map(|line| (line.split_whitespace().next().unwrap_or(""), line))
            .collect()
    }

    fn row(&self, requirement: &str) -> (&str, &str) {
        self.rows()
            .into_iter()
            .find(|(_, line)| line.contains(requirement))
            .unwrap_or_else(|| panic!("no row for {requirement:?} in:\n{}", self.stdout))
    }
}

fn run_check(args: &[&str], env: &[(&str, &str)]) -> Check {
    let mut command = Command::new("bash");
    command
        .arg(repo_root().join(".ci/fresh-machine-check"))
        .args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("bash runs the check");
    Check {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write a stand-in tool");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn every_requirement_holds_after_install_deps() {
    let check = run_check(&[], &[]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let rows = check.rows();
    assert_eq!(rows.len(), 15, "one row per requirement:\n{}", check.stdout);
    for (status, line) in &rows {
        assert_eq!(*status, "ok", "{line}");
    }
    for requirement in [
        "protoc finds protobuf's well-known types",
        "etcd 3.4 server with the v2 API",
        "etcdctl 3.4 with migrate and v2 commands",
        "sshd",
        "tmux",
        "script(1)",
        "sudo",
        "iptables",
        "python3 virtualenvs",
        "ansible-inventory",
    ] {
        assert_eq!(check.row(requirement).0, "ok");
    }
    assert!(check
        .row("etcd 3.4 server")
        .1
        .contains("etcd Version: 3.4."));
    assert!(check
        .row("ansible-inventory")
        .1
        .contains("ansible-inventory [core 2.17."));
    assert!(check.stdout.contains("every requirement is met"));

    let packages = run_check(&["--packages"], &[]);
    assert_eq!(packages.code, 0);
    assert_eq!(packages.stdout, "", "nothing to install on this machine");
}

#[test]
fn a_protoc_without_the_well_known_types_needs_libprotobuf_dev() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A copy of the real protoc looks for its includes beside itself (DIR/include), which is
    // empty: the state of a machine with protobuf-compiler but no libprotobuf-dev.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin dir");
    let protoc = bin.join("protoc");
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v protoc"])
            .output()
            .expect("sh")
            .stdout,
    )
    .expect("utf-8 path");
    std::fs::copy(real.trim(), &protoc).expect("copy protoc");
    let protoc = protoc.to_str().expect("utf-8 temp path");

    let check = run_check(&[], &[("PROTOC", protoc)]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert_eq!(check.row("protoc (the etcd v3 client").0, "ok");
    let (status, line) = check.row("protoc finds protobuf's well-known types");
    assert_eq!(status, "MISSING");
    assert!(line.contains("libprotobuf-dev"), "{line}");
    assert!(
        line.contains("google/protobuf/descriptor.proto: File not found"),
        "the probe's own protoc error is shown: {line}"
    );
    assert!(
        check
            .stdout
            .contains("missing: 1 requirement(s); fix: apt-get install libprotobuf-dev"),
        "{}",
        check.stdout
    );
    let packages = run_check(&["--packages"], &[("PROTOC", protoc)]);
    assert_eq!(packages.stdout, "libprotobuf-dev\n");

    // The same protoc, told where the well-known types are, passes, as it would for the build.
    let with_include = run_check(
        &["--packages"],
        &[("PROTOC", protoc), ("PROTOC_INCLUDE", "/usr/include")],
    );
    assert_eq!(with_include.stdout, "");
}

#[test]
fn no_protoc_at_all_needs_both_protobuf_packages() {
    let check = run_check(&["--packages"], &[("PROTOC", "/nonexistent/protoc")]);
    assert_eq!(check.stdout, "protobuf-compiler\nlibprotobuf-dev\n");
}

#[test]
fn etcd_and_etcdctl_are_judged_by_what_they_do_not_by_their_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    // An etcd of another line, and an etcdctl of the right version without `migrate`.
    write_executable(
        &dir.path().join("etcd"),
        "#!/bin/sh\necho 'etcd Version: 3.5.17'\necho 'Git SHA: x'\n",
    );
    write_executable(
        &dir.path().join("etcdctl"),
        "#!/bin/sh\ncase \"$1\" in\n  version) echo 'etcdctl version: 3.4.23'; echo 'API version: 3.4' ;;\n  *) echo \"Error: unknown command \\\"$1\\\"\" >&2; exit 1 ;;\nesac\n",
    );
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").expect("PATH")
    );
    let check = run_check(&[], &[("PATH", &path)]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    let (status, line) = check.row("etcd 3.4 server");
    assert_eq!(status, "MISSING");
    assert!(line.contains("'etcd Version: 3.5.17', not 3.4"), "{line}");
    let (status, line) = check.row("etcdctl 3.4 with migrate");
    assert_eq!(status, "MISSING");
    assert!(line.contains("has no 'migrate' command"), "{line}");

    let packages = run_check(&["--packages"], &[("PATH", &path)]);
    assert_eq!(packages.stdout, "etcd-server\netcd-client\n");
}

#[test]
fn an_unknown_argument_is_refused() {
    let check = run_check(&["--bogus"], &[]);
    assert_eq!(check.code, 2);
}

#[test]
fn an_iptables_that_cannot_queue_packets_is_missing_with_its_package() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Runs and reports a version, but cannot add the NFQUEUE rule the network fault needs
    // (an iptables whose kernel lacks the target says just this).
    write_executable(
        &dir.path().join("iptables"),
        "#!/bin/sh\ncase \"$*\" in\n  -V) echo 'iptables v1.8.9 (nf_tables)' ;;\n  *NFQUEUE*) echo 'iptables: No chain/target/match by that name.' >&2; exit 1 ;;\n  *) exit 0 ;;\nesac\n",
    );
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").expect("PATH")
    );
    let check = run_check(&[], &[("PATH", &path)]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    let (status, line) = check.row("iptables (the netns lab's network fault)");
    assert_eq!(status, "MISSING");
    assert!(
        line.contains("cannot add a statistic DROP and an NFQUEUE rule: iptables: No chain/target/match by that name."),
        "{line}"
    );
    let packages = run_check(&["--packages"], &[("PATH", &path)]);
    assert_eq!(packages.stdout, "iptables\n");
}
