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
    let script = absolute(script);
    if let Some(dir) = explicit {
        return JournalLocation {
            path: dir.join(file_name_in(dir, &script)),
            notice: None,
        };
    }
    let base = inventory
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let beside = base.join(".runbook");
    let file_name = file_name_in(&beside, &script);
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
    let file_name = file_name_in(&dir, &script);
    JournalLocation {
        notice: Some(format!(
            "{} is not writable: the journal is {} (choose another with --journal DIR)",
            base.display(),
            dir.join(&file_name).display()
        )),
        path: dir.join(file_name),
    }
}

/// The journal's file name in `dir` for the runbook at the absolute path `script`:
/// `<stem>.journal`, unless that file is the journal of another runbook of the same name
/// (two `backup.rhai` in different directories), which makes it `<stem>-<checksum of the
/// path>.journal`. A journal that does not say which runbook it records (written before
/// journals did) is taken as this runbook's.
fn file_name_in(dir: &Path, script: &Path) -> String {
    let stem = script
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "runbook".into());
    let plain = format!("{stem}.journal");
    match recorded_script(&dir.join(&plain)) {
        Some(recorded) if Path::new(&recorded).is_absolute() && Path::new(&recorded) != script => {
            let text = script.to_string_lossy();
            format!("{stem}-{:08x}.journal", crc32c::crc32c(text.as_bytes()))
        }
        _ => plain,
    }
}

/// The runbook the journal at `path` records (its first run's `script`), if it says.
fn recorded_script(path: &Path) -> Option<String> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).ok()?;
    std::io::BufReader::new(file)
        .lines()
        .take(1)
        .find_map(|line| {
            let event: serde_json::Value = serde_json::from_str(&line.ok()?).ok()?;
            event.get("script")?.as_str().map(str::to_string)
        })
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

/// The path with symbolic links resolved where it exists, else made absolute.
pub fn absolute(path: &Path) -> PathBuf {
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

    #[test]
    fn runbooks_of_the_same_name_in_different_directories_keep_their_own_journals() {
        let dir = tempfile::tempdir().unwrap();
        let journals = dir.path().join("journals");
        std::fs::create_dir(&journals).unwrap();
        let first = dir.path().join("a/backup.rhai");
        let second = dir.path().join("b/backup.rhai");
        let chosen = locate(Some(&journals), None, &first);
        assert_eq!(chosen.path, journals.join("backup.journal"));
        std::fs::write(
            &chosen.path,
            format!(
                "{{\"run\":\"r1\",\"event\":\"run_started\",\"time\":\"t\",\"script\":\"{}\"}}\n",
                first.display()
            ),
        )
        .unwrap();
        assert_eq!(
            locate(Some(&journals), None, &first).path,
            chosen.path,
            "the same runbook finds its journal"
        );
        let other = locate(Some(&journals), None, &second).path;
        let name = other.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("backup-") && name.ends_with(".journal"),
            "{name}"
        );
        assert_eq!(locate(Some(&journals), None, &second).path, other, "stable");
    }
}
