//! The local transport: `sh -c` on this machine, in its own process group.

use super::collect::{Collector, DRAIN_GRACE};
use super::process_group::{self, GroupGuard};
use super::{CommandOutput, RunOptions, TransportError};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

pub struct LocalTransport {
    host_name: String,
}

/// How the wait for a command ended.
enum Ending {
    Exited(std::io::Result<ExitStatus>),
    TimedOut(Duration),
    Cancelled,
}

impl LocalTransport {
    pub fn new(host_name: &str) -> LocalTransport {
        LocalTransport {
            host_name: host_name.to_string(),
        }
    }

    pub fn host_name(&self) -> &str {
        &self.host_name
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
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .process_group(0)
            .stdin(if options.stdin.is_some() {
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

        if let (Some(mut stdin), Some(data)) = (child.stdin.take(), options.stdin.clone()) {
            // A command that does not read its stdin closes the pipe early: not an error.
            tokio::spawn(async move {
                let _ = stdin.write_all(&data).await;
                let _ = stdin.shutdown().await;
            });
        }
        let stdout = Collector::start(child.stdout.take());
        let stderr = Collector::start(child.stderr.take());

        let timer = super::deadline::expires(options.timeout);
        let ending = tokio::select! {
            status = child.wait() => Ending::Exited(status),
            limit = timer => Ending::TimedOut(limit),
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
                Ok(CommandOutput {
                    code: exit_code(status),
                    stdout: stdout.finish(drain_until).await,
                    stderr: stderr.finish(drain_until).await,
                })
            }
            Ending::TimedOut(limit) => {
                process_group::terminate(&mut child, pgid).await;
                guard.disarm();
                stdout.abort();
                stderr.abort();
                Err(TransportError::Timeout {
                    host: self.host_name.clone(),
                    command: command.to_string(),
                    timeout: crate::duration::format_duration(limit),
                })
            }
            Ending::Cancelled => {
                process_group::terminate(&mut child, pgid).await;
                guard.disarm();
                stdout.abort();
                stderr.abort();
                Err(self.interrupted(command))
            }
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
