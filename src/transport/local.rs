//! The local transport: `sh -c` on this machine, in its own process group; through sudo
//! when the host has `ansible_become` and runbook runs as another user.

use super::collect::{self, Collector, DRAIN_GRACE};
use super::escalation::Escalation;
use super::process_group::{self, GroupGuard};
use super::sudo_handshake::{handshake, Handshake};
use super::{recorded_group, stdin_feed};
use super::{CommandOutput, RunOptions, TransportError};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::process::Child;
use tokio_util::sync::CancellationToken;

/// How long a sudo that refused gets to exit before its group is killed.
const REFUSED_EXIT_WAIT: Duration = Duration::from_secs(5);

pub struct LocalTransport {
    host_name: String,
    escalation: Option<Escalation>,
}

/// How the wait for a command ended.
enum Ending {
    Exited(std::io::Result<ExitStatus>),
    TimedOut(Duration),
    Cancelled,
}

/// A command started through sudo, with the pid file its group is recorded in.
struct Escalated<'a> {
    escalation: &'a Escalation,
    pid_file: String,
}

impl LocalTransport {
    pub fn new(host_name: &str) -> LocalTransport {
        LocalTransport::escalated(host_name, None)
    }

    /// A local host whose commands run through sudo as `escalation.user`, if given.
    pub fn escalated(host_name: &str, escalation: Option<Escalation>) -> LocalTransport {
        LocalTransport {
            host_name: host_name.to_string(),
            escalation,
        }
    }

    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    pub fn escalation(&self) -> Option<&Escalation> {
        self.escalation.as_ref()
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
        let escalated = self.escalation.as_ref().map(|escalation| Escalated {
            escalation,
            pid_file: recorded_group::pid_file(),
        });
        let line = match &escalated {
            None => command.to_string(),
            Some(up) => up
                .escalation
                .command_line(&recorded_group::wrap(command, &up.pid_file)),
        };
        let needs_stdin = options.stdin.is_some()
            || escalated
                .as_ref()
                .is_some_and(|up| up.escalation.password().is_some());
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .process_group(0)
            .stdin(if needs_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| TransportError::Spawn {
                host: self.host_name.clone(),
                command: command.to_string(),
                reason: err.to_string(),
            })?;
        let pgid = match child.id() {
            Some(pid) => pid as i32,
            None => {
                return Err(TransportError::Spawn {
                    host: self.host_name.clone(),
                    command: command.to_string(),
                    reason: "the shell exited before its process group could be recorded"
                        .to_string(),
                })
            }
        };
        let mut guard = GroupGuard::new(pgid);
        collect::widen_pipe(child.stdout.as_ref().map(|p| p.as_raw_fd()));
        let stdout = Collector::start(child.stdout.take());
        let timer = super::deadline::expires(options.timeout);
        tokio::pin!(timer);

        let stderr = match &escalated {
            None => {
                stdin_feed::spawn(child.stdin.take(), options.stdin.clone());
                Collector::start(child.stderr.take())
            }
            Some(up) => {
                let mut stdin = child.stdin.take();
                let mut stderr = child.stderr.take();
                let started = async {
                    match stderr.as_mut() {
                        Some(pipe) => handshake(up.escalation, stdin.as_mut(), pipe).await,
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
                        if tokio::time::timeout(REFUSED_EXIT_WAIT, child.wait())
                            .await
                            .is_err()
                        {
                            process_group::terminate(&mut child, pgid).await;
                        }
                        guard.disarm();
                        return Err(up.escalation.refusal(&self.host_name, &said, asked_again));
                    }
                    Err(ending) => {
                        stdout.abort();
                        return Err(self
                            .stop(command, &mut child, pgid, &mut guard, Some(up), ending)
                            .await);
                    }
                }
            }
        };

        let ending = tokio::select! {
            status = child.wait() => Ending::Exited(status),
            limit = &mut timer => Ending::TimedOut(limit),
            _ = cancel.cancelled() => Ending::Cancelled,
        };

        match ending {
            Ending::Exited(status) => {
                // The leader is reaped; anything it left in the background is the
                // command's business (e.g. a daemon it started), so leave the group be.
                guard.disarm();
                let status = status.map_err(|err| TransportError::Io {
                    host: self.host_name.clone(),
                    command: command.to_string(),
                    reason: err.to_string(),
                })?;
                let drain_until = tokio::time::Instant::now() + DRAIN_GRACE;
                let output = CommandOutput {
                    code: exit_code(status),
                    stdout: stdout.finish(drain_until).await,
                    stderr: stderr.finish(drain_until).await,
                };
                if escalated.is_some()
                    && output.code == recorded_group::PIDFILE_FAILED
                    && output
                        .stderr
                        .starts_with(recorded_group::PIDFILE_MESSAGE.as_bytes())
                {
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
                Err(self
                    .stop(
                        command,
                        &mut child,
                        pgid,
                        &mut guard,
                        escalated.as_ref(),
                        ending,
                    )
                    .await)
            }
        }
    }

    /// Ends a command that timed out or was cancelled: its group as the become user first
    /// (runbook's own user may not signal it), then the local group.
    async fn stop(
        &self,
        command: &str,
        child: &mut Child,
        pgid: i32,
        guard: &mut GroupGuard,
        escalated: Option<&Escalated<'_>>,
        ending: Ending,
    ) -> TransportError {
        if let Some(up) = escalated {
            self.kill_recorded_group(up).await;
        }
        process_group::terminate(child, pgid).await;
        guard.disarm();
        match ending {
            Ending::TimedOut(limit) => TransportError::Timeout {
                host: self.host_name.clone(),
                command: command.to_string(),
                timeout: crate::duration::format_duration(limit),
            },
            _ => self.interrupted(command),
        }
    }

    /// Kills the group recorded by an escalated command, through sudo. Best effort: the
    /// caller is already reporting a timeout or an interruption.
    async fn kill_recorded_group(&self, up: &Escalated<'_>) {
        let line = up
            .escalation
            .command_line(&recorded_group::kill(&up.pid_file));
        let killer = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let Ok(mut killer) = killer else {
            tracing::warn!(host = %self.host_name, "could not start sudo to kill a command on the host");
            return;
        };
        let finished = tokio::time::timeout(Duration::from_secs(15), async {
            let mut stdin = killer.stdin.take();
            if let Some(stderr) = killer.stderr.as_mut() {
                if let Handshake::Refused { said, .. } =
                    handshake(up.escalation, stdin.as_mut(), stderr).await
                {
                    tracing::warn!(host = %self.host_name, %said, "sudo refused to kill a command on the host");
                }
            }
            drop(stdin);
            killer.wait().await
        })
        .await;
        if finished.is_err() {
            tracing::warn!(host = %self.host_name, "killing a command on the host through sudo did not finish");
        }
    }

    fn interrupted(&self, command: &str) -> TransportError {
        TransportError::Interrupted {
            host: self.host_name.clone(),
            command: command.to_string(),
        }
    }
}

/// The exit code, with 128 + the signal number for a command killed by a signal.
pub(super) fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => -1,
    }
}

/// The name of the user runbook runs as, if the user database knows it.
pub fn current_user() -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero `passwd` is a valid value for getpwuid_r to fill in.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to memory owned here and sized as passed; geteuid cannot fail.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name is a NUL-terminated string inside `buffer`.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    name.to_str().ok().map(str::to_string)
}
