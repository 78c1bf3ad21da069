//! The one reporting channel: script output, step events and progress, for humans or as JSON lines.
//!
//! Human mode writes what a script prints to stdout and status lines and
//! progress to stderr; JSON mode writes one JSON object per line to stdout.

use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
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
    // Serialises writes so lines from concurrent hosts never interleave.
    lock: Arc<Mutex<()>>,
}

impl Reporter {
    pub fn new(format: OutputFormat) -> Reporter {
        Reporter {
            format,
            stderr_is_tty: std::io::stderr().is_terminal(),
            lock: Arc::new(Mutex::new(())),
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

    /// Progress of a long operation: rewritten in place on a terminal, else a line every 10%.
    pub fn progress(&self, label: &str, done: u64, total: u64) {
        if self.format == OutputFormat::Json {
            return;
        }
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        if self.stderr_is_tty {
            let _ = write!(err, "\r\x1b[2K{label}: {done}/{total}");
            if done >= total {
                let _ = writeln!(err);
            }
        } else if total > 0
            && (done == total || (done * 10 / total) != ((done.saturating_sub(1)) * 10 / total))
        {
            let _ = writeln!(err, "{label}: {done}/{total}");
        }
    }

    fn stdout_line(&self, text: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn stderr_line(&self, text: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    fn json(&self, value: Value) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }
}
