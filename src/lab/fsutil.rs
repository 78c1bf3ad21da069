//! Creating the lab's files and directories with the modes a real host would have.

use super::error::LabError;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and its parents (0755).
pub fn create_dir(dir: &Path) -> Result<(), LabError> {
    std::fs::create_dir_all(dir).map_err(|e| LabError::io("create", dir, e))
}

/// Creates `dir` and its parents; `dir` itself is 0700 (it holds private keys).
pub fn create_private_dir(dir: &Path) -> Result<(), LabError> {
    if let Some(parent) = dir.parent() {
        create_dir(parent)?;
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| LabError::io("create", dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| LabError::io("set the mode of", dir, e))
}

fn write_with_mode(path: &Path, data: &[u8], mode: u32) -> Result<(), LabError> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        if !parent.exists() {
            create_dir(parent)?;
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| LabError::io("write", path, e))?;
    // An existing file keeps its old mode on open: narrow it before the data goes in.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| LabError::io("set the mode of", path, e))?;
    file.write_all(data)
        .map_err(|e| LabError::io("write", path, e))
}

/// Writes a regular file (0644).
pub fn write_file(path: &Path, data: &[u8]) -> Result<(), LabError> {
    write_with_mode(path, data, 0o644)
}

/// Writes a private file (0600): keys.
pub fn write_private_file(path: &Path, data: &[u8]) -> Result<(), LabError> {
    write_with_mode(path, data, 0o600)
}

/// Writes an executable script (0755).
pub fn write_executable(path: &Path, data: &[u8]) -> Result<(), LabError> {
    write_with_mode(path, data, 0o755)
}

/// Quotes `text` for a POSIX shell (single quotes).
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `dir` made absolute against the current directory: generated files and commands
/// must not depend on where they are run from.
pub fn absolute(dir: &Path) -> Result<std::path::PathBuf, LabError> {
    if dir.is_absolute() {
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| LabError::io("resolve", dir, e))?;
    Ok(cwd.join(dir))
}
