//! Privilege escalation (`ansible_become`) against a real sshd and real sudo, logging in as
//! a real non-root user: commands and file operations run as the become user, a password
//! reaches sudo and nothing else, and each way sudo can refuse gets its own diagnostic.

use crate::support::command::{run_script, Runbook};
use crate::support::running::Running;
use crate::support::sshd::Sshd;
use crate::support::user::{Sudo, TestUser};
use runbook::inventory::Host;
use runbook::transport::files::FileError;
use runbook::transport::{ConnectionTarget, RunOptions, Transport, TransportError};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A test user (with `sudo` rights) and an sshd that lets it in with the test key.
fn user_and_sshd(sudo: Sudo, defaults: &[&str]) -> (TestUser, Sshd) {
    let user = TestUser::create(sudo, defaults);
    let sshd = Sshd::start_allowing(&[&user.name]);
    user.authorize_key(&sshd.public_key());
    (user, sshd)
}

/// An inventory host reaching `sshd` as `user`, with `vars` on top.
fn host(sshd: &Sshd, user: &TestUser, vars: &[(&str, &str)]) -> Host {
    let mut host = sshd.host_as("node-1", &user.name);
    for (name, value) in vars {
        host.vars.insert(name.to_string(), (*value).into());
    }
    host
}

async fn connect(host: &Host) -> Result<Transport, TransportError> {
    let target = ConnectionTarget::from_host(host)?;
    Transport::connect(&host.name, &target, &CancellationToken::new()).await
}

async fn run(transport: &Transport, command: &str) -> String {
    let output = transport
        .run(command, &RunOptions::default(), &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    assert!(output.success(), "{command}: {output:?}");
    output.stdout_text().trim().to_string()
}

/// A root-only directory (0700) holding a root-only file (0600) of every byte value.
struct RootOnly {
    dir: tempfile::TempDir,
}

impl RootOnly {
    fn new() -> RootOnly {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let file = dir.path().join("server.key");
        std::fs::write(&file, every_byte()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        RootOnly { dir }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// Every byte value, newlines and NULs included, twice.
fn every_byte() -> Vec<u8> {
    (0..=255u8).chain((0..=255u8).rev()).collect()
}

#[tokio::test]
async fn commands_and_files_go_through_sudo_as_the_become_user() {
    let (user, sshd) = user_and_sshd(Sudo::NoPassword, &[]);
    let plain = connect(&host(&sshd, &user, &[])).await.expect("logs in");
    assert_eq!(run(&plain, "id -u").await, user.uid.to_string());

    let root = connect(&host(&sshd, &user, &[("ansible_become", "yes")]))
        .await
        .expect("logs in and becomes root");
    assert_eq!(run(&root, "id -u").await, "0");
    let nobody = connect(&host(
        &sshd,
        &user,
        &[
            ("ansible_become", "True"),
            ("ansible_become_user", "nobody"),
        ],
    ))
    .await
    .expect("becomes nobody");
    assert_eq!(run(&nobody, "id -un").await, "nobody");

    // A root-only file: read byte for byte, replaced keeping owner and mode, and a new
    // private file owned by root.
    let files = RootOnly::new();
    let cancel = CancellationToken::new();
    let key = files.file().display().to_string();
    assert_eq!(root.read_file(&key, &cancel).await.unwrap(), every_byte());
    let replacement: Vec<u8> = every_byte().into_iter().rev().chain(*b"\n\0end").collect();
    root.write_file(&key, &replacement, &cancel).await.unwrap();
    assert_eq!(std::fs::read(files.file()).unwrap(), replacement);
    let meta = std::fs::metadata(files.file()).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o600));
    let record = files.path("record.json");
    root.write_private_file(&record, b"{}\n", &cancel)
        .await
        .unwrap();
    let meta = std::fs::metadata(&record).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o600));
    assert!(root.path_exists(&key, &cancel).await.unwrap());

    // Without become, the login user is told why and what to set.
    let denied = plain.read_file(&key, &cancel).await.unwrap_err();
    let FileError::PermissionDenied { host, help, .. } = &denied else {
        panic!("{denied:?}");
    };
    assert_eq!(host, "node-1");
    assert!(help.contains("ansible_become=true for node-1"), "{help}");
    assert!(denied.to_string().contains("on node-1"), "{denied}");
    assert!(
        matches!(
            plain.path_exists(&record, &cancel).await,
            Err(FileError::PermissionDenied { .. })
        ),
        "a file the login user cannot see is not called missing"
    );
}

#[tokio::test]
async fn a_password_reaches_sudo_and_the_command_gets_its_stdin_byte_for_byte() {
    let (user, sshd) = user_and_sshd(Sudo::WithPassword, &[]);
    let root = connect(&host(
        &sshd,
        &user,
        &[
            ("ansible_become", "true"),
            ("ansible_become_pass", &user.password),
        ],
    ))
    .await
    .expect("sudo takes the password");
    assert_eq!(run(&root, "id -u").await, "0");
    // The command's input starts with what a password line would look like: sudo must
    // not take any of it.
    let mut input = format!("{}\n", user.password).into_bytes();
    input.extend(every_byte());
    let options = RunOptions {
        timeout: Some(Duration::from_secs(30)),
        stdin: Some(input.clone()),
    };
    let output = root
        .run("id -u >&2; cat", &options, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(output.code, 0, "{output:?}");
    assert_eq!(output.stdout, input);
    assert_eq!(output.stderr_text(), "0\n", "only the command's own stderr");

    // Each command asks sudo again (no cached ticket without a terminal): still fine.
    let files = RootOnly::new();
    let cancel = CancellationToken::new();
    let key = files.file().display().to_string();
    assert_eq!(root.read_file(&key, &cancel).await.unwrap(), every_byte());
    root.write_file(&key, b"new\n", &cancel).await.unwrap();
    assert_eq!(std::fs::read(files.file()).unwrap(), b"new\n");
}

#[tokio::test]
async fn sudo_s_refusals_each_have_their_diagnostic() {
    let (asks, sshd) = user_and_sshd(Sudo::WithPassword, &[]);
    let missing = connect(&host(&sshd, &asks, &[("ansible_become", "1")]))
        .await
        .err()
        .expect("refused");
    let TransportError::BecomePassword {
        host: named,
        login,
        user,
    } = &missing
    else {
        panic!("{missing:?}");
    };
    assert_eq!(
        (named.as_str(), login.as_str(), user.as_str()),
        ("node-1", asks.name.as_str(), "root")
    );
    let help = miette::Diagnostic::help(&missing).unwrap().to_string();
    assert!(help.contains("ansible_become_pass for node-1"), "{help}");
    assert!(help.contains("NOPASSWD"), "{help}");
    assert_eq!(
        miette::Diagnostic::code(&missing).unwrap().to_string(),
        "runbook::transport::become_password"
    );

    let started = Instant::now();
    let wrong = connect(&host(
        &sshd,
        &asks,
        &[
            ("ansible_become", "on"),
            ("ansible_become_pass", "not-the-password"),
        ],
    ))
    .await
    .err()
    .expect("refused");
    assert!(
        matches!(wrong, TransportError::BecomeWrongPassword { .. }),
        "{wrong:?}"
    );
    assert!(wrong.to_string().contains("node-1"), "{wrong}");
    assert!(!wrong.to_string().contains("not-the-password"), "{wrong}");
    // Asked once: sudo's retries (and their delays) are not waited for.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // sudo checks the password before the rules: a user with none is refused after it.
    let (stranger, other) = user_and_sshd(Sudo::Nothing, &[]);
    let refused = connect(&host(
        &other,
        &stranger,
        &[
            ("ansible_become", "true"),
            ("ansible_become_pass", &stranger.password),
        ],
    ))
    .await
    .err()
    .expect("refused");
    let TransportError::BecomeRefused { help, detail, .. } = &refused else {
        panic!("{refused:?}");
    };
    assert!(
        detail.said.contains("is not in the sudoers file"),
        "{detail:?}"
    );
    assert!(
        help.contains(&format!("give {} a sudoers rule on node-1", stranger.name)),
        "{help}"
    );

    let su = ConnectionTarget::from_host(&host(
        &sshd,
        &asks,
        &[("ansible_become", "true"), ("ansible_become_method", "su")],
    ))
    .unwrap_err();
    assert!(matches!(su, TransportError::BecomeMethod { .. }), "{su:?}");
    assert!(su.to_string().contains("node-1"), "{su}");
}

#[tokio::test]
async fn a_timed_out_command_run_as_root_is_killed_as_root() {
    for defaults in [&[][..], &["!use_pty"][..]] {
        let (user, sshd) = user_and_sshd(Sudo::WithPassword, defaults);
        let root = connect(&host(
            &sshd,
            &user,
            &[
                ("ansible_become", "true"),
                ("ansible_become_pass", &user.password),
            ],
        ))
        .await
        .expect("becomes root");
        let files = RootOnly::new();
        let pid_file = files.path("sleep.pid");
        let command = format!("sleep 30 & echo $! > '{pid_file}'; wait");
        let options = RunOptions {
            timeout: Some(Duration::from_secs(1)),
            stdin: None,
        };
        let started = Instant::now();
        let result = root
            .run(&command, &options, &CancellationToken::new())
            .await;
        assert!(
            matches!(result, Err(TransportError::Timeout { .. })),
            "{defaults:?}: {result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(8), "{defaults:?}");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let owner = std::fs::metadata(format!("/proc/{pid}"))
            .map(|meta| meta.uid())
            .ok();
        let gone = crate::support::etcd::wait_until(Duration::from_secs(3), || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|stat| stat.contains(") Z"))
                .unwrap_or(true)
        });
        if !gone {
            // SAFETY: kill(2) of the test's own leftover sleep before failing.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        assert!(
            gone,
            "{defaults:?}: the root sleep {pid} (owner {owner:?}) survived"
        );
    }
}

/// An INI inventory with one ssh host, `node-1`, reaching `sshd` as `user`, with `extra`.
fn inventory(dir: &Path, sshd: &Sshd, user: &TestUser, extra: &str) -> PathBuf {
    let path = dir.join("inventory.ini");
    std::fs::write(
        &path,
        format!(
            "[nodes]\nnode-1 {} {extra}\n",
            sshd.inventory_vars_as(&user.name)
        ),
    )
    .unwrap();
    path
}

/// `text` with miette's line wrapping undone: every run of whitespace (and its `│`
/// margins) as one space.
fn words(text: &str) -> String {
    text.split_whitespace()
        .filter(|word| *word != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

/// Command lines of every process.
fn command_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            lines.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
        }
    }
    lines
}

/// Every file under `dir`, as text.
fn contents_under(dir: &Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return text;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&contents_under(&path));
        } else {
            text.push_str(&String::from_utf8_lossy(
                &std::fs::read(&path).unwrap_or_default(),
            ));
        }
    }
    text
}

#[test]
fn the_become_password_is_in_no_process_argument_log_journal_or_report() {
    let (user, sshd) = user_and_sshd(Sudo::WithPassword, &[]);
    let work = tempfile::tempdir().unwrap();
    let files = RootOnly::new();
    let inventory = inventory(
        work.path(),
        &sshd,
        &user,
        &format!("ansible_become=true ansible_become_pass={}", user.password),
    );
    let target = files.path("written.txt");
    let script = format!(
        "let node = inventory.host(\"node-1\");\n\
         step(\"long\", || node.run(\"sleep 4; id -u\"));\n\
         step(\"write\", || node.write(\"{target}\", \"through sudo\\n\"));\n\
         print(`uid ${{node.run(\"id -u\")}}`);\n\
         print(`vars ${{node.vars}} asked ${{node.variable(\"ansible_become_pass\")}}`);\n"
    );
    std::fs::write(work.path().join("leak.rhai"), script).unwrap();
    let mut run = Running::start(
        Runbook::new()
            .current_dir(work.path())
            .env("RUST_LOG", "trace")
            .args(["run", "leak.rhai", "-vvv", "--yes", "-i"])
            .arg(&inventory),
    );
    run.wait_for_step_start("long", Duration::from_secs(30));
    // Every process's arguments while the long command runs through sudo.
    let mut seen_sudo = false;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        for line in command_lines() {
            assert!(!line.contains(&user.password), "in ps: {line}");
            seen_sudo |= line.contains("sudo -H -S -p");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let finished = run.finish(Duration::from_secs(60));
    let finished = finished
        .success()
        .stdout_has("uid 0")
        .stdout_has("asked (hidden)")
        .stdout_has("\"ansible_become_pass\": \"(hidden)\"");
    assert!(seen_sudo, "no sudo seen in ps during the run");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "through sudo\n");
    assert_eq!(std::fs::metadata(&target).unwrap().uid(), 0);
    assert!(
        finished.stderr.contains("TRACE") || finished.stderr.contains("DEBUG"),
        "{}",
        finished.stderr
    );
    for (place, text) in [
        ("stdout", finished.stdout.clone()),
        ("stderr", finished.stderr.clone()),
        ("the journal", contents_under(&work.path().join(".runbook"))),
        ("the sshd log", sshd.log()),
    ] {
        assert!(!text.is_empty() || place == "stdout", "{place} is empty");
        assert!(!text.contains(&user.password), "the password is in {place}");
    }
    assert!(
        !contents_under(&work.path().join(".runbook")).is_empty(),
        "no journal written"
    );
}

#[test]
fn refusals_stop_the_run_before_anything_changes() {
    let (user, sshd) = user_and_sshd(Sudo::WithPassword, &[]);
    let work = tempfile::tempdir().unwrap();
    let files = RootOnly::new();
    let target = files.path("untouched.txt");
    std::fs::write(&target, "before\n").unwrap();
    let script = format!("inventory.host(\"node-1\").write(\"{target}\", \"after\\n\");\n");

    let cases = [
        (
            "ansible_become=true",
            "runbook::transport::become_password",
            "ansible_become_pass",
        ),
        (
            "ansible_become=true ansible_become_pass=wrong-one",
            "runbook::transport::become_wrong_password",
            "fix ansible_become_pass for node-1",
        ),
        (
            "",
            "runbook::file::permission",
            "ansible_become=true for node-1",
        ),
        (
            "ansible_ssh_pass=secret-ssh",
            "runbook::transport::ssh_password",
            "ansible_ssh_private_key_file",
        ),
        (
            "ansible_become=true ansible_become_method=su",
            "runbook::transport::become_method",
            "ansible_become_method=sudo",
        ),
    ];
    for (vars, code, fix) in cases {
        let inventory = inventory(work.path(), &sshd, &user, vars);
        let accepted_before = sshd.log().matches("Accepted publickey").count();
        let finished = run_script(work.path(), &inventory, "write.rhai", &script);
        assert_ne!(finished.code, 0, "{vars}: {}", finished.stderr);
        let said = words(&finished.stderr);
        assert!(said.contains(code), "{vars}: {said}");
        assert!(said.contains("node-1"), "{vars}: {said}");
        assert!(said.contains(fix), "{vars}: {said}");
        assert!(!said.contains("unhealthy"), "{vars}: {said}");
        assert!(
            !said.contains("secret-ssh") && !said.contains("wrong-one"),
            "{vars}: {said}"
        );
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "before\n",
            "{vars}"
        );
        if vars.contains("ansible_ssh_pass") || vars.contains("become_method") {
            assert_eq!(
                sshd.log().matches("Accepted publickey").count(),
                accepted_before,
                "{vars}: connected anyway"
            );
        }
    }
}

#[test]
fn runbook_as_a_non_root_user_becomes_root_on_a_local_host() {
    let user = TestUser::create(Sudo::NoPassword, &[]);
    let work = user.own_dir("work");
    let files = RootOnly::new();
    let key = files.file().display().to_string();
    std::fs::write(
        work.join("inventory.ini"),
        "[nodes]\nlocal-1 ansible_connection=local ansible_become=true\nlocal-2 ansible_connection=local\n",
    )
    .unwrap();
    std::fs::write(
        work.join("local.rhai"),
        format!(
            "let up = inventory.host(\"local-1\");\n\
             print(`uid ${{up.run(\"id -u\")}} bytes ${{up.read_blob(\"{key}\").len()}}`);\n\
             inventory.host(\"local-2\").read_blob(\"{key}\");\n"
        ),
    )
    .unwrap();
    std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{0}:{0}", user.name))
        .arg(&work)
        .status()
        .unwrap();
    let finished = Runbook::new()
        .run_as(user.uid, user.gid)
        .args(["run", "local.rhai", "-i", "inventory.ini"])
        .current_dir(&work)
        .run();
    let stderr = words(&finished.stderr);
    assert!(
        finished.stdout.contains("uid 0 bytes 512"),
        "{}\n{stderr}",
        finished.stdout
    );
    // The host without become reads as runbook's own user, and is told what to set.
    assert_ne!(finished.code, 0);
    assert!(stderr.contains("runbook::file::permission"), "{stderr}");
    assert!(
        stderr.contains("ansible_become=true for local-2"),
        "{stderr}"
    );
    assert!(stderr.contains("run runbook as a user who may"), "{stderr}");
}
