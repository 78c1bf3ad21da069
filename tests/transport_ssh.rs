//! The ssh transport against a real sshd on loopback: commands, stdin, files,
//! timeouts and cancellation killing the remote process group, and the
//! connection errors an operator meets (wrong key, changed host key).

use crate::support::sshd::Sshd;
use runbook::inventory::Host;
use runbook::transport::files::FileError;
use runbook::transport::{ConnectionTarget, RunOptions, Transport, TransportError, TransportPool};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

async fn connect(host: &Host) -> Result<Transport, TransportError> {
    let target = ConnectionTarget::from_host(host)?;
    Transport::connect(&host.name, &target, &CancellationToken::new()).await
}

/// Whether `pid` has exited on the host (asked over ssh; a zombie counts as gone).
async fn gone_on_host(transport: &Transport, pid: u32) -> bool {
    let check = format!(
        "for i in $(seq 30); do \
           [ -e /proc/{pid} ] || exit 0; \
           case $(cut -d')' -f2 /proc/{pid}/stat) in ' Z'*) exit 0;; esac; \
           sleep 0.1; \
         done; exit 1"
    );
    let output = transport
        .run(&check, &RunOptions::default(), &CancellationToken::new())
        .await
        .expect("checking a pid over ssh");
    output.code == 0
}

/// Reads a pid the remote command wrote, over ssh.
async fn remote_pid(transport: &Transport, path: &str) -> u32 {
    let cancel = CancellationToken::new();
    for _ in 0..50 {
        if let Ok(data) = transport.read_file(path, &cancel).await {
            if let Ok(pid) = String::from_utf8_lossy(&data).trim().parse() {
                return pid;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pid in {path} on the host");
}

/// Kills a leftover test process if an assertion fails before the transport did.
struct PidGuard(u32);
impl Drop for PidGuard {
    fn drop(&mut self) {
        if std::path::Path::new(&format!("/proc/{}", self.0)).exists() {
            let cmdline = std::fs::read(format!("/proc/{}/cmdline", self.0)).unwrap_or_default();
            // Only the test's own `sleep 30`, never a recycled pid.
            if cmdline.starts_with(b"sleep\x0030") {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(self.0 as i32, libc::SIGKILL);
                }
            }
        }
    }
}

#[tokio::test]
async fn runs_commands_with_exit_code_output_and_stdin() {
    let sshd = Sshd::start();
    let transport = connect(&sshd.host("node-1")).await.expect("connects");
    assert_eq!(transport.host_name(), "node-1");
    let cancel = CancellationToken::new();

    let output = transport
        .run(
            "echo out; echo err >&2; exit 3",
            &RunOptions::default(),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(output.code, 3);
    assert_eq!(output.stdout_text(), "out\n");
    assert_eq!(output.stderr_text(), "err\n");

    // Quotes, variables and newlines in the command reach the remote sh intact.
    let output = transport
        .run(
            "x='a b'; printf '%s|' \"$x\" \"it's\"\necho $((2+3))",
            &RunOptions::default(),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(output.stdout_text(), "a b|it's|5\n");

    let data: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
    let options = RunOptions {
        timeout: None,
        stdin: Some(data.clone()),
    };
    let output = transport.run("cat", &options, &cancel).await.unwrap();
    assert_eq!(output.code, 0);
    assert_eq!(output.stdout, data);

    let output = transport
        .run("wc -c", &RunOptions::default(), &cancel)
        .await
        .unwrap();
    assert_eq!(output.stdout_text().trim(), "0");

    // Exit codes ssh itself gives meaning to are still plain exit codes.
    for (command, code) in [
        ("exit 127", 127),
        ("no-such-command-here", 127),
        ("exit 255", 255),
        ("exit 125", 125),
        ("kill -9 $$", 137),
    ] {
        let output = transport
            .run(command, &RunOptions::default(), &cancel)
            .await
            .unwrap_or_else(|err| panic!("{command}: {err}"));
        assert_eq!(output.code, code, "{command}");
    }
}

#[tokio::test]
async fn files_round_trip_over_ssh() {
    let sshd = Sshd::start();
    let transport = connect(&sshd.host("node-1")).await.expect("connects");
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let data: Vec<u8> = (0..=255u8).chain(b"\n\n".iter().copied()).collect();

    let path = dir.path().join("it's a \"conf\" file");
    let path_text = path.to_str().unwrap();
    assert!(!transport.path_exists(path_text, &cancel).await.unwrap());
    assert!(matches!(
        transport.read_file(path_text, &cancel).await,
        Err(FileError::NotFound { .. })
    ));
    transport
        .write_file(path_text, &data, &cancel)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert_eq!(transport.read_file(path_text, &cancel).await.unwrap(), data);
    assert!(transport.path_exists(path_text, &cancel).await.unwrap());

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    transport
        .write_file(path_text, b"second", &cancel)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp files left"
    );
}

#[tokio::test]
async fn timeout_kills_the_remote_process_group() {
    let sshd = Sshd::start();
    let transport = connect(&sshd.host("node-1")).await.expect("connects");
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let pid_file = pid_file.to_str().unwrap();
    let command = format!("sleep 30 & echo $! > '{pid_file}'; wait");
    let options = RunOptions {
        timeout: Some(Duration::from_millis(700)),
        stdin: None,
    };
    let result = transport
        .run(&command, &options, &CancellationToken::new())
        .await;
    let pid = remote_pid(&transport, pid_file).await;
    let _guard = PidGuard(pid);
    match result {
        Err(TransportError::Timeout { host, timeout, .. }) => {
            assert_eq!(host, "node-1");
            assert_eq!(timeout, "700ms");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        gone_on_host(&transport, pid).await,
        "the remote sleep {pid} survived the timeout"
    );
}

#[tokio::test]
async fn cancellation_ends_within_two_seconds_and_kills_the_remote_sleep() {
    let sshd = Sshd::start();
    let transport = connect(&sshd.host("node-1")).await.expect("connects");
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let pid_file = pid_file.to_str().unwrap();
    let command = format!("sleep 30 & echo $! > '{pid_file}'; wait");
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let result = transport
        .run(&command, &RunOptions::default(), &cancel)
        .await;
    let elapsed = started.elapsed();
    let pid = remote_pid(&transport, pid_file).await;
    let _guard = PidGuard(pid);
    assert!(
        matches!(result, Err(TransportError::Interrupted { .. })),
        "{result:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(
        gone_on_host(&transport, pid).await,
        "the remote sleep {pid} survived cancellation"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|stat| stat.contains(") Z"))
                .unwrap_or(true)
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_ssh_s_reason() {
    let sshd = Sshd::start();
    let mut host = sshd.host("node-1");
    host.vars.insert(
        "ansible_ssh_private_key_file".into(),
        sshd.unauthorized_key().display().to_string().into(),
    );
    let err = match connect(&host).await {
        Err(err) => err,
        Ok(_) => panic!("connected with a key sshd does not accept"),
    };
    let text = err.to_string();
    match &err {
        TransportError::Connect {
            host,
            address,
            reason,
        } => {
            assert_eq!(host, "node-1");
            assert!(
                address.contains(&format!("127.0.0.1:{}", sshd.port)),
                "{address}"
            );
            assert!(reason.contains("Permission denied"), "{reason}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert!(text.contains("node-1"), "{text}");
}

#[tokio::test]
async fn a_changed_host_key_is_refused_unless_checking_is_off() {
    let sshd = Sshd::start();
    let mut host = sshd.host("node-1");
    host.vars.insert(
        "runbook_ssh_known_hosts_file".into(),
        sshd.wrong_known_hosts().display().to_string().into(),
    );
    let err = match connect(&host).await {
        Err(err) => err,
        Ok(_) => panic!("connected although the host key changed"),
    };
    match &err {
        TransportError::HostKey { host, detail, .. } => {
            let (problem, reason) = (&detail.problem, &detail.reason);
            assert_eq!(host, "node-1");
            assert!(problem.contains("changed"), "{problem}");
            assert!(reason.contains("Host key verification failed"), "{reason}");
        }
        other => panic!("expected a host key refusal, got {other:?}"),
    }

    host.vars
        .insert("ansible_host_key_checking".into(), "false".into());
    let transport = connect(&host)
        .await
        .expect("connects with host key checking off");
    let output = transport
        .run("echo hi", &RunOptions::default(), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(output.stdout_text(), "hi\n");
}

#[tokio::test]
async fn an_unknown_host_is_refused_by_default() {
    let sshd = Sshd::start();
    let mut host = sshd.host("node-1");
    let empty = tempfile::NamedTempFile::new().unwrap();
    host.vars.insert(
        "runbook_ssh_known_hosts_file".into(),
        empty.path().display().to_string().into(),
    );
    match connect(&host).await {
        Err(TransportError::HostKey { detail, .. }) => {
            let (problem, reason) = (&detail.problem, &detail.reason);
            assert!(problem.contains("not in"), "{problem}");
            assert!(reason.contains("Host key verification failed"), "{reason}")
        }
        Err(other) => panic!("expected a host key refusal, got {other:?}"),
        Ok(_) => panic!("connected to a host not in known_hosts"),
    }
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error_naming_the_address() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut vars = indexmap::IndexMap::new();
    vars.insert("ansible_host".to_string(), "127.0.0.1".into());
    vars.insert("ansible_port".to_string(), port.into());
    let host = Host {
        name: "down-1".into(),
        vars,
    };
    match connect(&host).await {
        Err(TransportError::Connect {
            host,
            address,
            reason,
        }) => {
            assert_eq!(host, "down-1");
            assert!(address.ends_with(&format!("127.0.0.1:{port}")), "{address}");
            assert!(reason.contains("Connection refused"), "{reason}");
        }
        Err(other) => panic!("expected a connect error, got {other:?}"),
        Ok(_) => panic!("connected to a closed port"),
    }
}

#[tokio::test]
async fn the_control_socket_is_private_and_the_pool_shares_one_session() {
    let sshd = Sshd::start();
    let host = sshd.host("node-1");
    let target = ConnectionTarget::from_host(&host).unwrap();
    let pool = Arc::new(TransportPool::new());
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (pool, target, cancel) = (Arc::clone(&pool), target.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            pool.get("node-1", &target, &cancel).await.unwrap()
        }));
    }
    let mut transports = Vec::new();
    for task in tasks {
        transports.push(task.await.unwrap());
    }
    assert!(transports.iter().all(|t| Arc::ptr_eq(t, &transports[0])));
    let Transport::Ssh(ssh) = &*transports[0] else {
        panic!("expected an ssh transport");
    };
    let socket_dir = ssh.control_dir().to_path_buf();
    assert!(ssh.control_socket().starts_with(&socket_dir));
    let mode = std::fs::metadata(&socket_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", socket_dir.display());
    drop(transports);
    drop(pool);
    // Dropping the last handle stops the master and removes its directory.
    assert!(
        !socket_dir.exists(),
        "{} is left behind",
        socket_dir.display()
    );
}

#[tokio::test]
async fn cancelling_a_hanging_connect_returns_promptly() {
    // Accepts TCP connections but never speaks ssh.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut vars = indexmap::IndexMap::new();
    vars.insert("ansible_host".to_string(), "127.0.0.1".into());
    vars.insert("ansible_port".to_string(), port.into());
    vars.insert("ansible_ssh_timeout".to_string(), 2.into());
    let host = Host {
        name: "silent-1".into(),
        vars,
    };
    let target = ConnectionTarget::from_host(&host).unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let result = Transport::connect("silent-1", &target, &cancel).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(TransportError::Interrupted { .. })),
        "{:?}",
        result.err()
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");

    // Without cancellation the same host fails on ssh's connect timeout, with a reason.
    match Transport::connect("silent-1", &target, &CancellationToken::new()).await {
        Err(TransportError::Connect { reason, .. }) => {
            assert!(reason.to_lowercase().contains("timed out"), "{reason}")
        }
        Err(other) => panic!("expected a connect error, got {other:?}"),
        Ok(_) => panic!("connected to a server that never answered"),
    }
    drop(listener);
}
