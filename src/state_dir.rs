//! The user's state directory for runbook: `$XDG_STATE_HOME/runbook`, else
//! `~/.local/state/runbook` (REPL history, journals that cannot live beside the inventory).

use std::path::PathBuf;

/// The directory (not created here); `None` without `XDG_STATE_HOME` or `HOME`.
pub fn runbook_state_dir() -> Option<PathBuf> {
    let state = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?)
            .join(".local")
            .join("state"),
    };
    Some(state.join("runbook"))
}
