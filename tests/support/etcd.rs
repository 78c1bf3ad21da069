//! Talking to real etcd from tests: `etcdctl` (v2 and v3) with a lab's `env` file applied,
//! the lab's v2 client, and waiting for a condition.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What a finished `etcdctl` left behind.
#[derive(Debug)]
pub struct CtlOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The variables a `DIR/env` file exports (`export NAME='value'` lines).
pub fn read_env_file(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .map(|assignment| {
            let (name, value) = assignment
                .split_once('=')
                .unwrap_or_else(|| panic!("not NAME=VALUE: {assignment}"));
            (name.to_string(), unquote_single(value))
        })
        .collect()
}

/// Undoes POSIX single quoting (`'a'\''b'` -> `a'b`).
fn unquote_single(value: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('\'', _) => quoted = !quoted,
            ('\\', false) => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            (c, _) => out.push(c),
        }
    }
    out
}

/// Runs `etcdctl` with `ETCDCTL_API=api`, the given environment (for v2 its TLS files under
/// their v2 names too), and nothing of ours
/// (`ETCDCTL_*` from the test's own environment are removed first).
pub fn etcdctl(env: &[(String, String)], api: u8, args: &[&str]) -> CtlOutput {
    let mut command = Command::new("etcdctl");
    for (name, _) in std::env::vars() {
        if name.starts_with("ETCDCTL_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if api == 2 {
        // As the env file's `etcdctl2` does: v2 mode reads the TLS files by other names.
        for (v3, v2) in [
            ("ETCDCTL_CACERT", "ETCDCTL_CA_FILE"),
            ("ETCDCTL_CERT", "ETCDCTL_CERT_FILE"),
            ("ETCDCTL_KEY", "ETCDCTL_KEY_FILE"),
        ] {
            if let Some((_, value)) = env.iter().find(|(name, _)| name == v3) {
                command.env(v2, value);
            }
        }
    }
    command.env("ETCDCTL_API", api.to_string());
    command.args(args);
    let output = command.output().expect("etcdctl runs");
    CtlOutput {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The learners among the cluster's members, by plain `etcdctl member list -w json`, and
/// the whole listing (for messages).
pub fn learners(env: &[(String, String)]) -> (Vec<serde_json::Value>, serde_json::Value) {
    let listed = etcdctl(env, 3, &["member", "list", "-w", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).expect(&listed.stderr);
    let learners = listed["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["isLearner"] == true)
        .cloned()
        .collect();
    (learners, listed)
}

/// Every member as plain `etcdctl member list -w json` names it: `(ID in hex, name, peer
/// URLs)`, sorted by ID.
pub fn member_identities(env: &[(String, String)]) -> Vec<(String, String, Vec<String>)> {
    let listed = etcdctl(env, 3, &["member", "list", "-w", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).expect(&listed.stderr);
    let mut members: Vec<(String, String, Vec<String>)> = listed["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let peers = m["peerURLs"]
                .as_array()
                .map(|urls| {
                    urls.iter()
                        .filter_map(|u| u.as_str())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            (
                format!("{:x}", m["ID"].as_u64().unwrap()),
                m["name"].as_str().unwrap_or_default().to_string(),
                peers,
            )
        })
        .collect();
    members.sort();
    members
}

/// Polls `check` every 200 ms until it is true or `timeout` passes; returns the last result.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A small tokio runtime for async library calls from synchronous tests.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The `expiration` of a v2 API node (Unix ns), if it has one.
pub fn v2_expiration(node: &serde_json::Value) -> Option<i64> {
    node["expiration"].as_str().map(|at| {
        chrono::DateTime::parse_from_rfc3339(at)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    })
}
