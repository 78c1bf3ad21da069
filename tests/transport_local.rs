//! The local transport against real processes: exit codes, output, stdin,
//! timeouts and cancellation killing the whole process group, and the file
//! operations built on top.

use runbook::transport::files::FileError;
use runbook::transport::local::LocalTransport;
use runbook::transport::{ConnectionTarget, RunOptions, Transport, TransportError, TransportPool};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn local() -> Transport {
    Transport::Local(LocalTransport::new("local-test"))
}

/// Whether `pid` has exited (no /proc entry, or a zombie waiting for its reaper).
fn pid_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

/// Polls briefly: a killed orphan is reaped by init asynchronously.
fn wait_gone(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if pid_gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn wait_for_pid(path: &Path) -> u32 {
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(Instant::now() < until, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills a leftover test process if an assertion failed before the transport did.
struct PidGuard(Option<u32>);
impl Drop for PidGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            if !pid_gone(pid) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
    }
}

#[tokio::test]
async fn runs_a_command_and_reports_exit_code_stdout_stderr() {
    let cancel = CancellationToken::new();
    let output = local()
        .run(
            "echo out; echo err >&2; exit 3",
            &RunOptions::default(),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(output.code, 3);
    assert!(!output.success());
    assert_eq!(output.stdout_text(), "out\n");
    assert_eq!(output.stderr_text(), "err\n");

    let output = local()
        .run("true", &RunOptions::default(), &cancel)
        .await
        .unwrap();
    assert!(output.success());
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn stdin_round_trips_binary_data_and_defaults_to_empty() {
    let cancel = CancellationToken::new();
    let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let options = RunOptions {
        timeout: None,
        stdin: Some(data.clone()),
    };
    let output = local().run("cat", &options, &cancel).await.unwrap();
    assert_eq!(output.code, 0);
    assert_eq!(output.stdout, data);

    // No stdin given: the command reads end-of-file at once instead of hanging.
    let output = local()
        .run("wc -c", &RunOptions::default(), &cancel)
        .await
        .unwrap();
    assert_eq!(output.stdout_text().trim(), "0");
}

#[tokio::test]
async fn a_command_killed_by_a_signal_reports_128_plus_the_signal() {
    let output = local()
        .run(
            "kill -9 $$",
            &RunOptions::default(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(output.code, 128 + 9);
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let command = format!("sleep 30 & echo $! > '{}'; wait", pid_file.display());
    let options = RunOptions {
        timeout: Some(Duration::from_millis(500)),
        stdin: None,
    };
    let started = Instant::now();
    let result = local()
        .run(&command, &options, &CancellationToken::new())
        .await;
    let pid = wait_for_pid(&pid_file);
    let _guard = PidGuard(Some(pid));
    match result {
        Err(TransportError::Timeout {
            host,
            command: shown,
            timeout,
        }) => {
            assert_eq!(host, "local-test");
            assert_eq!(shown, command);
            assert_eq!(timeout, "500ms");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        wait_gone(pid),
        "the background sleep {pid} survived the timeout"
    );
}

#[tokio::test]
async fn a_group_that_ignores_sigterm_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let command = format!(
        "trap '' TERM; sleep 30 & echo $! > '{}'; wait",
        pid_file.display()
    );
    let options = RunOptions {
        timeout: Some(Duration::from_millis(300)),
        stdin: None,
    };
    let result = local()
        .run(&command, &options, &CancellationToken::new())
        .await;
    let pid = wait_for_pid(&pid_file);
    let _guard = PidGuard(Some(pid));
    assert!(
        matches!(result, Err(TransportError::Timeout { .. })),
        "{result:?}"
    );
    assert!(wait_gone(pid), "the TERM-immune sleep {pid} survived");
}

#[tokio::test]
async fn cancellation_interrupts_within_two_seconds_and_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let command = format!("sleep 30 & echo $! > '{}'; wait", pid_file.display());
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let result = local().run(&command, &RunOptions::default(), &cancel).await;
    let elapsed = started.elapsed();
    let pid = wait_for_pid(&pid_file);
    let _guard = PidGuard(Some(pid));
    assert!(
        matches!(result, Err(TransportError::Interrupted { .. })),
        "{result:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(
        wait_gone(pid),
        "the background sleep {pid} survived cancellation"
    );
}

#[tokio::test]
async fn a_daemon_started_in_the_background_does_not_hold_the_command() {
    // A command that starts something with `&` and returns must finish, even
    // though the background process inherited its output.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("bg.pid");
    let command = format!(
        "sleep 30 & echo $! > '{}'; echo started",
        pid_file.display()
    );
    let started = Instant::now();
    let output = local()
        .run(&command, &RunOptions::default(), &CancellationToken::new())
        .await
        .unwrap();
    let pid = wait_for_pid(&pid_file);
    let _guard = PidGuard(Some(pid));
    assert_eq!(output.stdout_text(), "started\n");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        !pid_gone(pid),
        "a finished command must not kill what it started"
    );
}

#[tokio::test]
async fn file_round_trip_with_binary_data_and_awkward_names() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let transport = local();
    let data: Vec<u8> = (0..=255u8)
        .chain(b"\n\n\0end\n\n".iter().copied())
        .collect();
    for name in [
        "plain.bin",
        "with space.bin",
        "it's \"quoted\" $HOME `x`.bin",
        "-dash",
    ] {
        let path = dir.path().join(name);
        let path = path.to_str().unwrap();
        assert!(!transport.path_exists(path, &cancel).await.unwrap());
        transport.write_file(path, &data, &cancel).await.unwrap();
        assert_eq!(std::fs::read(path).unwrap(), data, "{name}");
        assert_eq!(transport.read_file(path, &cancel).await.unwrap(), data);
        assert!(transport.path_exists(path, &cancel).await.unwrap());
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644, "a new file gets 0644");
    }
    // Atomic write leaves no temp files behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "-dash",
            "it's \"quoted\" $HOME `x`.bin",
            "plain.bin",
            "with space.bin"
        ]
    );
    // A directory exists too.
    assert!(transport
        .path_exists(dir.path().to_str().unwrap(), &cancel)
        .await
        .unwrap());
}

#[tokio::test]
async fn overwriting_keeps_the_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.conf");
    std::fs::write(&path, b"old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cancel = CancellationToken::new();
    local()
        .write_file(path.to_str().unwrap(), b"new contents\n", &cancel)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new contents\n");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn writing_through_a_symlink_replaces_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.conf");
    let link = dir.path().join("link.conf");
    std::fs::write(&real, b"old").unwrap();
    symlink(&real, &link).unwrap();
    local()
        .write_file(link.to_str().unwrap(), b"new", &CancellationToken::new())
        .await
        .unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), b"new");
}

#[tokio::test]
async fn missing_files_and_directories_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let missing = dir.path().join("nope.conf");
    let missing = missing.to_str().unwrap();
    match local().read_file(missing, &cancel).await {
        Err(FileError::NotFound { host, path }) => {
            assert_eq!(host, "local-test");
            assert_eq!(path, missing);
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let in_missing_dir = dir.path().join("no-dir/file.conf");
    let in_missing_dir = in_missing_dir.to_str().unwrap();
    let err = local()
        .write_file(in_missing_dir, b"x", &cancel)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            FileError::Failed {
                operation: "write",
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains(in_missing_dir), "{text}");
    assert!(text.contains("No such file or directory"), "{text}");

    // Reading a directory is a failure with the reason, not "not found".
    let err = local()
        .read_file(dir.path().to_str().unwrap(), &cancel)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            FileError::Failed {
                operation: "read",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("Is a directory"), "{err}");
}

#[tokio::test]
async fn the_pool_opens_one_transport_per_host() {
    let pool = Arc::new(TransportPool::new());
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = Arc::clone(&pool);
        let cancel = cancel.clone();
        tasks.push(tokio::spawn(async move {
            pool.get("node-a", &ConnectionTarget::local(), &cancel)
                .await
                .unwrap()
        }));
    }
    let mut transports = Vec::new();
    for task in tasks {
        transports.push(task.await.unwrap());
    }
    assert!(transports.iter().all(|t| Arc::ptr_eq(t, &transports[0])));
    let other = pool
        .get("node-b", &ConnectionTarget::local(), &cancel)
        .await
        .unwrap();
    assert!(!Arc::ptr_eq(&other, &transports[0]));
    assert_eq!(other.host_name(), "node-b");
    assert_eq!(pool.len().await, 2);
}
