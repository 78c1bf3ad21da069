//! A host's clock, as an offset from this machine's. v2 expiries are instants on etcd's
//! clock; the leases that restore them count seconds from now on that same clock.

use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::transport::Transport;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

/// Nanoseconds to add to this machine's time to get the host's (`None` if the host's
/// `date` cannot print nanoseconds).
pub async fn offset(
    transport: &Transport,
    cancel: &CancellationToken,
) -> Result<Option<i64>, StepError> {
    let before = now();
    let output = host_step::run_ok(transport, "reading the clock", "date +%s%N", cancel).await?;
    let after = now();
    let host: Option<i64> = output.stdout_text().trim().parse().ok();
    Ok(host.map(|at| at - (before / 2 + after / 2)))
}

/// This machine's time, Unix ns.
pub fn now() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}
