//! A real sshd on loopback for tests: its own host key, an authorized client
//! key, a known_hosts file for it, and a Drop guard that stops it by pid. Besides
//! whoever runs the tests, it may let in test users (their own ~/.ssh/authorized_keys).

use super::process::free_port;
use runbook::inventory::Host;
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `sshd -D` owned by a test.
pub struct Sshd {
    dir: tempfile::TempDir,
    child: Child,
    /// Loopback address sshd listens on.
    pub address: String,
    pub port: u16,
    /// The user tests log in as (whoever runs the tests).
    pub user: String,
    /// A private key sshd accepts.
    pub key: PathBuf,
    /// A known_hosts file holding sshd's real host key for `[address]:port`.
    pub known_hosts: PathBuf,
}

impl Sshd {
    /// Starts sshd on a free loopback port and waits until it accepts connections.
    pub fn start() -> Sshd {
        Sshd::start_allowing(&[])
    }

    /// Like [`Sshd::start`], letting `others` log in too (with the keys in their own
    /// `~/.ssh/authorized_keys`).
    pub fn start_allowing(others: &[&str]) -> Sshd {
        let dir = tempfile::tempdir().expect("temp dir for sshd");
        std::fs::create_dir_all("/run/sshd").expect("sshd privilege separation dir");
        let host_key = dir.path().join("host_ed25519");
        keygen(&host_key);
        let key = dir.path().join("client_ed25519");
        keygen(&key);
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(key.with_extension("pub"), &authorized).expect("authorized_keys");
        let user = current_user();
        let allowed = std::iter::once(user.as_str())
            .chain(others.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let address = "127.0.0.1".to_string();

        // A port picked as free may be taken before sshd binds it: retry a few times.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\n\
                     ListenAddress {address}\n\
                     HostKey {host_key}\n\
                     PidFile {pid_file}\n\
                     AuthorizedKeysFile {authorized} .ssh/authorized_keys\n\
                     UsePAM no\n\
                     StrictModes no\n\
                     PermitRootLogin prohibit-password\n\
                     PubkeyAuthentication yes\n\
                     PasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\n\
                     AllowUsers {allowed}\n\
                     LogLevel VERBOSE\n",
                    host_key = host_key.display(),
                    pid_file = dir.path().join("sshd.pid").display(),
                    authorized = authorized.display(),
                ),
            )
            .expect("sshd_config");
            let log_path = dir.path().join("sshd.log");
            let log = std::fs::File::create(&log_path).expect("sshd log");
            let mut child = Command::new("/usr/sbin/sshd")
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start /usr/sbin/sshd");
            if wait_listening(&address, port, &mut child) {
                let known_hosts = dir.path().join("known_hosts");
                std::fs::write(
                    &known_hosts,
                    known_hosts_line(&address, port, &host_key.with_extension("pub")),
                )
                .expect("known_hosts");
                return Sshd {
                    dir,
                    child,
                    address,
                    port,
                    user,
                    key,
                    known_hosts,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("sshd did not start; its log:\n{last_log}");
    }

    /// An inventory host that reaches this sshd with the right key and known_hosts.
    pub fn host(&self, name: &str) -> Host {
        self.host_as(name, &self.user)
    }

    /// Like [`Sshd::host`], logging in as `login`.
    pub fn host_as(&self, name: &str, login: &str) -> Host {
        let mut vars = indexmap::IndexMap::new();
        let mut set = |key: &str, value: serde_json::Value| {
            vars.insert(key.to_string(), value);
        };
        set("ansible_host", self.address.clone().into());
        set("ansible_port", self.port.into());
        set("ansible_user", login.into());
        set(
            "ansible_ssh_private_key_file",
            self.key.display().to_string().into(),
        );
        set(
            "runbook_ssh_known_hosts_file",
            self.known_hosts.display().to_string().into(),
        );
        set("ansible_ssh_timeout", "5s".into());
        Host {
            name: name.to_string(),
            vars,
        }
    }

    /// A fresh private key that sshd does not accept.
    pub fn unauthorized_key(&self) -> PathBuf {
        let key = self.dir.path().join("stranger_ed25519");
        if !key.exists() {
            keygen(&key);
        }
        key
    }

    /// A known_hosts file that holds a different key for this sshd's address,
    /// as after a host was reinstalled (or impersonated).
    pub fn wrong_known_hosts(&self) -> PathBuf {
        let other = self.dir.path().join("other_host_ed25519");
        if !other.exists() {
            keygen(&other);
        }
        let path = self.dir.path().join("wrong_known_hosts");
        std::fs::write(
            &path,
            known_hosts_line(&self.address, self.port, &other.with_extension("pub")),
        )
        .expect("wrong known_hosts");
        path
    }

    /// The public half of [`Sshd::key`], to authorize for other users.
    pub fn public_key(&self) -> PathBuf {
        self.key.with_extension("pub")
    }

    /// sshd's own pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What sshd logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // SAFETY: kill(2) has no memory-safety preconditions; the pid is our child's.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "runbook-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh-keygen");
    assert!(
        output.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn known_hosts_line(address: &str, port: u16, public_key: &Path) -> String {
    let text = std::fs::read_to_string(public_key).expect("public host key");
    let mut fields = text.split_whitespace();
    let kind = fields.next().expect("key type");
    let key = fields.next().expect("key data");
    format!("[{address}]:{port} {kind} {key}\n")
}

fn current_user() -> String {
    let output = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Waits until sshd answers with its version banner; false if it exited or never did.
fn wait_listening(address: &str, port: u16, child: &mut Child) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut stream) = TcpStream::connect((address, port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut banner = [0u8; 4];
            if stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-" {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Sshd {
    /// The INI inventory variables that reach this sshd, for a host line.
    pub fn inventory_vars(&self) -> String {
        self.inventory_vars_as(&self.user)
    }

    /// Like [`Sshd::inventory_vars`], logging in as `login`.
    pub fn inventory_vars_as(&self, login: &str) -> String {
        format!(
            "ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file=\"{}\" runbook_ssh_known_hosts_file=\"{}\" ansible_ssh_timeout=5s",
            self.address,
            self.port,
            login,
            self.key.display(),
            self.known_hosts.display()
        )
    }
}
