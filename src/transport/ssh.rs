//! The ssh transport: one multiplexed `openssh` session per host.
//!
//! Each command runs on the host as `sh -c` under a small wrapper that records
//! its process-group id in a pid file. Closing an ssh channel does not stop the
//! remote command, so on timeout or cancellation a second command reads that
//! file and kills the whole group on the host.

use super::collect::{Collector, DRAIN_GRACE};
use super::control_dir::ControlDir;
use super::host_key;
use super::{shell_quote, CommandOutput, RunOptions, SshTarget, TransportError};
use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

/// Remote exit code of the wrapper when it cannot record the pid file...
const PIDFILE_FAILED: i32 = 125;
/// ...and how its stderr then starts, to tell it from a command's own exit 125.
const PIDFILE_MESSAGE: &str = "runbook: cannot record the command's pid in ";

pub struct SshTransport {
    host_name: String,
    /// `user@address:port`, for messages.
    address: String,
    /// Declared before `control_dir`: the session (and its master) must end
    /// before the directory holding its socket is removed.
    session: Session,
    control_dir: ControlDir,
}

/// How the wait for a remote command ended.
enum Ending {
    Exited(Result<std::process::ExitStatus, openssh::Error>),
    TimedOut(Duration),
    Cancelled,
}

impl SshTransport {
    pub async fn connect(
        host_name: &str,
        target: &SshTarget,
        cancel: &CancellationToken,
    ) -> Result<SshTransport, TransportError> {
        let address = display_address(target);
        if cancel.is_cancelled() {
            return Err(connect_interrupted(host_name, &address));
        }
        let control_dir = ControlDir::create().map_err(|err| TransportError::Connect {
            host: host_name.to_string(),
            address: address.clone(),
            reason: format!("cannot create a private directory for the ssh control socket: {err}"),
        })?;
        let builder = session_builder(host_name, target, control_dir.path());
        let destination = target.address.clone();
        // The master is started by a separate task: if the caller gives up, the
        // task still finishes and closes the session, which stops the master,
        // instead of leaving a half-started master behind.
        let (sender, receiver) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let result = builder
                .connect(&destination)
                .await
                .map(|session| (session, control_dir));
            if let Err(Ok((session, control_dir))) = sender.send(result) {
                let _ = session.close().await;
                drop(control_dir);
            }
        });
        let result = tokio::select! {
            result = receiver => result,
            _ = cancel.cancelled() => return Err(connect_interrupted(host_name, &address)),
        };
        let (session, control_dir) = match result {
            Ok(Ok(opened)) => opened,
            Ok(Err(err)) => {
                let reason = connect_reason(&err);
                if let Some(refusal) = host_key::refusal(host_name, &address, target, &reason) {
                    return Err(refusal);
                }
                return Err(TransportError::Connect {
                    host: host_name.to_string(),
                    address,
                    reason,
                });
            }
            Err(_) => {
                return Err(TransportError::Connect {
                    host: host_name.to_string(),
                    address,
                    reason: "the connection attempt was abandoned".to_string(),
                })
            }
        };
        tracing::debug!(host = host_name, %address, "ssh master connection open");
        Ok(SshTransport {
            host_name: host_name.to_string(),
            address,
            session,
            control_dir,
        })
    }

    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    /// The ssh control socket of this session's master connection.
    pub fn control_socket(&self) -> &std::path::Path {
        self.session.control_socket()
    }

    /// The private (0700) directory that holds the control socket.
    pub fn control_dir(&self) -> &std::path::Path {
        self.control_dir.path()
    }

    pub async fn run(
        &self,
        command: &str,
        options: &RunOptions,
        cancel: &CancellationToken,
    ) -> Result<CommandOutput, TransportError> {
        if cancel.is_cancelled() {
            return Err(self.interrupted(command));
        }
        let pid_file = remote_pid_file();
        let sigints_before = crate::interrupt::sigints();
        let mut child = self
            .session
            .raw_command(wrap(command, &pid_file))
            .stdin(if options.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .await
            .map_err(|err| TransportError::Spawn {
                host: self.host_name.clone(),
                command: command.to_string(),
                reason: error_chain(&err),
            })?;
        if let (Some(mut stdin), Some(data)) = (child.stdin().take(), options.stdin.clone()) {
            // A command that does not read its stdin closes it early: not an error.
            tokio::spawn(async move {
                let _ = stdin.write_all(&data).await;
                let _ = stdin.shutdown().await;
            });
        }
        let stdout = Collector::start(child.stdout().take());
        let stderr = Collector::start(child.stderr().take());

        let timer = super::deadline::expires(options.timeout);
        // Dropping the unfinished `wait` future drops the child, which ends the
        // local ssh client (and the channel), not the remote command.
        let ending = tokio::select! {
            status = child.wait() => Ending::Exited(status),
            limit = timer => Ending::TimedOut(limit),
            _ = cancel.cancelled() => Ending::Cancelled,
        };
        let ending = match ending {
            Ending::Exited(_) if ctrl_c_reached_the_client(sigints_before, cancel).await => {
                Ending::Cancelled
            }
            ending => ending,
        };
        match ending {
            Ending::Exited(status) => {
                let until = tokio::time::Instant::now() + DRAIN_GRACE;
                let code = self.exit_code(command, status).await?;
                let output = CommandOutput {
                    code,
                    stdout: stdout.finish(until).await,
                    stderr: stderr.finish(until).await,
                };
                if code == PIDFILE_FAILED && output.stderr.starts_with(PIDFILE_MESSAGE.as_bytes()) {
                    return Err(TransportError::Spawn {
                        host: self.host_name.clone(),
                        command: command.to_string(),
                        reason: output.stderr_text().trim().to_string(),
                    });
                }
                Ok(output)
            }
            Ending::TimedOut(limit) => {
                stdout.abort();
                stderr.abort();
                self.kill_remote_group(&pid_file).await;
                Err(TransportError::Timeout {
                    host: self.host_name.clone(),
                    command: command.to_string(),
                    timeout: crate::duration::format_duration(limit),
                })
            }
            Ending::Cancelled => {
                stdout.abort();
                stderr.abort();
                self.kill_remote_group(&pid_file).await;
                Err(self.interrupted(command))
            }
        }
    }

    /// The command's exit code from what the local ssh client reported.
    async fn exit_code(
        &self,
        command: &str,
        status: Result<std::process::ExitStatus, openssh::Error>,
    ) -> Result<i32, TransportError> {
        let lost = |reason: String| TransportError::Io {
            host: self.host_name.clone(),
            command: command.to_string(),
            reason,
        };
        match status {
            Ok(status) => Ok(status
                .code()
                .or_else(|| status.signal().map(|signal| 128 + signal))
                .unwrap_or(-1)),
            // openssh reads 127 as "not found" and 255 as "terminated"; both are
            // also plain exit codes of a remote command.
            Err(openssh::Error::Remote(err)) if err.kind() == std::io::ErrorKind::NotFound => {
                Ok(127)
            }
            Err(openssh::Error::RemoteProcessTerminated) | Err(openssh::Error::Disconnected) => {
                match self.session.check().await {
                    Ok(()) => Ok(255),
                    Err(err) => Err(lost(error_chain(&err))),
                }
            }
            Err(err) => Err(lost(error_chain(&err))),
        }
    }

    /// Kills the remote process group recorded in `pid_file` (SIGTERM, then
    /// SIGKILL after about a second) and removes the file. Best effort: the
    /// caller is already reporting a timeout or an interruption.
    async fn kill_remote_group(&self, pid_file: &str) {
        let line = format!("exec sh -c {}", shell_quote(&kill_script(pid_file)));
        let mut killer = self.session.raw_command(line);
        let killer = killer
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match tokio::time::timeout(Duration::from_secs(15), killer).await {
            Ok(Ok(output)) if output.status.success() => {}
            Ok(Ok(output)) => tracing::warn!(
                host = %self.host_name,
                stderr = %String::from_utf8_lossy(&output.stderr).trim(),
                "could not kill a timed-out command on the host"
            ),
            Ok(Err(err)) => tracing::warn!(
                host = %self.host_name,
                error = %error_chain(&err),
                "could not kill a timed-out command on the host"
            ),
            Err(_) => tracing::warn!(
                host = %self.host_name,
                "killing a timed-out command on the host did not finish"
            ),
        }
    }

    fn interrupted(&self, command: &str) -> TransportError {
        TransportError::Interrupted {
            host: self.host_name.clone(),
            command: command.to_string(),
        }
    }

    /// `user@address:port` of this host.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Forwards `listen` on this machine to `remote_host:remote_port` as the host
    /// sees it (`ssh -L`), through this session's master connection; the forward
    /// ends with the session.
    pub async fn forward_local(
        &self,
        listen: std::net::SocketAddr,
        remote_host: &str,
        remote_port: u16,
    ) -> Result<(), String> {
        let connect = openssh::Socket::TcpSocket {
            host: remote_host.into(),
            port: remote_port,
        };
        self.session
            .request_port_forward(openssh::ForwardType::Local, listen, connect)
            .await
            .map_err(|err| error_chain(&err))
    }
}

fn session_builder(host_name: &str, target: &SshTarget, control_dir: &Path) -> SessionBuilder {
    let mut builder = SessionBuilder::default();
    builder
        .port(target.port)
        .connect_timeout(target.connect_timeout)
        .control_directory(control_dir)
        .server_alive_interval(Duration::from_secs(15));
    if let Some(user) = &target.user {
        builder.user(user.clone());
    }
    if let Some(key) = &target.key_file {
        builder.keyfile(key);
    }
    if target.strict_host_key_checking {
        if let Some(known_hosts) = &target.known_hosts_file {
            builder.user_known_hosts_file(known_hosts);
        }
        builder.known_hosts_check(KnownHosts::Strict);
    } else {
        // Nothing is recorded either: an unchecked key must not become a
        // trusted one, and with no recorded key a changed one is no reason
        // for ssh to turn port forwarding (the etcd tunnel) off.
        builder.user_known_hosts_file("/dev/null");
        tracing::warn!(
            host = host_name,
            address = %target.address,
            "ansible_host_key_checking=false: the ssh host key of {host_name} is NOT verified; \
             a man-in-the-middle would go unnoticed"
        );
        builder.known_hosts_check(KnownHosts::Accept);
    }
    builder
}

fn display_address(target: &SshTarget) -> String {
    match &target.user {
        Some(user) => format!("{user}@{}:{}", target.address, target.port),
        None => format!("{}:{}", target.address, target.port),
    }
}

fn connect_interrupted(host_name: &str, address: &str) -> TransportError {
    TransportError::Interrupted {
        host: host_name.to_string(),
        command: format!("ssh {address}"),
    }
}

/// ssh's own words for a failed connection ("Permission denied (publickey)",
/// "Host key verification failed", ...), without openssh's generic wrapper text.
fn connect_reason(err: &openssh::Error) -> String {
    let reason = match err {
        openssh::Error::Connect(io) | openssh::Error::Master(io) | openssh::Error::Ssh(io) => {
            io.to_string()
        }
        other => error_chain(other),
    };
    let reason = reason.trim();
    if reason.is_empty() {
        "ssh exited without saying why".to_string()
    } else {
        reason.to_string()
    }
}

/// An error and its sources, joined with ": ".
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A fresh, unguessable pid-file path on the host.
fn remote_pid_file() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    format!("/tmp/runbook-{:016x}.pid", hasher.finish())
}

/// The remote command line: whatever the login shell is, it execs `sh`, which
/// records its pid (sshd starts each command in a new session, so that pid is
/// also the process-group id), runs `command` and removes the pid file.
/// A command killed by a signal reports 128 + the signal, as locally.
fn wrap(command: &str, pid_file: &str) -> String {
    let wrapper = format!(
        "{{ echo $$ > \"$1\"; }} 2>/dev/null || {{ echo \"{PIDFILE_MESSAGE}$1\" >&2; exit {PIDFILE_FAILED}; }}; \
         sh -c \"$2\"; rc=$?; rm -f \"$1\"; exit $rc"
    );
    format!(
        "exec sh -c {} runbook {} {}",
        shell_quote(&wrapper),
        shell_quote(pid_file),
        shell_quote(command)
    )
}

/// Whether a Ctrl-C ended the local ssh client. On a terminal the SIGINT reaches every
/// process of the foreground group, the ssh client too, which then exits (with 0 or
/// 255) before the run's token may be cancelled; the remote command still runs and
/// must be killed like any cancelled one. A SIGINT counted since the command started
/// says so; the token follows at once.
async fn ctrl_c_reached_the_client(sigints_before: u64, cancel: &CancellationToken) -> bool {
    crate::interrupt::sigints() != sigints_before
        && tokio::time::timeout(Duration::from_secs(1), cancel.cancelled())
            .await
            .is_ok()
}

/// `sh` that kills the process group recorded in `pid_file`.
///
/// The wrapper may not have written the file yet when a command is cancelled
/// right after it started, so wait for it briefly.
fn kill_script(pid_file: &str) -> String {
    format!(
        r#"f={file}
i=0
while [ ! -s "$f" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done
[ -s "$f" ] || exit 0
pid=$(cat "$f")
case $pid in ''|*[!0-9]*) rm -f "$f"; exit 0;; esac
[ "$pid" -gt 1 ] || exit 0
if kill -TERM -"$pid" 2>/dev/null; then
  i=0
  while kill -0 -"$pid" 2>/dev/null && [ $i -lt 10 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL -"$pid" 2>/dev/null || true
fi
rm -f "$f"
"#,
        file = shell_quote(pid_file)
    )
}
