//! Ending a local command's process group: SIGTERM, a grace period, then SIGKILL.
//!
//! Only groups this transport created (children spawned with `process_group(0)`,
//! so the group id is the child's pid) are ever signalled.

use std::time::Duration;
use tokio::process::Child;

/// How long a group gets to exit after SIGTERM before it is sent SIGKILL.
const GRACE: Duration = Duration::from_secs(1);

/// Sends `signal` to every process in group `pgid`; false if the group is gone.
fn signal_group(pgid: i32, signal: i32) -> bool {
    if pgid <= 1 {
        // Never signal "every process" (-1) or our own group (0).
        return false;
    }
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(-pgid, signal) == 0 }
}

/// Whether any process is still in group `pgid`.
fn group_alive(pgid: i32) -> bool {
    signal_group(pgid, 0)
}

/// Terminates the group led by `child` (SIGTERM, then SIGKILL after [`GRACE`])
/// and reaps the leader. Returns once the group is empty or was sent SIGKILL.
pub async fn terminate(child: &mut Child, pgid: i32) {
    signal_group(pgid, libc::SIGTERM);
    let deadline = tokio::time::Instant::now() + GRACE;
    // While the leader is unreaped its pid stays reserved, so the group id cannot
    // be reused by an unrelated process; reap it only after the group is dealt with.
    loop {
        let leader_done = matches!(child.try_wait(), Ok(Some(_)) | Err(_));
        if leader_done && !group_alive(pgid) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal_group(pgid, libc::SIGKILL);
    let _ = child.wait().await;
}

/// Kills group `pgid` with SIGKILL when dropped while armed: a `run` future that
/// is dropped mid-command must not leave the command running.
pub struct GroupGuard {
    pgid: i32,
    armed: bool,
}

impl GroupGuard {
    pub fn new(pgid: i32) -> GroupGuard {
        GroupGuard { pgid, armed: true }
    }

    /// The command finished (or was already killed): leave the group alone.
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group(self.pgid, libc::SIGKILL);
        }
    }
}
