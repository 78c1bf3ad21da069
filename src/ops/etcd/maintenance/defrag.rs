//! `etcd.defrag`: defragmenting one member's backend (it blocks that member meanwhile), with
//! its db size before and after. The wait is bounded by a timeout and stops on Ctrl-C.

use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::maintenance::error::{v3_failed, MaintenanceError};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long a defragmentation may take unless the script says otherwise: a member with
/// gigabytes of data takes minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What a defragmentation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Defragmented {
    pub host: String,
    pub member: String,
    pub db_size_before: i64,
    pub db_size_after: i64,
    pub seconds: f64,
}

async fn db_size(access: &EtcdAccess, member: &EtcdMember) -> Result<i64, MaintenanceError> {
    let mut client = access.v3_member(member).await?;
    let status = client
        .status()
        .await
        .map_err(|e| v3_failed("status", member.host_name(), &e))?;
    Ok(status.db_size())
}

/// Defragments `member`, waiting at most `timeout`; `cancel` stops the wait (etcd goes on).
pub async fn defrag(
    access: &EtcdAccess,
    member: &EtcdMember,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<Defragmented, MaintenanceError> {
    let host = member.host_name().to_string();
    // A member that does not answer fails here, within the run's timeout, not the defrag's.
    let db_size_before = db_size(access, member).await?;
    let mut client = access.v3_member_with_timeout(member, timeout).await?;
    let started = Instant::now();
    tokio::select! {
        _ = cancel.cancelled() => return Err(MaintenanceError::Interrupted { host }),
        _ = tokio::time::sleep(timeout) => return Err(MaintenanceError::DefragTimeout {
            host,
            timeout: crate::duration::format_duration(timeout),
        }),
        answer = client.defragment() => {
            answer.map_err(|e| {
                if matches!(&e, etcd_client::Error::GRpcStatus(s) if s.code() == tonic::Code::Cancelled || s.code() == tonic::Code::DeadlineExceeded) {
                    MaintenanceError::DefragTimeout {
                        host: host.clone(),
                        timeout: crate::duration::format_duration(timeout),
                    }
                } else {
                    v3_failed("defragment", &host, &e)
                }
            })?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let db_size_after = db_size(access, member).await?;
    Ok(Defragmented {
        host,
        member: member.name.clone(),
        db_size_before,
        db_size_after,
        seconds,
    })
}
