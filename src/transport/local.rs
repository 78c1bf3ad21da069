//! The local transport: `sh -c` on this machine, in its own process group.

use super::process_group::{self, GroupGuard};
use super::{CommandOutput, RunOptions, TransportError};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// After the shell exits, how long to keep reading output that a background
/// process it started may still hold open.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

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

        let deadline = options.timeout;
        let timer = async {
            match deadline {
                Some(limit) => {
                    tokio::time::sleep(limit).await;
                    limit
                }
                None => std::future::pending().await,
            }
        };
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
fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => -1,
    }
}

/// Reads one output pipe in the background into a shared buffer, so what was
/// read so far survives if the reader has to be abandoned.
struct Collector {
    buffer: Arc<Mutex<Vec<u8>>>,
    task: Option<JoinHandle<()>>,
}

impl Collector {
    fn start<R: AsyncRead + Unpin + Send + 'static>(pipe: Option<R>) -> Collector {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let task = pipe.map(|mut pipe| {
            let buffer = Arc::clone(&buffer);
            tokio::spawn(async move {
                let mut chunk = vec![0u8; 64 * 1024];
                while let Ok(read) = pipe.read(&mut chunk).await {
                    if read == 0 {
                        break;
                    }
                    if let Ok(mut buffer) = buffer.lock() {
                        buffer.extend_from_slice(&chunk[..read]);
                    }
                }
            })
        });
        Collector { buffer, task }
    }

    /// Waits for end-of-file until `until`, then returns what was read.
    async fn finish(mut self, until: tokio::time::Instant) -> Vec<u8> {
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(until, task).await.is_err() {
                tracing::debug!(
                    "a background process keeps the command's output open; not waiting for it"
                );
                abort.abort();
            }
        }
        self.take()
    }

    fn abort(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    fn take(&self) -> Vec<u8> {
        match self.buffer.lock() {
            Ok(mut buffer) => std::mem::take(&mut *buffer),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}
