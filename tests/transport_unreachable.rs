//! Unreachable hosts cost one connect timeout per run: `runbook check` of the shipped
//! runbooks, and a health check, against an inventory whose etcd hosts and master all hang
//! in the ssh banner exchange (a loopback listener that accepts and never speaks) end within
//! 1.5x the default `ansible_ssh_timeout`, failing, with each host's failure named once.

use crate::support::command::{repo_root, says, Runbook};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A loopback port that accepts TCP connections, holds them and never sends a byte;
/// stopped (listener closed, connections dropped) when dropped.
struct SilentHost {
    port: u16,
    held: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl SilentHost {
    fn start() -> SilentHost {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (keep, stopped) = (held.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => keep.lock().unwrap().push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        SilentHost { port, held, stop }
    }

    fn accepted(&self) -> usize {
        self.held.lock().unwrap().len()
    }
}

impl Drop for SilentHost {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.held.lock().unwrap().clear();
    }
}

#[test]
fn unreachable_hosts_cost_one_connect_timeout_per_run() {
    let silent = SilentHost::start();
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, "").unwrap();
    // ansible_ssh_timeout is left at its default (10 s).
    let inventory = dir.path().join("inventory.ini");
    std::fs::write(
        &inventory,
        format!(
            "[OSEv3:children]\netcd\nmasters\n\n\
             [OSEv3:vars]\nansible_host=127.0.0.1\nansible_port={}\nrunbook_ssh_known_hosts_file={}\n\n\
             [etcd]\netcd-1\netcd-2\netcd-3\n\n[masters]\nmaster-1\n",
            silent.port,
            known_hosts.display()
        ),
    )
    .unwrap();
    let script = dir.path().join("health.rhai");
    std::fs::write(&script, "etcd.expect_healthy();\n").unwrap();
    let runs = [
        ("check", repo_root().join("runbooks/v2-to-v3.rhai")),
        ("check", repo_root().join("runbooks/rollback.rhai")),
        ("run", script),
    ];
    let mut accepted = 0;
    for (command, script) in runs {
        let started = Instant::now();
        let finished = Runbook::new()
            .current_dir(repo_root())
            .arg(command)
            .arg(&script)
            .arg("-i")
            .arg(&inventory)
            .run();
        let took = started.elapsed();
        let name = script.file_name().unwrap().to_string_lossy().into_owned();
        println!("{command} {name} against unreachable hosts took {took:?}");
        assert_ne!(finished.code, 0, "{name}: {}", finished.stderr);
        assert!(
            took <= Duration::from_secs(15),
            "{name} took {took:?}:\n{}",
            finished.stderr
        );
        let said = finished.stderr_unwrapped();
        assert!(
            said.contains("cannot connect to etcd-1 over ssh")
                && said.contains("timed out during banner exchange"),
            "{name}: ssh's reason is kept:\n{said}"
        );
        for host in ["etcd-1", "etcd-2", "etcd-3", "master-1"] {
            let failure = format!("cannot connect to {host} over ssh");
            assert!(
                said.matches(&failure).count() <= 1,
                "{name}, {host}:\n{said}"
            );
        }
        assert!(
            !says(&said, "is etcd running there"),
            "{name}: the advice is about ssh, not etcd:\n{said}"
        );
        // One attempt per host, not one per caller, step or health check round.
        assert!(
            silent.accepted() - accepted <= 4,
            "{name}: {} connections",
            silent.accepted() - accepted
        );
        accepted = silent.accepted();
        match name.as_str() {
            // The first step identifies every member: each unreachable one is named.
            "v2-to-v3.rhai" => {
                for host in ["etcd-1", "etcd-2", "etcd-3"] {
                    let failure = format!("cannot connect to {host} over ssh");
                    assert_eq!(said.matches(&failure).count(), 1, "{host}:\n{said}");
                }
            }
            "health.rhai" => assert!(says(&said, "etcd-3 is not reachable over ssh"), "{said}"),
            _ => {}
        }
    }
}
