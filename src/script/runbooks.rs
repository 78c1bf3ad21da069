//! The shipped runbooks: finding one by name, and listing them with their descriptions.

use super::stdlib::shipped_dir;
use std::path::{Path, PathBuf};

/// A shipped runbook.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShippedRunbook {
    pub name: String,
    pub path: PathBuf,
    /// The first `//!` line of the file.
    pub description: String,
}

/// `script` as given when that file exists; else, for a bare name, the shipped
/// runbook of that name (with or without `.rhai`).
pub fn resolve(script: &Path) -> Option<PathBuf> {
    if script.is_file() {
        return Some(script.to_path_buf());
    }
    if script.components().count() != 1 {
        return None;
    }
    let name = script.to_string_lossy();
    let file = if name.ends_with(".rhai") {
        name.to_string()
    } else {
        format!("{name}.rhai")
    };
    let shipped = shipped_dir("runbooks").join(file);
    shipped.is_file().then_some(shipped)
}

/// Every shipped runbook, by name.
pub fn list() -> Vec<ShippedRunbook> {
    let dir = shipped_dir("runbooks");
    let mut runbooks: Vec<ShippedRunbook> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "rhai"))
        .map(|path| ShippedRunbook {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            description: description(&path),
            path,
        })
        .collect();
    runbooks.sort_by(|a, b| a.name.cmp(&b.name));
    runbooks
}

fn description(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                line.trim_start()
                    .strip_prefix("//!")
                    .map(|d| d.trim().to_string())
            })
        })
        .unwrap_or_default()
}
