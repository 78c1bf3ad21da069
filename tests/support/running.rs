//! A `runbook` run in the background whose stderr lines a test can wait for, to
//! inject a fault at a known point (`==> step NAME`, `<== step NAME: done ...`).

use super::command::{Finished, Runbook};
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A started run: its process, the stderr lines seen so far, and its stdout.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Starts `runbook` with its output captured.
    pub fn start(runbook: Runbook) -> Running {
        let mut child = runbook.spawn();
        let (sender, lines) = channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().expect("piped stderr");
        let seen = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Ok(mut text) = seen.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
                let _ = sender.send(line);
            }
        });
        let out = child.stdout.take().expect("piped stdout");
        let stdout = Arc::new(Mutex::new(String::new()));
        let printed = stdout.clone();
        let out_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(mut text) = printed.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        Running {
            child,
            lines,
            stderr,
            stdout,
            readers: vec![out_reader, err_reader],
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for a stderr line for which `wanted` is true; panics with the output so far
    /// if the run ends or `timeout` passes first.
    pub fn wait_for_line(&mut self, timeout: Duration, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no such line within {timeout:?}; stderr:\n{}",
                        self.stderr()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the run ended before the line; stderr:\n{}", self.stderr())
                }
            }
        }
    }

    /// Waits for `==> step NAME`.
    pub fn wait_for_step_start(&mut self, step: &str, timeout: Duration) {
        let line = format!("==> step {step}");
        self.wait_for_line(timeout, |l| l == line);
    }

    /// Waits for `<== step NAME: done in ...`.
    pub fn wait_for_step_done(&mut self, step: &str, timeout: Duration) {
        let prefix = format!("<== step {step}: done");
        self.wait_for_line(timeout, |l| l.starts_with(&prefix));
    }

    /// SIGSTOP: the run (every thread of it) stands still where it is, so a fault lands
    /// at a known point; its child processes go on.
    pub fn pause(&self) {
        // SAFETY: kill(2) has no memory effects; the pid is our child's and it was not reaped.
        unsafe {
            libc::kill(self.pid(), libc::SIGSTOP);
        }
    }

    /// SIGCONT after [`Running::pause`].
    pub fn carry_on(&self) {
        // SAFETY: as in `pause`.
        unsafe {
            libc::kill(self.pid(), libc::SIGCONT);
        }
    }

    /// What stderr held so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// SIGKILL: no cleanup of any kind.
    pub fn kill(mut self) -> Finished {
        let _ = self.child.kill();
        self.collect()
    }

    /// Waits for the run to end by itself (SIGKILL and a panic after `timeout`).
    pub fn finish(mut self, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return self.collect(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = self.child.kill();
                    let stuck = self.collect();
                    panic!(
                        "the run did not end within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                        stuck.stdout, stuck.stderr
                    );
                }
            }
        }
    }

    fn collect(&mut self) -> Finished {
        let status = self.child.wait().expect("wait for runbook");
        // A process the run started (an ssh master) may hold its pipes open: read
        // until they close, or for at most two seconds.
        let until = Instant::now() + Duration::from_secs(2);
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        Finished {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.lock().map(|s| s.clone()).unwrap_or_default(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
