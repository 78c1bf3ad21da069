//! Service control through a `runbook_service_command` template, against a
//! small real service script that starts and stops a real process.

use runbook::inventory::Host;
use runbook::ops::service::{ServiceAction, ServiceError, ServiceManager};
use runbook::transport::local::LocalTransport;
use runbook::transport::{ConnectionTarget, Transport};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A tiny init script: `svc ACTION NAME`, state in `<dir>/<NAME>.pid`.
const SERVICE_SCRIPT: &str = r#"#!/bin/sh
dir=$(dirname "$0")
action=$1
name=$2
pidf="$dir/$name.pid"
if [ "$name" = broken ]; then
  echo "svc: unit $name could not be found" >&2
  exit 5
fi
running() { [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }
case "$action" in
  start) running || { sleep 1000 >/dev/null 2>&1 </dev/null & echo $! > "$pidf"; } ;;
  stop) if running; then kill "$(cat "$pidf")"; fi; rm -f "$pidf" ;;
  restart) "$0" stop "$name" && "$0" start "$name" ;;
  is-active) running ;;
  *) echo "svc: unknown action $action" >&2; exit 2 ;;
esac
"#;

struct Service {
    dir: tempfile::TempDir,
    script: PathBuf,
}

impl Service {
    fn new() -> Service {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("svc");
        std::fs::write(&script, SERVICE_SCRIPT).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Service { dir, script }
    }

    fn host(&self) -> Host {
        let mut vars = indexmap::IndexMap::new();
        vars.insert(
            "runbook_service_command".to_string(),
            serde_json::Value::String(format!("{} {{action}} {{service}}", self.script.display())),
        );
        Host {
            name: "svc-host".to_string(),
            vars,
        }
    }

    fn pid(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.pid")))
            .ok()
            .and_then(|text| text.trim().parse().ok())
    }
}

impl Drop for Service {
    /// Stops whatever the script started, also when an assertion failed.
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|ext| ext == "pid") {
                    if let Some(pid) = read_pid(&path) {
                        // SAFETY: kill(2) has no memory-safety preconditions.
                        unsafe {
                            libc::kill(pid as i32, libc::SIGKILL);
                        }
                    }
                }
            }
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_dead(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test]
async fn start_is_active_restart_stop_through_a_template() {
    let service = Service::new();
    let manager = ServiceManager::from_host(&service.host());
    assert!(matches!(manager, ServiceManager::Template(_)));
    let transport = Transport::Local(LocalTransport::new("svc-host"));
    let cancel = CancellationToken::new();
    let name = "my etcd";

    assert!(!manager.is_active(&transport, name, &cancel).await.unwrap());

    manager
        .control(&transport, ServiceAction::Start, name, &cancel)
        .await
        .unwrap();
    let first = service.pid(name).expect("start wrote a pid file");
    assert!(alive(first));
    assert!(manager.is_active(&transport, name, &cancel).await.unwrap());

    manager
        .control(&transport, ServiceAction::Restart, name, &cancel)
        .await
        .unwrap();
    let second = service.pid(name).expect("restart wrote a pid file");
    assert_ne!(first, second);
    assert!(
        wait_dead(first),
        "restart left the old process {first} running"
    );
    assert!(alive(second));

    manager
        .control(&transport, ServiceAction::Stop, name, &cancel)
        .await
        .unwrap();
    assert!(wait_dead(second), "stop left {second} running");
    assert!(!manager.is_active(&transport, name, &cancel).await.unwrap());
}

#[tokio::test]
async fn a_failing_command_names_host_command_code_and_stderr() {
    let service = Service::new();
    let manager = ServiceManager::from_host(&service.host());
    let transport = Transport::Local(LocalTransport::new("svc-host"));
    let err = manager
        .control(
            &transport,
            ServiceAction::Start,
            "broken",
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    let expected_command = format!("{} start broken", service.script.display());
    match &err {
        ServiceError::Failed {
            host,
            command,
            code,
            stderr,
        } => {
            assert_eq!(host, "svc-host");
            assert_eq!(command, &expected_command);
            assert_eq!(*code, 5);
            assert_eq!(stderr, "svc: unit broken could not be found");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("svc-host"), "{text}");
    assert!(text.contains(&expected_command), "{text}");
    assert!(text.contains("could not be found"), "{text}");
}

#[tokio::test]
async fn is_active_passes_transport_errors_on() {
    let service = Service::new();
    let manager = ServiceManager::from_host(&service.host());
    let transport = Transport::Local(LocalTransport::new("svc-host"));
    let cancel = CancellationToken::new();
    cancel.cancel();
    let err = manager
        .is_active(&transport, "etcd", &cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn the_same_template_works_over_ssh() {
    let sshd = crate::support::sshd::Sshd::start();
    let service = Service::new();
    let mut host = sshd.host("svc-ssh");
    host.vars.insert(
        "runbook_service_command".to_string(),
        service.host().vars["runbook_service_command"].clone(),
    );
    let manager = ServiceManager::from_host(&host);
    let cancel = CancellationToken::new();
    let target = ConnectionTarget::from_host(&host).unwrap();
    let transport = Transport::connect(&host.name, &target, &cancel)
        .await
        .expect("connects over ssh");

    manager
        .control(&transport, ServiceAction::Start, "etcd", &cancel)
        .await
        .unwrap();
    let pid = service.pid("etcd").expect("start wrote a pid file");
    assert!(alive(pid));
    assert!(manager
        .is_active(&transport, "etcd", &cancel)
        .await
        .unwrap());
    manager
        .control(&transport, ServiceAction::Stop, "etcd", &cancel)
        .await
        .unwrap();
    assert!(wait_dead(pid));
    assert!(!manager
        .is_active(&transport, "etcd", &cancel)
        .await
        .unwrap());

    let err = manager
        .control(&transport, ServiceAction::Stop, "broken", &cancel)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("svc-ssh"), "{err}");
    assert!(err.contains("stop broken"), "{err}");
    assert!(err.contains("could not be found"), "{err}");
}
