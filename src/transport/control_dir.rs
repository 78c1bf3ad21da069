//! A private (mode 0700) directory per ssh session for its control socket, so
//! no other local user can reach the master connection through the socket.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Removed, with everything in it, when dropped.
#[derive(Debug)]
pub struct ControlDir {
    path: PathBuf,
}

impl ControlDir {
    /// Creates `$TMPDIR/runbook-ssh-<random>` with mode 0700.
    pub fn create() -> std::io::Result<ControlDir> {
        let base = std::env::temp_dir();
        let mut last_error = None;
        for attempt in 0..8u32 {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u32(std::process::id());
            hasher.write_u32(attempt);
            let path = base.join(format!("runbook-ssh-{:016x}", hasher.finish()));
            // create (not create_all): fails if the name exists, so a directory
            // someone else prepared is never used.
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
                    return Ok(ControlDir { path });
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    last_error = Some(err)
                }
                Err(err) => return Err(err),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("no free directory name")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
