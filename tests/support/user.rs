//! A real non-root user for a test: made with `useradd` under a unique name (recorded, so a
//! later test run removes what a killed one left), a password set with `chpasswd`, an
//! optional sudoers.d rule, and an authorized ssh key; `userdel` and the rule's removal on
//! drop, however the test ends.

use std::io::{Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where created users are recorded: `name creator-pid` lines.
const REGISTRY: &str = "/var/tmp/runbook-test-users";

/// What sudo lets the user do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sudo {
    /// No sudoers rule at all.
    Nothing,
    /// `ALL=(ALL:ALL) NOPASSWD: ALL`.
    NoPassword,
    /// `ALL=(ALL:ALL) ALL`: sudo asks for the user's password.
    WithPassword,
}

/// A user that exists until dropped.
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// The user's own password (what sudo asks for).
    pub password: String,
    pub home: PathBuf,
}

impl TestUser {
    /// Creates the user, with `sudo` as its sudoers rule and `defaults` as extra
    /// `Defaults:<user>` settings (such as `!use_pty`).
    pub fn create(sudo: Sudo, defaults: &[&str]) -> TestUser {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        // The pid and a counter make it unique in this run, the random part across runs
        // (a killed run's pid may come again): never the name of a user made by another.
        let name = format!(
            "rbk{}x{}{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            &random_hex()[..6]
        );
        with_registry(|entries| {
            remove_stale(entries);
            entries.push(format!("{name} {}", std::process::id()));
        });
        let added = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", "--user-group"])
            .arg(&name)
            .output()
            .expect("useradd runs");
        if !added.status.success() {
            // Not made here: never removed by this registry either.
            forget(&name);
            panic!("useradd {name}: {}", String::from_utf8_lossy(&added.stderr));
        }
        let password = format!("pw-{}-{}", random_hex(), "Zq9!");
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd runs");
        chpasswd
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{name}:{password}\n").as_bytes())
            .unwrap();
        assert!(chpasswd.wait().unwrap().success(), "chpasswd for {name}");
        let user = TestUser {
            uid: id_number(&name, "-u"),
            gid: id_number(&name, "-g"),
            home: PathBuf::from(format!("/home/{name}")),
            name,
            password,
        };
        let mut rule = String::new();
        for setting in defaults {
            rule.push_str(&format!("Defaults:{} {setting}\n", user.name));
        }
        match sudo {
            Sudo::Nothing => {}
            Sudo::NoPassword => {
                rule.push_str(&format!("{} ALL=(ALL:ALL) NOPASSWD: ALL\n", user.name))
            }
            Sudo::WithPassword => rule.push_str(&format!("{} ALL=(ALL:ALL) ALL\n", user.name)),
        }
        if !rule.is_empty() {
            let path = sudoers_file(&user.name);
            std::fs::write(&path, rule).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o440)).unwrap();
            run(Command::new("visudo").arg("-cf").arg(&path));
        }
        user
    }

    /// Lets the holder of `public_key` log in as this user over ssh.
    pub fn authorize_key(&self, public_key: &Path) {
        let ssh = self.home.join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::copy(public_key, ssh.join("authorized_keys")).unwrap();
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o700)).unwrap();
        run(Command::new("chown")
            .arg("-R")
            .arg(format!("{0}:{0}", self.name))
            .arg(&ssh));
    }

    /// A directory owned by this user (mode 0700), for files it must write.
    pub fn own_dir(&self, name: &str) -> PathBuf {
        let dir = self.home.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        run(Command::new("chown")
            .arg(format!("{0}:{0}", self.name))
            .arg(&dir));
        dir
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        remove_user(&self.name);
        forget(&self.name);
    }
}

/// Takes `name` out of the registry.
fn forget(name: &str) {
    with_registry(|entries| entries.retain(|entry| entry.split(' ').next() != Some(name)));
}

fn sudoers_file(name: &str) -> PathBuf {
    // No dot in the name: sudo skips files of /etc/sudoers.d whose names have one.
    PathBuf::from(format!("/etc/sudoers.d/runbook-test-{name}"))
}

fn remove_user(name: &str) {
    let _ = std::fs::remove_file(sudoers_file(name));
    let _ = Command::new("userdel")
        .args(["--force", "--remove"])
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Removes the users recorded by test processes that no longer run.
fn remove_stale(entries: &mut Vec<String>) {
    entries.retain(|entry| {
        let mut fields = entry.split(' ');
        let (Some(name), Some(pid)) = (fields.next(), fields.next()) else {
            return false;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            return true;
        }
        remove_user(name);
        false
    });
}

/// Runs `change` on the registry's entries under an exclusive lock.
fn with_registry(change: impl FnOnce(&mut Vec<String>)) {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(REGISTRY)
        .expect("the test user registry");
    // SAFETY: flock(2) on a file descriptor this function owns.
    assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    let mut entries: Vec<String> = text.lines().map(str::to_string).collect();
    change(&mut entries);
    file.set_len(0).unwrap();
    file.rewind().unwrap();
    for entry in entries {
        writeln!(file, "{entry}").unwrap();
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("command runs");
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn id_number(name: &str, flag: &str) -> u32 {
    let output = Command::new("id").arg(flag).arg(name).output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
