//! The one reporting channel: script output, step events and progress, for humans or as JSON lines.
//!
//! Human mode writes what a script prints to stdout and status lines and
//! progress to stderr; on a terminal, the last line of stderr is the status line (the API
//! outage clock, the running step, progress with rate and ETA). JSON mode writes one JSON
//! object per line to stdout.

use crate::status_line::{clock, StatusLine};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Text and tables for people, progress on a terminal.
    #[default]
    Human,
    /// One JSON object per line on stdout.
    Json,
}

/// Where everything a run says goes. Cheap to clone; safe to share across threads.
#[derive(Clone)]
pub struct Reporter {
    format: OutputFormat,
    stderr_is_tty: bool,
    // Serialises writes so lines from concurrent hosts never interleave; holds the status
    // line, which every other line is written above.
    lock: Arc<Mutex<StatusLine>>,
    ticking: Arc<AtomicBool>,
}

impl Reporter {
    pub fn new(format: OutputFormat) -> Reporter {
        Reporter {
            format,
            stderr_is_tty: std::io::stderr().is_terminal(),
            lock: Arc::new(Mutex::new(StatusLine::default())),
            ticking: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the status line is drawn (people on a terminal).
    fn has_status_line(&self) -> bool {
        self.format == OutputFormat::Human && self.stderr_is_tty
    }

    fn status_line(&self) -> std::sync::MutexGuard<'_, StatusLine> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Redraws the status line every second, from the first time there is one.
    fn start_ticking(&self) {
        if !self.has_status_line() || self.ticking.swap(true, Ordering::SeqCst) {
            return;
        }
        let lock = self.lock.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            let mut line = lock.lock().unwrap_or_else(|e| e.into_inner());
            redraw(&mut line);
        });
    }

    /// The masters were stopped at `since`: the API is down.
    pub fn api_down(&self, since: DateTime<Utc>) {
        self.status_line().api_down(since);
        match self.format {
            OutputFormat::Human => {
                if self.has_status_line() {
                    self.start_ticking();
                } else {
                    self.stderr_line(&format!(
                        "API down since {} (the masters are stopped)",
                        since.format("%H:%M:%S UTC")
                    ));
                }
            }
            OutputFormat::Json => self.json(json!({
                "event": "api_down",
                "since": since.to_rfc3339_opts(SecondsFormat::Millis, true),
            })),
        }
    }

    /// The masters are active again at `now`, after an outage from `since`.
    pub fn api_up(&self, since: DateTime<Utc>, now: DateTime<Utc>) {
        self.status_line().api_up();
        let seconds = (now - since).num_milliseconds().max(0) as f64 / 1000.0;
        match self.format {
            OutputFormat::Human => self.stderr_line(&format!(
                "API back after {seconds:.1} s ({}, from {} to {})",
                clock(seconds.round() as u64),
                since.format("%H:%M:%S"),
                now.format("%H:%M:%S UTC")
            )),
            OutputFormat::Json => self.json(json!({
                "event": "api_up",
                "since": since.to_rfc3339_opts(SecondsFormat::Millis, true),
                "at": now.to_rfc3339_opts(SecondsFormat::Millis, true),
                "outage_seconds": seconds,
            })),
        }
    }

    /// A step started: the status line names it.
    pub fn step_started(&self, name: &str) {
        self.status_line().step_started(name);
        self.start_ticking();
    }

    /// The step ended.
    pub fn step_ended(&self) {
        let mut line = self.status_line();
        line.step_ended();
        if self.has_status_line() {
            redraw(&mut line);
        }
    }

    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// What a script printed with `print(...)`.
    pub fn print(&self, text: &str) {
        match self.format {
            OutputFormat::Human => self.stdout_line(text),
            OutputFormat::Json => self.json(json!({"event": "print", "message": text})),
        }
    }

    /// A status line ("starting etcd-1", "step backup done in 2.1s").
    pub fn status(&self, text: &str) {
        match self.format {
            OutputFormat::Human => self.stderr_line(text),
            OutputFormat::Json => self.json(json!({"event": "status", "message": text})),
        }
    }

    /// A structured event; in human mode its `message` field is shown as a status line.
    pub fn event(&self, event: &str, mut fields: Value) {
        match self.format {
            OutputFormat::Human => {
                if let Some(message) = fields.get("message").and_then(Value::as_str) {
                    self.stderr_line(message);
                }
            }
            OutputFormat::Json => {
                if let Value::Object(map) = &mut fields {
                    map.insert("event".into(), Value::String(event.into()));
                }
                self.json(fields);
            }
        }
    }

    /// A result for the end of a command: a text block for humans, a JSON object for machines.
    pub fn result(&self, human: &str, machine: Value) {
        match self.format {
            OutputFormat::Human if human.is_empty() => {}
            OutputFormat::Human => self.stdout_line(human.trim_end_matches('\n')),
            OutputFormat::Json => self.json(json!({"event": "result", "result": machine})),
        }
    }

    /// Progress of a long operation, with its rate and ETA: in the status line on a
    /// terminal, else a line every 10%; a line of its own when it is done.
    pub fn progress(&self, label: &str, done: u64, total: u64) {
        if self.format == OutputFormat::Json {
            return;
        }
        let mut line = self.status_line();
        let rate = line.progress(label, done, total);
        let text = match &rate {
            Some(rate) => format!("{label}: {done}/{total} ({rate})"),
            None => format!("{label}: {done}/{total}"),
        };
        if self.stderr_is_tty {
            if done >= total {
                write_above(&mut line, |err| writeln!(err, "{text}"));
            } else {
                redraw(&mut line);
            }
        } else if total > 0
            && (done == total || (done * 10 / total) != ((done.saturating_sub(1)) * 10 / total))
        {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    fn stdout_line(&self, text: &str) {
        let mut line = self.status_line();
        let tty = self.has_status_line();
        let write = || {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        };
        if tty {
            erase(&mut line);
            write();
            redraw(&mut line);
        } else {
            write();
        }
    }

    fn stderr_line(&self, text: &str) {
        let mut line = self.status_line();
        if self.has_status_line() {
            write_above(&mut line, |err| writeln!(err, "{text}"));
        } else {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    fn json(&self, value: Value) {
        let _guard = self.status_line();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }
}

/// Erases the status line if it is drawn.
fn erase(line: &mut StatusLine) {
    if line.drawn {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        line.drawn = false;
    }
}

/// Draws the status line again (or erases it when there is nothing to show).
fn redraw(line: &mut StatusLine) {
    let mut err = std::io::stderr().lock();
    match line.render(Utc::now()) {
        Some(text) => {
            let _ = write!(err, "\r\x1b[2K{text}");
            line.drawn = true;
        }
        None if line.drawn => {
            let _ = write!(err, "\r\x1b[2K");
            line.drawn = false;
        }
        None => {}
    }
    let _ = err.flush();
}

/// Writes to stderr above the status line.
fn write_above(
    line: &mut StatusLine,
    write: impl FnOnce(&mut std::io::StderrLock) -> std::io::Result<()>,
) {
    erase(line);
    let _ = write(&mut std::io::stderr().lock());
    redraw(line);
}
