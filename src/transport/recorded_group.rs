//! A command's process group recorded in a pid file on the host, so that a second command
//! (on another ssh channel, or through sudo as the same user) can kill the whole group: on
//! timeout or cancellation, closing a channel or killing a local `sudo` does not stop it.

use super::shell_quote;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Exit code of the wrapper when it cannot record the pid file...
pub const PIDFILE_FAILED: i32 = 125;
/// ...and how its stderr then starts, to tell it from a command's own exit 125.
pub const PIDFILE_MESSAGE: &str = "runbook: cannot record the command's pid in ";

/// A fresh, unguessable pid-file path on the host.
pub fn pid_file() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    format!("/tmp/runbook-{:016x}.pid", hasher.finish())
}

/// The command line that execs `sh`, which records its process group (field 5 of
/// `/proc/$$/stat`; its own pid where there is no /proc: sshd starts each command in a new
/// session, sudo each in its own group or in sudo's), runs `command` and removes the pid
/// file. A command killed by a signal reports 128 + the signal, as locally.
pub fn wrap(command: &str, pid_file: &str) -> String {
    let wrapper = format!(
        "{{ g=$$; read -r _ _ _ _ g _ < /proc/$$/stat || g=$$; echo \"$g\" > \"$1\"; }} 2>/dev/null || {{ echo \"{PIDFILE_MESSAGE}$1\" >&2; exit {PIDFILE_FAILED}; }}; \
         sh -c \"$2\"; rc=$?; rm -f \"$1\"; exit $rc"
    );
    format!(
        "exec sh -c {} runbook {} {}",
        shell_quote(&wrapper),
        shell_quote(pid_file),
        shell_quote(command)
    )
}

/// The command line that kills the process group recorded in `pid_file` (SIGTERM, then
/// SIGKILL after about a second) and removes the file.
///
/// The wrapper may not have written the file yet when a command is cancelled right after
/// it started, so wait for it briefly.
pub fn kill(pid_file: &str) -> String {
    let script = format!(
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
    );
    format!("exec sh -c {}", shell_quote(&script))
}
