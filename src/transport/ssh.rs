//! The ssh transport: one multiplexed `openssh` session per host.
//!
//! Each command runs on the host as `sh -c` under a small wrapper that records
//! its process-group id in a pid file (through sudo, with `ansible_become`).
//! Closing an ssh channel does not stop the remote command, so on timeout or
//! cancellation a second command reads that file and kills the whole group on
//! the host (as the same user).

use super::collect::{self, Collector, DRAIN_GRACE};
use super::control_dir::ControlDir;
use super::escalation::Escalation;
use super::host_key;
use super::recorded_group::{self, PIDFILE_FAILED, PIDFILE_MESSAGE};
use super::stdin_feed;
use super::sudo_handshake::{handshake, Handshake};
use super::{CommandOutput, RunOptions, SshTarget, TransportError};
use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a sudo that refused gets to exit before its channel is closed.
const REFUSED_EXIT_WAIT: Duration = Duration::from_secs(5);

pub struct SshTransport {
    host_name: String,
    /// `user@address:port`, for messages.
    address: String,
    /// Declared before `control_dir`: the session (and its master) must end
    /// before the directory holding its socket is removed.
    session: Session,
    control_dir: ControlDir,
    /// `ansible_become`: every command (and the kill of a timed-out one) goes through sudo.
    escalation: Option<Escalation>,
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
            escalation: target.escalation.clone(),
        })
    }

    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    /// Whom commands become on this host (`ansible_become`), if anyone.
    pub fn escalation(&self) -> Option<&Escalation> {
        self.escalation.as_ref()
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
        let pid_file = recorded_group::pid_file();
        let wrapped = recorded_group::wrap(command, &pid_file);
        let line = match &self.escalation {
            Some(escalation) => escalation.command_line(&wrapped),
            None => wrapped,
        };
        let needs_stdin = options.stdin.is_some()
            || self
                .escalation
                .as_ref()
                .is_some_and(|escalation| escalation.password().is_some());
        let sigints_before = crate::interrupt::sigints();
        let mut child = self
            .session
            .raw_command(line)
            .stdin(if needs_stdin {
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
        collect::widen_pipe(child.stdout().as_ref().map(|p| p.as_raw_fd()));
        let stdout = Collector::start(child.stdout().take());
        let timer = super::deadline::expires(options.timeout);
        tokio::pin!(timer);

        let stderr = match &self.escalation {
            None => {
                stdin_feed::spawn(child.stdin().take(), options.stdin.clone());
                Collector::start(child.stderr().take())
            }
            Some(escalation) => {
                let mut stdin = child.stdin().take();
                let mut stderr = child.stderr().take();
                let started = async {
                    match stderr.as_mut() {
                        Some(pipe) => handshake(escalation, stdin.as_mut(), pipe).await,
                        None => Handshake::Refused {
                            said: String::new(),
                            asked_again: false,
                        },
                    }
                };
                let ending = tokio::select! {
                    started = started => Ok(started),
                    limit = &mut timer => Err(Ending::TimedOut(limit)),
                    _ = cancel.cancelled() => Err(Ending::Cancelled),
                };
                match ending {
                    Ok(Handshake::Started { stderr_head }) => {
                        stdin_feed::spawn(stdin, options.stdin.clone());
                        Collector::start_after(stderr_head, stderr)
                    }
                    Ok(Handshake::Refused { said, asked_again }) => {
                        drop(stdin);
                        stdout.abort();
                        // A lost connection is not sudo's refusal.
                        if let Ok(status) =
                            tokio::time::timeout(REFUSED_EXIT_WAIT, child.wait()).await
                        {
                            self.exit_code(command, status).await?;
                        }
                        return Err(escalation.refusal(&self.host_name, &said, asked_again));
                    }
                    Err(ending) => {
                        stdout.abort();
                        self.kill_remote_group(&pid_file).await;
                        return Err(self.ended(command, ending));
                    }
                }
            }
        };

        // Dropping the unfinished `wait` future drops the child, which ends the
        // local ssh client (and the channel), not the remote command.
        let ending = tokio::select! {
            status = child.wait() => Ending::Exited(status),
            limit = &mut timer => Ending::TimedOut(limit),
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
            ending => {
                stdout.abort();
                stderr.abort();
                self.kill_remote_group(&pid_file).await;
                Err(self.ended(command, ending))
            }
        }
    }

    /// The error for a command that timed out or was cancelled.
    fn ended(&self, command: &str, ending: Ending) -> TransportError {
        match ending {
            Ending::TimedOut(limit) => TransportError::Timeout {
                host: self.host_name.clone(),
                command: command.to_string(),
                timeout: crate::duration::format_duration(limit),
            },
            _ => self.interrupted(command),
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
    /// SIGKILL after about a second) and removes the file, as the user the command
    /// ran as. Best effort: the caller is already reporting a timeout or an interruption.
    async fn kill_remote_group(&self, pid_file: &str) {
        let kill = recorded_group::kill(pid_file);
        let line = match &self.escalation {
            Some(escalation) => escalation.command_line(&kill),
            None => kill,
        };
        let killing = async {
            let mut killer = self
                .session
                .raw_command(line)
                .stdin(if self.escalation.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .await
                .map_err(|err| error_chain(&err))?;
            let mut stdin = killer.stdin().take();
            let mut stderr = killer.stderr().take();
            let mut said = String::new();
            if let (Some(escalation), Some(pipe)) = (&self.escalation, stderr.as_mut()) {
                if let Handshake::Refused { said: refused, .. } =
                    handshake(escalation, stdin.as_mut(), pipe).await
                {
                    said = refused;
                }
            }
            drop(stdin);
            let mut rest = Vec::new();
            if let Some(pipe) = stderr.as_mut() {
                let _ = tokio::io::AsyncReadExt::read_to_end(pipe, &mut rest).await;
            }
            said.push_str(String::from_utf8_lossy(&rest).trim());
            match killer.wait().await {
                Ok(status) if status.success() => Ok(()),
                Ok(_) => Err(said),
                Err(err) => Err(error_chain(&err)),
            }
        };
        match tokio::time::timeout(Duration::from_secs(15), killing).await {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => tracing::warn!(
                host = %self.host_name,
                reason = %reason.trim(),
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
