//! Why a lab command failed, with what to do about it.

use std::path::PathBuf;

/// Why a lab command failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LabError {
    #[error("{dir} exists and is not a lab (no lab.json in it)")]
    #[diagnostic(
        code(runbook::lab::not_a_lab),
        help("give --dir a new or empty directory; runbook only creates and removes labs it made")
    )]
    NotALab { dir: PathBuf },
    #[error("there is no lab in {dir}")]
    #[diagnostic(
        code(runbook::lab::no_lab),
        help("start one with `runbook lab up --dir {}`", dir.display())
    )]
    NoLab { dir: PathBuf },
    #[error("the lab in {dir} never finished coming up")]
    #[diagnostic(
        code(runbook::lab::incomplete),
        help("remove it with `runbook lab down --dir {}`, then run `runbook lab up` again", dir.display())
    )]
    Incomplete { dir: PathBuf },
    #[error("the lab in {dir} is up but {stopped} not running")]
    #[diagnostic(
        code(runbook::lab::partly_down),
        help("start what is stopped with `{} <host dir> start <service>` (see runbook_service_command in {}/inventory.ini), or `runbook lab down --dir {}` and up again", script.display(), dir.display(), dir.display())
    )]
    PartlyDown {
        dir: PathBuf,
        stopped: String,
        script: PathBuf,
    },
    #[error("`{binary}` was not found on PATH")]
    #[diagnostic(
        code(runbook::lab::etcd_missing),
        help("install etcd 3.4 (Debian: `apt-get install etcd-server etcd-client`) or put etcd on PATH")
    )]
    EtcdMissing { binary: String },
    #[error("invalid lab options: {reason}")]
    #[diagnostic(code(runbook::lab::options))]
    Options { reason: String },
    #[error("`--layout embedded` does not take {flag}: {reason}")]
    #[diagnostic(code(runbook::lab::embedded_options), help("{supported}"))]
    EmbeddedOption {
        flag: String,
        reason: String,
        supported: String,
    },
    #[error("`{binary}` was not found on PATH; {needed_for}")]
    #[diagnostic(
        code(runbook::lab::tool_missing),
        help("install it (Debian: `apt-get install {binary}`) or put it on PATH")
    )]
    ToolMissing { binary: String, needed_for: String },
    #[error("cannot {action} {path}: {reason}")]
    #[diagnostic(
        code(runbook::lab::io),
        help("check permissions and free space under the lab directory")
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{path} is not a valid lab state file: {reason}")]
    #[diagnostic(
        code(runbook::lab::state),
        help("the lab was made by another runbook version or edited by hand; stop its processes and remove the directory by hand")
    )]
    State { path: PathBuf, reason: String },
    #[error("cannot make the lab's certificates: {reason}")]
    #[diagnostic(code(runbook::lab::certificates))]
    Certificate { reason: String },
    #[error("cannot {action} {service} on {host}")]
    #[diagnostic(
        code(runbook::lab::service),
        help("the service's log is {}", log.display())
    )]
    Service {
        host: String,
        service: String,
        action: &'static str,
        log: PathBuf,
        #[source]
        source: Box<crate::ops::service::ServiceError>,
    },
    #[error("{member} ({url}) did not become healthy within {waited_secs}s: {reason}")]
    #[diagnostic(
        code(runbook::lab::unhealthy),
        help("see the member's log {}", log.display())
    )]
    Unhealthy {
        member: String,
        url: String,
        waited_secs: u64,
        reason: String,
        log: PathBuf,
    },
    #[error("v2 request to the lab's members failed")]
    #[diagnostic(
        code(runbook::lab::v2),
        help("see the members' logs (DIR/hosts/etcd-*/var/log/etcd.log) and `runbook lab status`")
    )]
    Seed {
        #[source]
        source: Box<crate::ops::etcd::V2Error>,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Tls(Box<crate::ops::etcd::TlsError>),
    #[error("{service} on {host} (pid {pid}) is still running after stop")]
    #[diagnostic(
        code(runbook::lab::still_running),
        help("kill it by hand (`kill -9 {pid}`), then run `runbook lab down` again")
    )]
    StillRunning {
        host: String,
        service: String,
        pid: i32,
    },
    #[error("a lab of separate hosts (--hosts netns) needs root: it creates network and mount namespaces")]
    #[diagnostic(
        code(runbook::lab::needs_root),
        help("run it as root (`sudo runbook lab up --dir DIR --hosts netns`), or use the loopback lab (`--hosts loopback`, the default), which needs no privileges")
    )]
    NeedsRoot,
    #[error("{what} failed: {reason}")]
    #[diagnostic(
        code(runbook::lab::netns),
        help("the lab's namespaces are recorded in DIR/lab.json; `runbook lab down --dir DIR` removes whatever was made")
    )]
    Netns { what: String, reason: String },
    #[error("{host}: {what} did not happen within {waited_secs}s")]
    #[diagnostic(
        code(runbook::lab::host_boot),
        help("see {}", log.display())
    )]
    HostBoot {
        host: String,
        what: String,
        waited_secs: u64,
        log: PathBuf,
    },
    #[error("interrupted")]
    #[diagnostic(
        code(runbook::lab::interrupted),
        help("what the lab had started was stopped; run `runbook lab up` again")
    )]
    Interrupted,
}

impl From<crate::ops::etcd::TlsError> for LabError {
    fn from(error: crate::ops::etcd::TlsError) -> Self {
        LabError::Tls(Box::new(error))
    }
}

impl From<crate::ops::etcd::V2Error> for LabError {
    fn from(error: crate::ops::etcd::V2Error) -> Self {
        LabError::Seed {
            source: Box::new(error),
        }
    }
}

impl LabError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, error: std::io::Error) -> Self {
        LabError::Io {
            action,
            path: path.to_path_buf(),
            reason: error.to_string(),
        }
    }
}
