//! Whether a member's data dir holds a v2 snapshot (`member/snap/*.snap`):
//! `etcdctl migrate` rebuilds the v2 store from the newest one plus the WAL.

use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::transport::{shell_quote, Transport};
use tokio_util::sync::CancellationToken;

/// The snapshot directory of a data dir.
pub fn snap_dir(data_dir: &str) -> String {
    format!("{}/member/snap", data_dir.trim_end_matches('/'))
}

/// The names of the `*.snap` files in the member's snapshot directory (none if it does not exist).
pub async fn v2_snapshots(
    transport: &Transport,
    data_dir: &str,
    cancel: &CancellationToken,
) -> Result<Vec<String>, StepError> {
    let script = format!(
        r#"for f in {}/*.snap; do [ -f "$f" ] && printf '%s\n' "${{f##*/}}"; done; exit 0"#,
        shell_quote(&snap_dir(data_dir))
    );
    let output = host_step::run_ok(transport, "listing v2 snapshots", &script, cancel).await?;
    Ok(output
        .stdout_text()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Whether at least one `*.snap` exists.
pub async fn has_v2_snapshot(
    transport: &Transport,
    data_dir: &str,
    cancel: &CancellationToken,
) -> Result<bool, StepError> {
    Ok(!v2_snapshots(transport, data_dir, cancel).await?.is_empty())
}
