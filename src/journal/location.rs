//! Where a runbook's journal lives: `.runbook/` next to the inventory when that directory
//! can be written, else the user's state directory under a name made from the inventory's
//! absolute path (so `/etc/ansible/hosts` works for a user who cannot write `/etc/ansible`),
//! or the directory `--journal` names.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The journal file chosen for a run, and a line telling the operator when it is not the
/// usual place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLocation {
    pub path: PathBuf,
    pub notice: Option<String>,
}

/// Chooses the journal of `script` for `inventory` (the current directory stands in
/// without one); `explicit` is `--journal DIR`.
pub fn locate(explicit: Option<&Path>, inventory: Option<&Path>, script: &Path) -> JournalLocation {
    let file_name = format!(
        "{}.journal",
        script
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "runbook".into())
    );
    if let Some(dir) = explicit {
        return JournalLocation {
            path: dir.join(file_name),
            notice: None,
        };
    }
    let base = inventory
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let beside = base.join(".runbook");
    if usable(&beside, &file_name) {
        return JournalLocation {
            path: beside.join(file_name),
            notice: None,
        };
    }
    let Some(state) = crate::state_dir::runbook_state_dir() else {
        // Nowhere better: opening it reports why it cannot be used.
        return JournalLocation {
            path: beside.join(file_name),
            notice: None,
        };
    };
    let dir = state
        .join("journals")
        .join(key(&absolute(inventory.unwrap_or(&base))));
    JournalLocation {
        notice: Some(format!(
            "{} is not writable: the journal is {} (choose another with --journal DIR)",
            base.display(),
            dir.join(&file_name).display()
        )),
        path: dir.join(file_name),
    }
}

/// Whether the journal can be kept in `dir`: the file (if any) and the directory (if any,
/// else its parent, where it would be made) are writable by this user.
fn usable(dir: &Path, file_name: &str) -> bool {
    let file = dir.join(file_name);
    if file.exists() {
        return writable(&file) && writable(dir);
    }
    if dir.exists() {
        return writable(dir);
    }
    dir.parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .is_some_and(writable)
}

/// `access(2)` with W_OK (and X_OK for a directory): what this user may do, read-only
/// file systems included.
fn writable(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mode = if path.is_dir() {
        libc::W_OK | libc::X_OK
    } else {
        libc::W_OK
    };
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c_path.as_ptr(), mode) == 0 }
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// A directory name for an inventory's journals: its path made readable, and a checksum of
/// the exact path so that `a/b_c` and `a_b/c` do not share one.
fn key(inventory: &Path) -> String {
    let text = inventory.to_string_lossy();
    let readable: String = text
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{readable}-{:08x}", crc32c::crc32c(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_readable_and_tells_similar_paths_apart() {
        let a = key(Path::new("/etc/ansible/hosts"));
        assert!(a.starts_with("etc_ansible_hosts-"), "{a}");
        assert_eq!(a, key(Path::new("/etc/ansible/hosts")), "stable");
        assert_ne!(key(Path::new("/a/b_c")), key(Path::new("/a_b/c")));
    }

    #[test]
    fn an_explicit_directory_wins_and_a_writable_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("hosts");
        let chosen = locate(None, Some(&inventory), Path::new("runbooks/v2-to-v3.rhai"));
        assert_eq!(chosen.path, dir.path().join(".runbook/v2-to-v3.journal"));
        assert_eq!(chosen.notice, None);
        let other = dir.path().join("elsewhere");
        let chosen = locate(Some(&other), Some(&inventory), Path::new("x.rhai"));
        assert_eq!(chosen.path, other.join("x.journal"));
    }
}
