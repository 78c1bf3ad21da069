//! Waiting until every member's raft index is within a tolerance of the others
//! (the members have applied the same log), as the migration's pre-check
//! requires; a timeout is an error that names each member's last index.

use crate::duration::format_duration;
use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::cluster::status::{collect, ClusterStatus};
use std::time::Duration;
use tokio::time::Instant;

/// How to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvergeOptions {
    /// Largest accepted difference between the highest and lowest raft index.
    pub tolerance: u64,
    /// Give up after this long.
    pub timeout: Duration,
    /// Time between two polls.
    pub interval: Duration,
}

impl Default for ConvergeOptions {
    fn default() -> ConvergeOptions {
        ConvergeOptions {
            tolerance: 1,
            timeout: Duration::from_secs(120),
            interval: Duration::from_secs(5),
        }
    }
}

/// The members did not converge in time, or the wait was interrupted.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConvergeError {
    #[error("etcd raft indexes did not converge within {timeout} (tolerance {tolerance}); last raft indexes: {indexes}")]
    #[diagnostic(code(runbook::etcd::not_converged))]
    Timeout {
        timeout: String,
        tolerance: u64,
        indexes: String,
        last: Box<ClusterStatus>,
        #[help]
        help: String,
    },
    #[error(
        "interrupted while waiting for etcd raft indexes to converge; last raft indexes: {indexes}"
    )]
    #[diagnostic(code(runbook::etcd::interrupted))]
    Interrupted { indexes: String },
    #[error("no etcd members to wait for")]
    #[diagnostic(
        code(runbook::etcd::no_members),
        help("list the members under [etcd] in the inventory")
    )]
    NoMembers,
}

/// Whether `status` counts as converged under `tolerance`.
pub fn converged(status: &ClusterStatus, tolerance: u64) -> bool {
    status.all_reachable()
        && matches!(status.raft_index_range(), Some((min, max)) if max - min <= tolerance)
}

/// Polls every member's status until the raft indexes are within `tolerance`;
/// `progress` receives a line after each poll that is not yet converged.
pub async fn wait_converged(
    access: &EtcdAccess,
    members: &[EtcdMember],
    options: ConvergeOptions,
    progress: impl Fn(&str),
) -> Result<ClusterStatus, ConvergeError> {
    if members.is_empty() {
        return Err(ConvergeError::NoMembers);
    }
    let deadline = Instant::now() + options.timeout;
    let cancel = access.cancel_token();
    loop {
        // A poll never outlasts the deadline by more than a moment.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let poll_timeout = access
            .timeout()
            .min(remaining.max(Duration::from_millis(500)));
        let status = collect(access, members, poll_timeout).await;
        if converged(&status, options.tolerance) {
            return Ok(status);
        }
        let indexes = status.raft_indexes_text();
        let spread = match status.raft_index_range() {
            Some((min, max)) => format!("spread {}", max - min),
            None => "no member answered".to_string(),
        };
        let now = Instant::now();
        if now >= deadline {
            let help = lagging_help(&status);
            return Err(ConvergeError::Timeout {
                timeout: format_duration(options.timeout),
                tolerance: options.tolerance,
                indexes,
                last: Box::new(status),
                help,
            });
        }
        progress(&format!(
            "waiting for etcd raft indexes to converge ({spread}, tolerance {}; {} left): {indexes}",
            options.tolerance,
            format_duration(deadline - now)
        ));
        let pause = options.interval.min(deadline - now);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = cancel.cancelled() => return Err(ConvergeError::Interrupted { indexes }),
        }
    }
}

/// Advice naming the members that did not answer or are behind the highest index.
fn lagging_help(status: &ClusterStatus) -> String {
    let top = status.raft_index_range().map(|(_, max)| max).unwrap_or(0);
    let lagging: Vec<&str> = status
        .members
        .iter()
        .filter(|m| m.status.as_ref().map_or(true, |s| s.raft_index < top))
        .map(|m| m.host.as_str())
        .collect();
    let which = if lagging.is_empty() {
        "the members".to_string()
    } else {
        lagging.join(", ")
    };
    format!(
        "a member that is unreachable or behind may be down, slow or cut off: check etcd on {which} (`systemctl status etcd` and `journalctl -u etcd`) and `etcd.status()`; while writes go on, indexes differ briefly: allow a larger tolerance or a longer timeout (#{{tolerance: 2, timeout: \"5m\"}})"
    )
}
