//! Waiting until one member is healthy (v2 and v3, as `etcd.health()` checks it): after a
//! start or a restart, before the next member is touched.

use crate::duration::format_duration;
use crate::ops::etcd::client::access::{AccessError, EtcdAccess};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::cluster::health::{check, MemberHealth};
use std::time::Duration;
use tokio::time::Instant;

/// The member was not healthy in time, or the wait was interrupted.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WaitHealthyError {
    #[error("etcd on {host} was not healthy within {timeout}: {last}")]
    #[diagnostic(code(runbook::etcd::not_healthy))]
    Timeout {
        host: String,
        timeout: String,
        last: String,
        #[help]
        help: String,
    },
    #[error("interrupted while waiting for etcd on {host} to be healthy: {last}")]
    #[diagnostic(code(runbook::etcd::interrupted))]
    Interrupted { host: String, last: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Access(#[from] AccessError),
}

/// Polls `member` every `interval` until it is healthy; the last error when `timeout` runs out.
pub async fn wait_healthy(
    access: &EtcdAccess,
    member: &EtcdMember,
    timeout: Duration,
    interval: Duration,
) -> Result<MemberHealth, WaitHealthyError> {
    let deadline = Instant::now() + timeout;
    let cancel = access.cancel_token();
    loop {
        let report = check(access, std::slice::from_ref(member)).await?;
        let health = report.members.into_iter().next();
        let (last, advice) = match health {
            Some(health) if health.healthy() => return Ok(health),
            Some(health) => (
                health.error.unwrap_or_else(|| "unhealthy".into()),
                health.advice,
            ),
            None => ("no answer".to_string(), None),
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitHealthyError::Timeout {
                host: member.host.name.clone(),
                timeout: format_duration(timeout),
                help: advice.unwrap_or_else(|| {
                    format!(
                        "check etcd on {}: `systemctl status {}` and `journalctl -u {}`; a member loading a large snapshot may need a longer timeout (#{{timeout: \"5m\"}})",
                        member.host.name, member.service, member.service
                    )
                }),
                last,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(interval.min(deadline - now)) => {}
            _ = cancel.cancelled() => {
                return Err(WaitHealthyError::Interrupted {
                    host: member.host.name.clone(),
                    last,
                })
            }
        }
    }
}
