//! No secret leaves etcd: the whole `v2-to-v3.rhai` migration of a TLS lab, at
//! the most verbose logging (`-vvv`, `RUST_LOG=trace`) with `--output json`,
//! and a refused second run, print no private key material and no stored
//! secret value on stdout or stderr, nor write any into the journal, records,
//! config copies or logs. Backups, the journal, records and config copies are
//! owner-only (real `stat()` modes after the run), as are etcd's data dirs.

use crate::support::command::{repo_root, Finished, Runbook};
use crate::support::etcd::etcdctl;
use crate::support::lab::TestLab;
use crate::support::migration::{assert_migrated, before};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Every regular file under `dir`: path -> (modified, size, inode).
fn snapshot(dir: &Path, into: &mut BTreeMap<PathBuf, (SystemTime, u64, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            snapshot(&path, into);
        } else if meta.is_file() {
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            into.insert(path, (modified, meta.len(), meta.ino()));
        }
    }
}

fn walk(dir: &Path, visit: &mut dyn FnMut(&Path, &std::fs::Metadata)) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        visit(&path, &meta);
        if meta.is_dir() {
            walk(&path, visit);
        }
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What must never show up, with a label for the failure message.
fn needles(lab: &TestLab, secrets: &[String]) -> Vec<(String, String)> {
    let mut needles = Vec::new();
    let mut keys = Vec::new();
    walk(&lab.dir, &mut |path, meta| {
        if meta.is_file() && path.extension().is_some_and(|e| e == "key") {
            keys.push(path.to_path_buf());
        }
    });
    assert_eq!(keys.len(), 7, "the lab's private keys: {keys:?}");
    for key in keys {
        let text = std::fs::read_to_string(&key).unwrap();
        needles.push((
            format!("{} (whole)", key.display()),
            text.trim().to_string(),
        ));
        for line in text
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        {
            needles.push((format!("a line of {}", key.display()), line.to_string()));
        }
    }
    for secret in secrets {
        needles.push((format!("secret value {secret}"), secret.clone()));
        needles.push((
            format!("base64 of secret value {secret}"),
            base64(secret.as_bytes()),
        ));
    }
    needles
}

fn assert_clean(what: &str, text: &str, needles: &[(String, String)]) {
    for (label, needle) in needles {
        assert!(!text.contains(needle.as_str()), "{what} leaks {label}");
    }
}

fn verbose_run(lab: &TestLab, extra: &[&str]) -> Finished {
    Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-vvv"])
        .args(extra)
        .arg("-i")
        .arg(lab.inventory())
        .env("RUST_LOG", "trace")
        .current_dir(repo_root())
        .run()
}

/// Paths with group or other permission bits (directories: anything but 0700).
fn loose(path: &Path, meta: &std::fs::Metadata, into: &mut Vec<String>) {
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 || (meta.is_dir() && mode != 0o700) {
        into.push(format!("{mode:04o} {}", path.display()));
    }
}

#[test]
fn a_verbose_migration_leaks_no_key_or_secret_and_keeps_its_files_private() {
    let lab = TestLab::up(&["--tls", "--keys", "200"]);
    let nonce = format!(
        "{:x}{:x}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let password = format!("s3cr3t-{nonce}-db-password");
    let token = format!("sha256~Tk{nonce}x9QvL2mZr7WcYb3JhNd8FsAe");
    let env = lab.env();
    for (key, value, ttl) in [
        (
            "/kubernetes.io/secrets/default/db-credentials",
            password.as_str(),
            None,
        ),
        (
            "/openshift.io/oauth/accesstokens/runbook-test-token",
            token.as_str(),
            Some("86400"),
        ),
    ] {
        let mut args = vec!["set", key, value];
        if let Some(ttl) = ttl {
            args.extend(["--ttl", ttl]);
        }
        let set = etcdctl(&env, 2, &args);
        assert_eq!(set.code, 0, "seeding {key}: {}", set.stderr);
    }
    let before = before(&lab);
    assert_eq!(
        before
            .leaves
            .get("/kubernetes.io/secrets/default/db-credentials")
            .map(|l| l.value.as_str()),
        Some(password.as_str())
    );
    let needles = needles(&lab, &[password.clone(), token.clone()]);

    let mut files_before = BTreeMap::new();
    snapshot(&lab.dir, &mut files_before);

    let run = verbose_run(&lab, &["--output", "json"]).success();
    assert!(run.stderr.contains("TRACE"), "trace logging is on");
    assert!(run.stdout.contains("\"event\""), "json output");
    assert_migrated(&lab, &before);
    // A second run refuses: its error path must not leak either.
    let again = verbose_run(&lab, &[]).code(1);

    for (what, text) in [
        ("stdout of the migration", &run.stdout),
        ("stderr of the migration", &run.stderr),
        ("stdout of the refused run", &again.stdout),
        ("stderr of the refused run", &again.stderr),
    ] {
        assert_clean(what, text, &needles);
    }

    // Every file the runs created or changed, except etcd's own data (member/,
    // also inside backups, and member.old.* moved aside by a join).
    let mut files_after = BTreeMap::new();
    snapshot(&lab.dir, &mut files_after);
    let changed: Vec<&PathBuf> = files_after
        .iter()
        .filter(|(path, stamp)| files_before.get(*path) != Some(stamp))
        .map(|(path, _)| path)
        .filter(|path| {
            !path.components().any(|c| {
                let c = c.as_os_str().to_string_lossy();
                c == "member" || c.starts_with("member.old")
            })
        })
        .collect();
    let journal = lab.dir.join(".runbook/v2-to-v3.journal");
    assert!(
        changed.contains(&&journal),
        "the journal is among the files: {changed:?}"
    );
    assert!(
        changed
            .iter()
            .any(|p| p.ends_with("runbook-v2-to-v3-migration.json")),
        "{changed:?}"
    );
    assert!(
        changed
            .iter()
            .any(|p| p.to_string_lossy().contains("master-config.yaml.runbook-")),
        "{changed:?}"
    );
    for path in &changed {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        assert_clean(&path.display().to_string(), &text, &needles);
    }

    // Owner-only: the journal, backups, records, config copies, etcd data.
    let mut loose_files = Vec::new();
    let runbook_dir = lab.dir.join(".runbook");
    loose(
        &runbook_dir,
        &std::fs::metadata(&runbook_dir).unwrap(),
        &mut loose_files,
    );
    walk(&runbook_dir, &mut |path, meta| {
        loose(path, meta, &mut loose_files)
    });
    assert_eq!(
        std::fs::metadata(&journal).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut backups = 0;
    let mut conf_copies = 0;
    for member in ["etcd-1", "etcd-2", "etcd-3"] {
        let data = lab.host_dir(member).join("var/lib/etcd");
        loose(&data, &std::fs::metadata(&data).unwrap(), &mut loose_files);
        walk(&data, &mut |path, meta| {
            loose(path, meta, &mut loose_files);
            if meta.is_dir()
                && path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("openshift-backup-pre-migration")
            {
                backups += 1;
            }
        });
        for entry in std::fs::read_dir(lab.host_dir(member).join("etc/etcd"))
            .unwrap()
            .flatten()
        {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("etcd.conf.runbook-")
            {
                conf_copies += 1;
                loose(&entry.path(), &entry.metadata().unwrap(), &mut loose_files);
            }
        }
        let record = data.join("runbook-v2-to-v3-migration.json");
        assert_eq!(
            std::fs::metadata(&record).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            record.display()
        );
    }
    assert_eq!(backups, 3, "one backup per member");
    assert!(conf_copies >= 1, "etcd.conf was copied before an edit");
    let master = lab.host_dir("master-1").join("etc/origin/master");
    let mut copies = 0;
    for entry in std::fs::read_dir(&master).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("master-config.yaml.runbook-")
        {
            copies += 1;
            loose(&entry.path(), &entry.metadata().unwrap(), &mut loose_files);
        }
    }
    assert!(
        copies >= 1,
        "master-config.yaml was copied before the patch"
    );
    assert!(
        loose_files.is_empty(),
        "not owner-only:\n{}",
        loose_files.join("\n")
    );
}
