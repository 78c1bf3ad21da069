//! Collecting a command's stdout or stderr while it runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

/// After a command exits, how long to keep reading output that a background
/// process it started may still hold open.
pub const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// The pipe buffer asked for a command's output: at Linux's default 64 KiB, reading a large
/// file (a snapshot of hundreds of MiB) took a wake-up of each side per 64 KiB.
const PIPE_BYTES: libc::c_int = 1 << 20;

/// Asks for a larger buffer on the pipe `fd` (its read end); keeps the default if the
/// system refuses (`/proc/sys/fs/pipe-max-size`).
pub fn widen_pipe(fd: Option<std::os::fd::RawFd>) {
    if let Some(fd) = fd {
        // SAFETY: fcntl on a descriptor the caller holds open; no memory is passed.
        let _ = unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_BYTES) };
    }
}

/// Reads one output pipe in the background into a shared buffer, so what was
/// read so far survives if the reader has to be abandoned.
pub struct Collector {
    buffer: Arc<Mutex<Vec<u8>>>,
    task: Option<JoinHandle<()>>,
}

impl Collector {
    pub fn start<R: AsyncRead + Unpin + Send + 'static>(pipe: Option<R>) -> Collector {
        Collector::start_after(Vec::new(), pipe)
    }

    /// Like [`Collector::start`], for a pipe of which `head` was already read.
    pub fn start_after<R: AsyncRead + Unpin + Send + 'static>(
        head: Vec<u8>,
        pipe: Option<R>,
    ) -> Collector {
        let buffer = Arc::new(Mutex::new(head));
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
    pub async fn finish(mut self, until: tokio::time::Instant) -> Vec<u8> {
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

    pub fn abort(mut self) {
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
