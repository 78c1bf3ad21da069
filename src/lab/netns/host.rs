//! One host of a netns lab: its own filesystem under `DIR/hosts/<name>` (bound over the real
//! directories inside its mount namespace by `host-boot.sh`), its sshd as the anchor process
//! whose namespaces every session and service shares, and commands run inside it.

use super::network::NetHost;
use crate::lab::error::LabError;
use crate::lab::fsutil::{
    create_dir, create_private_dir, write_executable, write_file, write_private_file,
};
use crate::lab::layout::HostLayout;
use crate::lab::pidfile::{start_time, RecordedProcess};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BOOT: &str = include_str!("host-boot.sh");
const SYSTEMCTL: &str = include_str!("systemctl.py");
/// The anchor's pid file, `run/host.pid` (the host's `/run/host.pid`).
pub const ANCHOR: &str = "host";
/// How long sshd may take to listen after the host boots.
const BOOT_TIMEOUT: Duration = Duration::from_secs(20);

/// A service as the host's systemctl runs it.
#[derive(Debug, serde::Serialize)]
pub struct Unit<'a> {
    pub description: &'a str,
    pub exec: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_file: Option<&'a str>,
    pub working_directory: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub timeout_start: u64,
    pub timeout_stop: u64,
}

/// `DIR/bin/host-boot`, shared by every host.
pub fn boot_script(lab_dir: &Path) -> PathBuf {
    lab_dir.join("bin/host-boot")
}

/// The non-root login user every lab host has, with passwordless sudo (for `ansible_become`).
#[derive(Debug, Clone)]
pub struct LoginUser {
    pub name: &'static str,
    pub uid: u32,
    /// Its home, inside the host's own /var/lib.
    pub home: &'static str,
}

impl LoginUser {
    /// `runbook`, with the first uid (from 2000) the real /etc/passwd does not use.
    pub fn pick() -> Result<LoginUser, LabError> {
        let passwd = read_etc("passwd")?;
        let used: std::collections::HashSet<u32> = passwd
            .lines()
            .filter_map(|l| l.split(':').nth(2)?.parse().ok())
            .collect();
        let uid = (2000..60000)
            .find(|uid| !used.contains(uid))
            .expect("a free uid");
        Ok(LoginUser {
            name: "runbook",
            uid,
            home: "/var/lib/runbook-home",
        })
    }
}

fn read_etc(name: &str) -> Result<String, LabError> {
    let path = Path::new("/etc").join(name);
    std::fs::read_to_string(&path).map_err(|e| LabError::io("read", &path, e))
}

/// The host's own passwd, group and shadow (the real ones plus the login user) and a
/// sudoers drop-in for it: the user exists on the lab hosts only.
fn write_login_user(host: &HostLayout, user: &LoginUser) -> Result<(), LabError> {
    let etc = host.root.join("etc");
    let uid = user.uid;
    let add = |real: String, line: String| format!("{}{line}\n", real);
    write_file(
        &etc.join("passwd"),
        add(
            read_etc("passwd")?,
            format!(
                "{}:x:{uid}:{uid}:runbook lab login:{}:/bin/sh",
                user.name, user.home
            ),
        )
        .as_bytes(),
    )?;
    write_file(
        &etc.join("group"),
        add(read_etc("group")?, format!("{}:x:{uid}:", user.name)).as_bytes(),
    )?;
    write_private_file(
        &etc.join("shadow"),
        add(
            read_etc("shadow")?,
            format!("{}:*:20000:0:99999:7:::", user.name),
        )
        .as_bytes(),
    )?;
    let sudoers = etc.join("sudoers.d");
    create_dir(&sudoers)?;
    let rule = sudoers.join("runbook-lab");
    write_file(
        &rule,
        format!("{} ALL=(ALL) NOPASSWD: ALL\n", user.name).as_bytes(),
    )?;
    set_mode(&rule, 0o440)?;
    let home = host.root.join(user.home.trim_start_matches('/'));
    create_private_dir(&home.join(".ssh"))?;
    Ok(())
}

/// Gives the login user its home and `authorized_keys` (written after `prepare`).
pub fn own_login_home(host: &HostLayout, user: &LoginUser) -> Result<(), LabError> {
    let home = host.root.join(user.home.trim_start_matches('/'));
    for path in [
        home.clone(),
        home.join(".ssh"),
        home.join(".ssh/authorized_keys"),
    ] {
        std::os::unix::fs::chown(&path, Some(user.uid), Some(user.uid))
            .map_err(|e| LabError::io("chown", &path, e))?;
    }
    Ok(())
}

/// Writes the host's own directories, its systemctl and sshd configuration.
pub fn prepare(
    host: &HostLayout,
    net: &NetHost,
    hosts_file: &str,
    user: &LoginUser,
) -> Result<(), LabError> {
    let root = &host.root;
    for dir in ["etc", "var/lib", "run", "var/log", "usr/local/bin", ".view"] {
        create_dir(&root.join(dir))?;
    }
    let tmp = root.join("tmp");
    create_dir(&tmp)?;
    set_mode(&tmp, 0o1777)?;
    create_private_dir(&root.join("root/.ssh"))?;
    set_mode(&root.join("root"), 0o700)?;
    write_executable(&root.join("usr/local/sbin/systemctl"), SYSTEMCTL.as_bytes())?;
    write_login_user(host, user)?;
    create_dir(&units_dir(host))?;
    write_file(&root.join("etc/hosts"), hosts_file.as_bytes())?;
    write_file(
        &root.join("etc/hostname"),
        format!("{}\n", net.fqdn()).as_bytes(),
    )?;
    let ssh = root.join("etc/ssh");
    create_dir(&ssh)?;
    // On every address the host has: the control side comes over the management network
    // when there is one, the hosts to each other over the cluster network.
    let listen: String = std::iter::once(&net.address)
        .chain(&net.management)
        .map(|address| format!("ListenAddress {address}:22\n"))
        .collect();
    let key = ssh.join("ssh_host_ed25519_key");
    keygen(&key, &net.fqdn())?;
    write_file(
        &ssh.join("sshd_config"),
        format!(
            "# sshd of lab host {name}\n\
             {listen}\
             HostKey /etc/ssh/ssh_host_ed25519_key\n\
             PidFile none\n\
             UsePAM no\n\
             PermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             AuthorizedKeysFile .ssh/authorized_keys\n\
             AllowTcpForwarding yes\n\
             MaxSessions 64\n\
             MaxStartups 64:30:128\n\
             Subsystem sftp /usr/lib/openssh/sftp-server\n",
            name = net.name,
        )
        .as_bytes(),
    )?;
    Ok(())
}

/// The host's `/usr/local/lib/runbook-lab/units`.
pub fn units_dir(host: &HostLayout) -> PathBuf {
    host.root.join("usr/local/lib/runbook-lab/units")
}

/// Writes the unit `name` for the host's systemctl.
pub fn write_unit(host: &HostLayout, name: &str, unit: &Unit) -> Result<(), LabError> {
    let text = serde_json::to_vec_pretty(unit).map_err(|e| LabError::Io {
        action: "encode",
        path: units_dir(host).join(name),
        reason: e.to_string(),
    })?;
    write_file(&units_dir(host).join(format!("{name}.json")), &text)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| LabError::io("set the mode of", path, e))
}

/// `ssh-keygen -t ed25519` without a passphrase.
pub fn keygen(path: &Path, comment: &str) -> Result<(), LabError> {
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .map_err(|e| LabError::io("run ssh-keygen for", path, e))?;
    if !output.status.success() {
        return Err(LabError::Netns {
            what: format!("ssh-keygen -f {}", path.display()),
            reason: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Starts the host: its mount namespace inside its network namespace, then sshd. Returns
/// the anchor, recorded in `run/host.pid`.
pub fn boot(lab_dir: &Path, host: &HostLayout, net: &NetHost) -> Result<RecordedProcess, LabError> {
    let script = boot_script(lab_dir);
    if !script.exists() {
        write_executable(&script, BOOT.as_bytes())?;
    }
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", &net.netns])
        .args([
            "unshare",
            "--mount",
            "--uts",
            "--propagation",
            "private",
            "--",
        ])
        .arg("/bin/sh")
        .arg(&script)
        .arg(&host.root);
    // `ip netns exec`, unshare and the boot script each exec the next: the child's pid is sshd's.
    start_anchor(host, net, command, "sshd listening on port 22")
}

/// Runs `command`, which ends up exec-ing the host's sshd in the foreground, in a session of
/// its own (the host outlives the command that starts it) with its output appended to the
/// host's log; records its pid as the anchor and waits until sshd listens where the control
/// side reaches it. `what` names the wait in the error.
pub fn start_anchor(
    host: &HostLayout,
    net: &NetHost,
    mut command: Command,
    what: &str,
) -> Result<RecordedProcess, LabError> {
    let log_path = host.log_file(ANCHOR);
    let logged_before = std::fs::metadata(&log_path).map_or(0, |m| m.len());
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| LabError::io("open", &log_path, e))?;
    let err = log
        .try_clone()
        .map_err(|e| LabError::io("open", &log_path, e))?;
    command.stdin(Stdio::null()).stdout(log).stderr(err);
    // SAFETY: setsid(2) in the child before exec: the host outlives its starter's session.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let program = PathBuf::from(command.get_program());
    let child = command
        .spawn()
        .map_err(|e| LabError::io("run", &program, e))?;
    let pid = child.id() as i32;
    let anchor = RecordedProcess {
        host: net.name.clone(),
        service: ANCHOR.to_string(),
        pid,
        start_time: start_time(pid).unwrap_or_default(),
    };
    write_file(
        &host.pid_file(ANCHOR),
        format!("{} {}\n", anchor.pid, anchor.start_time).as_bytes(),
    )?;
    let started = Instant::now();
    let listening = format!("Server listening on {} port 22", net.ssh_address());
    loop {
        // Only what this sshd wrote: the log may hold an earlier one's lines.
        let text = std::fs::read(&log_path).unwrap_or_default();
        let new = String::from_utf8_lossy(text.get(logged_before as usize..).unwrap_or(&[]));
        if new.contains(&listening) {
            return Ok(anchor);
        }
        if !anchor.is_alive() || started.elapsed() > BOOT_TIMEOUT {
            return Err(LabError::HostBoot {
                host: net.name.clone(),
                what: what.to_string(),
                waited_secs: started.elapsed().as_secs(),
                log: log_path,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The host's anchor, if it runs.
pub fn anchor(host: &HostLayout) -> Option<RecordedProcess> {
    RecordedProcess::read(&host.pid_file(ANCHOR), &host.name, ANCHOR).filter(|p| p.is_alive())
}

/// `nsenter` into the host's namespaces, running `args`.
pub fn command_in(anchor: &RecordedProcess, args: &[&str]) -> Command {
    let mut command = Command::new("nsenter");
    command
        .args(["-t", &anchor.pid.to_string(), "-m", "-n", "--wd=/", "--"])
        .args(args);
    command
}

/// Runs `args` on the host; fails with its output unless it exits 0.
pub fn run_in(anchor: &RecordedProcess, args: &[&str]) -> Result<Output, LabError> {
    let output = command_in(anchor, args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::io("run", Path::new("nsenter"), e))?;
    if output.status.success() {
        return Ok(output);
    }
    Err(LabError::Netns {
        what: format!("`{}` on {}", args.join(" "), anchor.host),
        reason: format!(
            "exit {}: {}{}",
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    })
}
