//! Where a file is kept before runbook replaces it: beside it, owner-only, never over an
//! earlier copy. A member's files become `<file>.runbook-<UTC stamp>`; a master's become
//! `<file>.runbook-embedded` the first time (the files of its embedded etcd, which a later,
//! resumed run must not overwrite), and a stamped copy after that.

use crate::transport::files::FileError;
use crate::transport::Transport;
use tokio_util::sync::CancellationToken;

/// How the copy of a replaced file is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepAs {
    /// `<file>.runbook-<stamp>`.
    Stamped(String),
    /// `<file>.runbook-embedded` unless one exists that says otherwise, then
    /// `<file>.runbook-<stamp>`.
    Embedded(String),
}

/// The suffix of the first copy of a master's files (`master.use_embedded_etcd` puts them back).
pub use crate::ops::master::embedded_certs::EMBEDDED_SUFFIX;

/// A UTC stamp for copies' names: `20240102T030405Z`.
pub fn utc_stamp() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// Keeps a copy of `path` (whose bytes are `current`) as `rule` says and returns its path.
pub async fn keep(
    transport: &Transport,
    path: &str,
    current: &[u8],
    rule: &KeepAs,
    cancel: &CancellationToken,
) -> Result<String, FileError> {
    let stamp = match rule {
        KeepAs::Stamped(stamp) => stamp,
        KeepAs::Embedded(stamp) => {
            let embedded = format!("{path}{EMBEDDED_SUFFIX}");
            if !transport.path_exists(&embedded, cancel).await? {
                transport
                    .write_private_file(&embedded, current, cancel)
                    .await?;
                return Ok(embedded);
            }
            if transport.read_file(&embedded, cancel).await? == current {
                // Kept already (a run stopped after its copies, before its writes).
                return Ok(embedded);
            }
            stamp
        }
    };
    let copy = transport
        .free_name(&format!("{path}.runbook-{stamp}"), cancel)
        .await?;
    transport.write_private_file(&copy, current, cancel).await?;
    Ok(copy)
}
