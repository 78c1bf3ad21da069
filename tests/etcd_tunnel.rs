//! Members behind ssh: the etcd primitives reach each member's client port
//! through a local port forward over its host's ssh session.
//!
//! To make the tunnel necessary on one machine, `runbook` runs in a network
//! namespace of its own, where 127.0.0.1 is a different loopback: the lab's etcd
//! ports are not there, only sshd, bridged in by the test. Directly, etcd cannot
//! be reached from there; through the tunnel (sshd connects from the test's
//! own namespace), it can.

use crate::support::command::{write_file, Finished, Runbook};
use crate::support::etcd::runtime;
use crate::support::lab::TestLab;
use crate::support::sshd::Sshd;
use runbook::ops::etcd::client::tls_name::reqwest_builder_for_name;
use runbook::ops::etcd::{client::v3, TlsFiles, V2Client};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;

/// A thread in a fresh network namespace (loopback only) that runs jobs there;
/// processes it starts inherit the namespace.
struct Isolated {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// A listener on the namespace's 127.0.0.1, handed out once.
    listener: Option<TcpListener>,
}

impl Isolated {
    fn start() -> Isolated {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready, listener) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            // SAFETY: unshare(2) only changes this thread's namespaces.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            if rc != 0 {
                let _ = ready.send(Err(format!(
                    "unshare(CLONE_NEWNET) failed: {} (this test needs CAP_SYS_ADMIN, e.g. root)",
                    std::io::Error::last_os_error()
                )));
                return;
            }
            let up = std::process::Command::new("ip")
                .args(["link", "set", "lo", "up"])
                .status();
            if !matches!(up, Ok(status) if status.success()) {
                let _ = ready.send(Err(format!("`ip link set lo up` failed: {up:?}")));
                return;
            }
            let _ = ready.send(
                TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind in namespace: {e}")),
            );
            for job in inbox {
                job();
            }
        });
        let listener = listener
            .recv()
            .expect("namespace thread answers")
            .unwrap_or_else(|e| panic!("{e}"));
        Isolated {
            jobs: Some(jobs),
            thread: Some(thread),
            listener: Some(listener),
        }
    }

    /// Runs `job` inside the namespace and returns its result.
    fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> T {
        let (done, result) = mpsc::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(job());
        });
        self.jobs
            .as_ref()
            .expect("namespace thread")
            .send(job)
            .expect("namespace thread alive");
        result.recv().expect("job finished")
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts connections on `listener` (inside the namespace) and joins each to
/// `target` (connected from the test's own namespace).
fn bridge(listener: TcpListener, target: (String, u16)) {
    std::thread::spawn(move || {
        for inbound in listener.incoming() {
            let Ok(inbound) = inbound else { return };
            let target = target.clone();
            std::thread::spawn(move || {
                let Ok(outbound) = TcpStream::connect((target.0.as_str(), target.1)) else {
                    return;
                };
                pipe(&inbound, &outbound);
            });
        }
    });
}

fn pipe(a: &TcpStream, b: &TcpStream) {
    let (Ok(mut a_read), Ok(mut b_write)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let forward = std::thread::spawn(move || {
        copy(&mut a_read, &mut b_write);
    });
    let (Ok(mut b_read), Ok(mut a_write)) = (b.try_clone(), a.try_clone()) else {
        return;
    };
    copy(&mut b_read, &mut a_write);
    let _ = forward.join();
}

fn copy(from: &mut TcpStream, to: &mut TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// The lab's inventory with its etcd hosts reached over ssh at `port` of the
/// namespace's loopback (the bridge to sshd).
fn ssh_inventory(lab: &TestLab, sshd: &Sshd, port: u16, dir: &Path) -> PathBuf {
    let known_hosts = std::fs::read_to_string(&sshd.known_hosts).unwrap().replace(
        &format!("[{}]:{} ", sshd.address, sshd.port),
        &format!("[127.0.0.1]:{port} "),
    );
    let known_hosts = write_file(dir, "known_hosts", &known_hosts);
    let ssh_vars = format!(
        " ansible_connection=ssh ansible_host=127.0.0.1 ansible_port={port} ansible_user={} ansible_ssh_private_key_file=\"{}\" runbook_ssh_known_hosts_file=\"{}\" ansible_ssh_timeout=5s",
        sshd.user,
        sshd.key.display(),
        known_hosts.display()
    );
    let text = std::fs::read_to_string(lab.inventory()).unwrap();
    let text: String = text
        .lines()
        .map(|line| {
            if line.starts_with("etcd-") {
                format!("{line}{ssh_vars}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    write_file(dir, "inventory.ini", &text)
}

fn run(dir: &Path, inventory: &Path, script: &str, extra: &[&str]) -> Finished {
    write_file(dir, "tunnel.rhai", script);
    Runbook::new()
        .current_dir(dir)
        .arg("run")
        .arg("tunnel.rhai")
        .arg("-i")
        .arg(inventory)
        .args(extra)
        .run()
}

fn client_port(lab: &TestLab, host: &str) -> u16 {
    let text = std::fs::read_to_string(lab.inventory()).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{host} ")))
        .unwrap();
    let value = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("etcd_client_port="))
        .unwrap();
    value.parse().unwrap()
}

#[test]
fn members_behind_ssh_are_reached_through_tunnels_only() {
    let lab = TestLab::up(&["--tls", "--keys", "50"]);
    let sshd = Sshd::start();
    let mut isolated = Isolated::start();
    let listener = isolated.listener.take().unwrap();
    let port = listener.local_addr().unwrap().port();
    bridge(listener, (sshd.address.clone(), sshd.port));
    let work = tempfile::tempdir().unwrap();
    let inventory = ssh_inventory(&lab, &sshd, port, work.path());
    let etcd_port = client_port(&lab, "etcd-1");

    // The namespace genuinely has no route to the lab's etcd; this one does.
    assert!(TcpStream::connect(("127.0.0.1", etcd_port)).is_ok());
    let direct = isolated.run(move || TcpStream::connect(("127.0.0.1", etcd_port)).is_ok());
    assert!(
        !direct,
        "etcd is reachable inside the namespace: the test proves nothing"
    );

    let script = r#"
let h = etcd.expect_healthy();
print(h);
let s = etcd.status();
print(s);
print(`reachable=${s.reachable} leader=${s.leader}`);
etcd.wait_converged(#{tolerance: 1, timeout: "20s", interval: "200ms"});
let k = etcd.expect_hashkv_agree();
print(`agree=${k.agree}`);
print(`via=${h.members.filter(|m| m.endpoint.contains(" via ssh ")).len()}`);
"#;
    let (dir, inv) = (work.path().to_path_buf(), inventory.clone());
    let through = isolated.run(move || run(&dir, &inv, script, &[]));
    let through = through
        .success()
        .stdout_has("reachable=true")
        .stdout_has("agree=true")
        .stdout_has("via=3")
        .stdout_has(&format!(
            "https://127.0.0.1:{etcd_port} via ssh {}@127.0.0.1:{port}",
            sshd.user
        ));
    assert!(!through.stdout.contains("leader=()"), "{}", through.stdout);

    // The same inventory without tunnels fails from the namespace, naming each member.
    let (dir, inv) = (work.path().to_path_buf(), inventory.clone());
    let direct = isolated.run(move || {
        run(
            &dir,
            &inv,
            "etcd.expect_healthy();",
            &["-e", "runbook_etcd_tunnel=false"],
        )
    });
    direct
        .code(1)
        .stderr_has("3 etcd member(s) unhealthy")
        .stderr_has(&format!("etcd-1 (https://127.0.0.1:{etcd_port})"))
        .stderr_has("Connection refused");

    // A value that is not a boolean is named with its host.
    let (dir, inv) = (work.path().to_path_buf(), inventory);
    let bad = isolated.run(move || {
        run(
            &dir,
            &inv,
            "etcd.expect_healthy();",
            &["-e", "runbook_etcd_tunnel=sometimes"],
        )
    });
    bad.code(1)
        .stderr_has("etcd-1: runbook_etcd_tunnel=sometimes is not a boolean");
    drop(isolated);
}

#[test]
fn tls_through_a_tunnel_checks_the_members_own_name() {
    // Dialling 127.0.0.1 while checking the certificate against another name:
    // a name the certificate holds passes, one it does not hold fails, so the
    // check really uses the given name and not the dialled address.
    let lab = TestLab::up(&["--tls", "--keys", "10", "--members", "1"]);
    let tls = TlsFiles::in_dir(
        &lab.host_dir("etcd-1").join("etc/etcd"),
        "ca.crt",
        "peer.crt",
        "peer.key",
    )
    .read()
    .unwrap();
    let url = format!("https://127.0.0.1:{}", client_port(&lab, "etcd-1"));
    let rt = runtime();
    let timeout = Duration::from_secs(5);

    let v2 = |name: &str| {
        let builder = reqwest_builder_for_name(&tls, name).unwrap();
        let client =
            V2Client::from_builder(vec![reqwest::Url::parse(&url).unwrap()], builder, timeout)
                .unwrap();
        rt.block_on(client.health())
    };
    assert!(v2("localhost").unwrap());
    let err = v2("etcd-1.example.invalid").unwrap_err().to_string();
    assert!(err.contains("certificate"), "{err}");

    let v3 = |name: &str| {
        let options =
            etcd_client::ConnectOptions::new().with_tls(tls.etcd_tls_options().domain_name(name));
        rt.block_on(async {
            let mut client = v3::connect_with(std::slice::from_ref(&url), options, timeout)
                .await
                .map_err(|e| e.to_string())?;
            client.status().await.map_err(|e| e.to_string())
        })
    };
    assert!(v3("localhost").is_ok());
    assert!(v3("etcd-1.example.invalid").is_err());
}
