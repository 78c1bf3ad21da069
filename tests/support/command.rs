//! Runs the `runbook` binary and checks what it printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository root (for the shipped stdlib and runbooks).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `runbook` invocation under construction.
pub struct Runbook {
    command: Command,
}

/// What a finished invocation left behind.
#[derive(Debug)]
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Runbook {
    pub fn new() -> Runbook {
        let mut command = Command::new(env!("CARGO_BIN_EXE_runbook"));
        command
            .env_remove("RUST_LOG")
            .env_remove("RUNBOOK_STDLIB")
            .env("NO_COLOR", "1");
        command.stdin(Stdio::null());
        Runbook { command }
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Runbook {
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Runbook
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Runbook {
        self.command.env(name, value);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Runbook {
        self.command.current_dir(dir);
        self
    }

    /// Runs as another user (tests run as root; supplementary groups are dropped).
    pub fn run_as(mut self, uid: u32, gid: u32) -> Runbook {
        use std::os::unix::process::CommandExt;
        self.command.uid(uid).gid(gid);
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Finished {
        let output = self.command.output().expect("runbook binary runs");
        Finished {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts it in the background with captured output.
    pub fn spawn(mut self) -> std::process::Child {
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.command.spawn().expect("runbook binary starts")
    }
}

impl Default for Runbook {
    fn default() -> Runbook {
        Runbook::new()
    }
}

impl Finished {
    /// Asserts the exit code, showing everything printed when it differs.
    pub fn code(self, expected: i32) -> Finished {
        assert_eq!(
            self.code, expected,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn success(self) -> Finished {
        self.code(0)
    }

    pub fn stdout_has(self, needle: &str) -> Finished {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// stderr with miette's wrapped message lines joined again.
    pub fn stderr_unwrapped(&self) -> String {
        self.stderr.replace("\n  │ ", " ")
    }

    pub fn stderr_has(self, needle: &str) -> Finished {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create test dir");
    }
    std::fs::write(&path, text).expect("write test file");
    path
}

/// Writes `script` as `dir/name` and runs it there with `-i inventory`.
pub fn run_script(dir: &Path, inventory: &Path, name: &str, script: &str) -> Finished {
    write_file(dir, name, script);
    Runbook::new()
        .current_dir(dir)
        .arg("run")
        .arg(name)
        .arg("-i")
        .arg(inventory)
        .run()
}

/// Whether `haystack` holds `needle` however miette wrapped it: whitespace and the
/// report's frame (`│`) are left out of both.
pub fn says(haystack: &str, needle: &str) -> bool {
    let squeezed = |text: &str| -> String {
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    squeezed(haystack).contains(&squeezed(needle))
}

/// The value of the `name=value` line a script printed.
pub fn printed(stdout: &str, name: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {stdout}"))
        .to_string()
}

/// The `result` of a `--output json` run (its `value` is what the script returned).
pub fn json_result(stdout: &str) -> serde_json::Value {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "result")
        .map(|v| v["result"].clone())
        .unwrap_or_else(|| panic!("no result line in {stdout}"))
}

/// A diagnostic as miette renders it without colours.
pub fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(300)
        .render_report(&mut out, diagnostic)
        .expect("render report");
    out
}
