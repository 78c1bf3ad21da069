//! A lab cluster for a test: `runbook lab up` in a temp dir, brought down when the
//! test ends however it ends (`lab down`, then SIGKILL of any recorded process still alive).

use super::command::{Finished, Runbook};
use super::etcd::read_env_file;
use runbook::lab::layout::LabLayout;
use runbook::lab::pidfile::recorded_processes;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Brings a lab directory down on drop.
pub struct LabGuard {
    dir: PathBuf,
}

impl LabGuard {
    pub fn new(dir: PathBuf) -> LabGuard {
        LabGuard { dir }
    }
}

impl Drop for LabGuard {
    fn drop(&mut self) {
        if !self.dir.exists() {
            return;
        }
        let layout = LabLayout::new(&self.dir);
        let mut processes = recorded_processes(&layout);
        if let Ok(state) = runbook::lab::state::LabState::load(&layout) {
            processes.extend(runbook::lab::standalone_etcd::running(&layout, &state));
        }
        let _ = Runbook::new()
            .args(["lab", "down", "--dir"])
            .arg(&self.dir)
            .run();
        for process in processes {
            process.kill(Duration::from_secs(5));
        }
    }
}

/// Runs `runbook lab up --dir DIR EXTRA...`.
pub fn lab_up(dir: &Path, extra: &[&str]) -> Finished {
    Runbook::new()
        .args(["lab", "up", "--dir"])
        .arg(dir)
        .args(extra)
        .run()
}

/// A running lab owned by one test.
pub struct TestLab {
    // Declared first so it drops (lab down) before the temp dir is removed.
    _guard: LabGuard,
    _temp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl TestLab {
    /// Starts a lab with `lab up` options such as `["--tls", "--keys", "500"]`.
    pub fn up(extra: &[&str]) -> TestLab {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().join("lab");
        let guard = LabGuard::new(dir.clone());
        lab_up(&dir, extra).success();
        TestLab {
            _guard: guard,
            _temp: temp,
            dir,
        }
    }

    pub fn inventory(&self) -> PathBuf {
        self.dir.join("inventory.ini")
    }

    /// `DIR/inventory-external.ini`: an embedded lab's inventory for moving its etcd out to
    /// the spare host.
    pub fn external_inventory(&self) -> PathBuf {
        LabLayout::new(&self.dir).external_inventory_file()
    }

    /// The lab's state as `lab up` recorded it.
    pub fn state(&self) -> runbook::lab::state::LabState {
        runbook::lab::state::LabState::load(&LabLayout::new(&self.dir)).expect("lab state")
    }

    /// The data dir of a member, as the lab's layout places it.
    pub fn data_dir(&self, host: &str) -> PathBuf {
        LabLayout::new(&self.dir)
            .host(host)
            .etcd_data_dir(self.state().layout)
    }

    /// `DIR/bin/lab-service HOST ACTION SERVICE`: the lab's own service control.
    pub fn service(&self, host: &str, action: &str, service: &str) {
        let output = std::process::Command::new(self.dir.join("bin/lab-service"))
            .arg(self.host_dir(host))
            .args([action, service])
            .output()
            .expect("lab-service runs");
        assert!(
            output.status.success(),
            "lab-service {action} {service} on {host}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Writes `script` as `DIR/name` and runs it against the lab's inventory.
    pub fn run(&self, name: &str, script: &str) -> Finished {
        super::command::run_script(&self.dir, &self.inventory(), name, script)
    }

    /// The variables of the lab's `env` file, for spawning `etcdctl`.
    pub fn env(&self) -> Vec<(String, String)> {
        read_env_file(&self.dir.join("env"))
    }

    /// The variables of an embedded lab's `env-external` file: etcdctl pointed at the spare
    /// host's etcd.
    pub fn external_env(&self) -> Vec<(String, String)> {
        read_env_file(&LabLayout::new(&self.dir).external_env_file())
    }

    /// `(name, peer URLs)` of every member, sorted by name, as plain `etcdctl member list`
    /// prints them.
    pub fn member_list(&self) -> Vec<(String, String)> {
        let out = super::etcd::etcdctl(&self.env(), 3, &["member", "list", "-w", "json"]);
        assert_eq!(out.code, 0, "etcdctl member list: {}", out.stderr);
        let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("member list JSON");
        let mut members: Vec<(String, String)> = json["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| {
                let peers: Vec<&str> = m["peerURLs"]
                    .as_array()
                    .map(|urls| urls.iter().filter_map(|u| u.as_str()).collect())
                    .unwrap_or_default();
                (
                    m["name"].as_str().unwrap_or_default().to_string(),
                    peers.join(","),
                )
            })
            .collect();
        members.sort();
        members
    }

    /// The directory of a lab host (`etcd-1`, `master-1`, ...).
    pub fn host_dir(&self, host: &str) -> PathBuf {
        self.dir.join("hosts").join(host)
    }
}
