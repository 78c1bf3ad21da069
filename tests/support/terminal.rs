//! A real terminal for interactive tests: the binary runs in a private tmux server
//! (its own socket), keys go in with send-keys, the screen comes back with capture-pane.
//! The server is stopped by its PID when the test ends, pass or fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Terminal {
    socket: PathBuf,
    server_pid: Option<i32>,
    _dir: tempfile::TempDir,
}

impl Terminal {
    /// Runs `runbook ARGS` in `cwd` on a 160x50 terminal with `env` set.
    pub fn start(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Terminal {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tmux.sock");
        let mut command = vec![shell_quote(env!("CARGO_BIN_EXE_runbook"))];
        command.extend(args.iter().map(|a| shell_quote(a)));
        // Keep the pane (and what it showed) after the program exits.
        let line = format!("{}; echo \"[exit $?]\"; sleep 600", command.join(" "));
        let mut tmux = Command::new("tmux");
        tmux.arg("-S").arg(&socket).args([
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "50",
        ]);
        tmux.arg("-c").arg(cwd);
        for (name, value) in env {
            tmux.arg("-e").arg(format!("{name}={value}"));
        }
        tmux.args(["-e", "NO_COLOR=1", "-e", "TERM=xterm"]);
        tmux.arg(line);
        let status = tmux.status().expect("tmux (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        let mut terminal = Terminal {
            socket,
            server_pid: None,
            _dir: dir,
        };
        let pid = terminal.tmux(&["display-message", "-p", "#{pid}"]);
        terminal.server_pid = pid.trim().parse().ok();
        terminal
    }

    fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types text (no Enter).
    pub fn type_text(&self, text: &str) {
        // tmux reads a final `;` as the end of its own command unless escaped.
        let text = match text.strip_suffix(';') {
            Some(rest) => format!("{rest}\\;"),
            None => text.to_string(),
        };
        self.tmux(&["send-keys", "-t", "0", "-l", &text]);
    }

    /// Types a line and presses Enter.
    pub fn line(&self, text: &str) {
        self.type_text(text);
        self.key("Enter");
    }

    /// Presses a key by tmux name: Enter, Tab, Up, C-c, C-d.
    pub fn key(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "0", key]);
    }

    /// The whole screen and scrollback, lines joined where they wrapped.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-t", "0", "-S", "-2000"])
    }

    /// Waits until the screen shows `text` at least `count` times; returns the screen.
    pub fn wait_for_count(&self, text: &str, count: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= count {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {count} x {text:?}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen shows `text`; returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_for_count(text, 1, Duration::from_secs(30))
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // The program in the pane gets SIGHUP when its terminal goes away.
        if let Some(pid) = self.server_pid {
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
