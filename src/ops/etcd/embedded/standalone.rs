//! The etcd embedded in a master, run as a process of its own while the master is
//! stopped: the same member (name, data, listeners, advertised URLs, certificates) from
//! master-config.yaml's `etcdConfig`, so the etcd primitives can work on its data (copy
//! the keys `etcdctl migrate` left out, verify, restore TTLs) before the master returns.
//!
//! It is started detached (`nohup setsid etcd ...`), its PID recorded in
//! `<storageDirectory>.runbook-standalone.pid` and its output appended to `...log` beside
//! the data dir. Starting again while it runs finds it by that PID and its command line;
//! stopping signals only that process, after checking its command line names the data dir.

use super::etcd_config::EtcdConfig;
use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::host::member_host::MemberHost;
use crate::ops::etcd::host::step::tail;
use crate::ops::etcd::host::stopped::{check_service, EtcdRunning};
use crate::ops::etcd::membership::error::MembershipError;
use crate::ops::etcd::membership::force_new_cluster::fill_past_index;
use crate::ops::etcd::membership::members::list;
use crate::ops::etcd::membership::ready::{wait_ready, Readiness};
use crate::report::Reporter;
use crate::transport::{shell_quote, RunOptions};
use tokio_util::sync::CancellationToken;

/// Why the standalone etcd could not be started or stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StandaloneError {
    #[error("{host}: the master service {service} is active, and with it the etcd embedded in it")]
    #[diagnostic(
        code(runbook::etcd::standalone::master_running),
        help("stop the master first (`master.stop()`); its etcd runs on its own only while the master is down")
    )]
    MasterRunning { host: String, service: String },
    #[error("{host}: there is no `etcd` binary on the PATH to run the master's etcd with")]
    #[diagnostic(
        code(runbook::etcd::standalone::no_etcd),
        help(
            "install the etcd package on {host} (the documented procedure installs it for etcdctl)"
        )
    )]
    NoEtcd { host: String },
    #[error("{host}: the master's etcd, started on its own (pid {pid}), did not become ready: {reason}\n{log}")]
    #[diagnostic(
        code(runbook::etcd::standalone::not_ready),
        help("it was stopped again; its log is {log_file} on {host}")
    )]
    NotReady {
        host: String,
        pid: u32,
        reason: String,
        log: String,
        log_file: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Running(#[from] EtcdRunning),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] super::etcd_config::EtcdConfigError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Membership(#[from] MembershipError),
}

/// The standalone etcd as started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standalone {
    pub host: String,
    pub pid: u32,
    pub client_url: String,
    pub log_file: String,
    /// It already ran (an interrupted run started it).
    pub already_running: bool,
    /// `member update`s spent to get past the index `etcdctl migrate` left.
    pub fillers: u64,
}

/// Where the PID of the etcd run on its own from `data_dir` is recorded: beside it.
pub fn pid_file(data_dir: &str) -> String {
    format!("{}.runbook-standalone.pid", data_dir.trim_end_matches('/'))
}

/// Where the PID and the log go: beside the data dir.
fn files(config: &EtcdConfig) -> (String, String) {
    let base = config.storage_directory.trim_end_matches('/');
    (pid_file(base), format!("{base}.runbook-standalone.log"))
}

/// `sh` that defines `running`: true when the recorded PID is an etcd on this data dir
/// (`$p` is then its PID).
fn running_function(config: &EtcdConfig) -> String {
    let (pid_file, _) = files(config);
    format!(
        r#"pidfile={pid_file}; d={data}
running() {{ p=$(cat "$pidfile" 2>/dev/null) && [ -n "$p" ] && [ -r "/proc/$p/cmdline" ] && tr '\0' '\n' < "/proc/$p/cmdline" | grep -qxF -- "--data-dir=$d"; }}"#,
        pid_file = shell_quote(&pid_file),
        data = shell_quote(config.storage_directory.trim_end_matches('/')),
    )
}

/// Starts the member's etcd from `config` unless it already runs, waits until it serves,
/// and fills the raft log past `migrated_index` when the data was just migrated.
pub async fn start(
    access: &EtcdAccess,
    member: &MemberHost,
    config: &EtcdConfig,
    migrated_index: Option<u64>,
    readiness: Readiness,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Standalone, StandaloneError> {
    let host = member.member.host_name().to_string();
    if let Err(EtcdRunning::ServiceActive { service, .. }) =
        check_service(&member.transport, &member.member, cancel).await
    {
        return Err(StandaloneError::MasterRunning { host, service });
    }
    let (_, log_file) = files(config);
    let args: Vec<String> = config.etcd_args().iter().map(|a| shell_quote(a)).collect();
    let script = format!(
        r#"umask 077; {running}; log={log}
if running; then echo "running $p"; exit 0; fi
command -v etcd >/dev/null 2>&1 || exit 20
nohup setsid etcd {args} >>"$log" 2>&1 </dev/null &
echo $! > "$pidfile"
echo "started $!""#,
        running = running_function(config),
        log = shell_quote(&log_file),
        args = args.join(" "),
    );
    let output = member
        .transport
        .run(&script, &RunOptions::default(), cancel)
        .await
        .map_err(MembershipError::from)?;
    if output.code == 20 {
        return Err(StandaloneError::NoEtcd { host });
    }
    let said = output.stdout_text();
    let (word, pid) = said.trim().split_once(' ').unwrap_or(("", ""));
    let pid: u32 = match (output.success(), pid.trim().parse()) {
        (true, Ok(pid)) => pid,
        _ => {
            return Err(MembershipError::Request {
                operation: "starting the master's etcd on its own",
                endpoints: host,
                reason: format!("exit {}: {}", output.code, tail(&output.stderr_text())),
            }
            .into())
        }
    };
    let already_running = word == "running";
    reporter.status(&format!(
        "{host}: the master's etcd {} on its own (pid {pid}, log {log_file})",
        if already_running {
            "already runs"
        } else {
            "started"
        }
    ));
    if let Err(reason) = wait_ready(access, &member.member, None, readiness, cancel).await {
        let log = member
            .run(
                &format!("tail -n 20 {} 2>/dev/null; true", shell_quote(&log_file)),
                cancel,
            )
            .await
            .unwrap_or_default();
        let _ = stop(member, config, cancel).await;
        return Err(StandaloneError::NotReady {
            host,
            pid,
            reason,
            log: tail(&log),
            log_file,
        });
    }
    let mut fillers = 0;
    if let Some(index) = migrated_index {
        let mut client = access
            .v3_member(&member.member)
            .await
            .map_err(MembershipError::from)?;
        let via = member.member.endpoint.client_url.clone();
        let members = list(&mut client, &via).await?;
        if let [only] = members.as_slice() {
            fillers = fill_past_index(
                access,
                &member.member,
                only.numeric_id(),
                &only.peer_urls,
                index,
                reporter,
            )
            .await?;
        }
    }
    Ok(Standalone {
        host,
        pid,
        client_url: config.client_url(),
        log_file,
        already_running,
        fillers,
    })
}

/// Stops the standalone etcd (SIGTERM, then SIGKILL after 30 s); `None` when none ran.
pub async fn stop(
    member: &MemberHost,
    config: &EtcdConfig,
    cancel: &CancellationToken,
) -> Result<Option<u32>, StandaloneError> {
    let script = format!(
        r#"{running}
if ! running; then rm -f "$pidfile"; echo none; exit 0; fi
kill -TERM "$p"
n=0
while running && [ "$n" -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
if running; then kill -KILL "$p"; sleep 1; fi
running && exit 1
rm -f "$pidfile"
echo "stopped $p""#,
        running = running_function(config),
    );
    let said = member.run(&script, cancel).await?;
    Ok(said
        .trim()
        .strip_prefix("stopped ")
        .and_then(|pid| pid.trim().parse().ok()))
}
