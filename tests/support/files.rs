//! Files as a test looks at them: a path's permission bits, a directory's entries, a
//! backup's files against its manifest, the lines GNU diff sees change between two files.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The permission bits of `path` (`0o600`, ...).
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The names in directory `dir`.
pub fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Asserts that every file `manifest` (a backup manifest read from disk) lists under
/// `backup` has the sha256 it records, as coreutils' `sha256sum` computes it, not runbook.
pub fn assert_files_as_in_manifest(backup: &Path, manifest: &serde_json::Value, who: &str) {
    for file in manifest["files"].as_array().unwrap() {
        let path = backup.join(file["path"].as_str().unwrap());
        let out = std::process::Command::new("sha256sum")
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.split_whitespace().next(),
            file["sha256"].as_str(),
            "{who}: {}",
            path.display()
        );
    }
}

/// The lines GNU `diff -u` marks as removed (`-...`) or added (`+...`) from `before` to
/// `after`, in its order, without the file headers.
pub fn changed_lines(before: &Path, after: &Path) -> Vec<String> {
    let out = std::process::Command::new("diff")
        .arg("-u")
        .arg(before)
        .arg(after)
        .output()
        .expect("diff runs");
    String::from_utf8(out.stdout)
        .expect("diff prints text")
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .map(str::to_string)
        .collect()
}
