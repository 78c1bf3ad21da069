//! The journal file (`<runbook>.journal`, where [`super::location`] puts it), owner-only,
//! appended one JSON line per event and synced to disk before the run goes on.

use super::event::Event;
use super::history::History;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum JournalError {
    #[error("cannot use the journal {path}: {reason}")]
    #[diagnostic(
        code(runbook::journal::io),
        help("the journal lives in .runbook/ next to the inventory, or in the user's state directory when that is not writable; choose a writable directory with --journal DIR")
    )]
    Io { path: String, reason: String },
    #[error("line {line} of the journal {path} is not a journal event: {reason}")]
    #[diagnostic(
        code(runbook::journal::corrupt),
        help("the journal is append-only JSON lines; move the damaged file aside to start over (it is the record of earlier runs)")
    )]
    Corrupt {
        path: String,
        line: usize,
        reason: String,
    },
}

/// An open journal for one run.
pub struct Journal {
    path: PathBuf,
    run: String,
    file: Mutex<File>,
}

impl Journal {
    /// Reads what the journal holds so far and opens it for this run's events.
    pub fn open(path: &Path) -> Result<(Journal, History), JournalError> {
        let io = |e: std::io::Error| JournalError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let history = History::from_events(read_events(path)?);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        // A line cut short by a crash would swallow the next event: end it first.
        let text = std::fs::read(path).map_err(io)?;
        if text.last().is_some_and(|b| *b != b'\n') {
            file.write_all(b"\n").map_err(io)?;
        }
        let run = format!(
            "{}-{}",
            chrono::Local::now().format("%Y%m%dT%H%M%S"),
            std::process::id()
        );
        Ok((
            Journal {
                path: path.to_path_buf(),
                run,
                file: Mutex::new(file),
            },
            history,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This run's id.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// Everything the journal holds now, this run's events included.
    pub fn history(&self) -> Result<History, JournalError> {
        Ok(History::from_events(read_events(&self.path)?))
    }

    /// Appends one event and syncs it to disk.
    pub fn append(&self, event: &Event) -> Result<(), JournalError> {
        let io = |e: std::io::Error| JournalError::Io {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        };
        let mut line = serde_json::to_string(event).map_err(|e| io(std::io::Error::other(e)))?;
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)
    }
}

fn read_events(path: &Path) -> Result<Vec<Event>, JournalError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(JournalError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        }
    };
    let mut events = Vec::new();
    let lines: Vec<_> = BufReader::new(file).lines().collect();
    let count = lines.len();
    for (number, line) in lines.into_iter().enumerate() {
        let line = line.map_err(|e| JournalError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(event) => events.push(event),
            // A line cut short by a crash mid-write can only be the last one.
            Err(_) if number + 1 == count => break,
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.display().to_string(),
                    line: number + 1,
                    reason: e.to_string(),
                })
            }
        }
    }
    Ok(events)
}
