//! Where the REPL keeps its history: the user's state directory
//! (`$XDG_STATE_HOME/runbook`, else `~/.local/state/runbook`), owner-only.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

/// The history file, its directory created (0700) if need be. `None` when there is no
/// home to keep it in; the REPL then works without persistent history.
pub fn history_file() -> Option<PathBuf> {
    let dir = crate::state_dir::runbook_state_dir()?;
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .ok()?;
    }
    let file = dir.join("repl_history");
    if !file.exists() {
        // Created owner-only before anything is written to it: commands may name hosts and paths.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&file)
            .ok()?;
    }
    Some(file)
}
