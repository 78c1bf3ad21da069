//! The master's certificates for its embedded etcd, put back when the etcd comes back into
//! the master: the copies (`<file>.runbook-embedded`) kept when the etcd CA's client
//! certificate replaced them. What they replace now is kept too (`<file>.runbook-<stamp>`).

use crate::inventory::Host;
use crate::transport::files::FileError;
use crate::transport::Transport;
use tokio_util::sync::CancellationToken;

/// The suffix of the copy a master's file gets the first time it is replaced for an
/// external etcd: the file of its embedded etcd, never overwritten.
pub const EMBEDDED_SUFFIX: &str = ".runbook-embedded";

/// The master's files the move to an external etcd replaces, in its config dir.
pub const CLIENT_FILES: [&str; 3] = [
    "master.etcd-client.crt",
    "master.etcd-client.key",
    "master.etcd-ca.crt",
];

/// Writes back every kept copy that differs from the file; returns the files written.
pub async fn put_back(
    host: &Host,
    transport: &Transport,
    stamp: &str,
    cancel: &CancellationToken,
) -> Result<Vec<String>, FileError> {
    let dir = host
        .var_str("openshift_master_config_dir")
        .unwrap_or_else(|| "/etc/origin/master".to_string());
    let mut written = Vec::new();
    for name in CLIENT_FILES {
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        let copy = format!("{path}{EMBEDDED_SUFFIX}");
        if !transport.path_exists(&copy, cancel).await? {
            continue;
        }
        let original = transport.read_file(&copy, cancel).await?;
        let current = transport.read_existing(&path, cancel).await?;
        if current.as_deref() == Some(original.as_slice()) {
            continue;
        }
        if let Some(current) = current {
            let kept = transport
                .free_name(&format!("{path}.runbook-{stamp}"), cancel)
                .await?;
            transport
                .write_private_file(&kept, &current, cancel)
                .await?;
        }
        if name.ends_with(".key") {
            transport
                .write_private_file(&path, &original, cancel)
                .await?;
        } else {
            transport.write_file(&path, &original, cancel).await?;
        }
        written.push(path);
    }
    Ok(written)
}
