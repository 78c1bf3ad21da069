//! Changing a master's master-config.yaml on its host (etcd3 storage on or off, etcd
//! embedded or external): a timestamped copy of the original beside it, an atomic write,
//! and a diff to show.

use super::config_patch::{self, PatchError, Patched};
use super::diff::unified_diff;
use super::embedded_certs;
use super::etcd_client_config;
use crate::inventory::Host;
use crate::transport::files::FileError;
use crate::transport::{shell_quote, RunOptions, Transport};
use tokio_util::sync::CancellationToken;

/// What to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    /// The storage backend to etcd3 (`master.patch()`).
    Etcd3,
    /// The storage backend back to the default (`master.unpatch()`).
    Default,
    /// From the embedded etcd to external members (`master.use_external_etcd()`).
    ExternalEtcd { urls: Vec<String>, ca: String },
    /// Back to the embedded etcd (`master.use_embedded_etcd()`): the copy taken before the
    /// move, byte for byte.
    EmbeddedEtcd,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigFileError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Patch(#[from] PatchError),
    #[error("{host}: {path} has no etcdConfig, and no copy of it beside it is the one the move to external etcd started from")]
    #[diagnostic(
        code(runbook::master::no_embedded_original),
        help("the copies are {path}.runbook-*; put the one with the embedded etcdConfig back by hand, or set etcdConfig as openshift-ansible's master.yaml.v1.j2 writes it")
    )]
    NoEmbeddedOriginal { host: String, path: String },
}

/// What happened to one master's config.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigChange {
    pub host: String,
    pub path: String,
    pub changed: bool,
    /// The copy of the original, when the file was changed.
    pub backup: Option<String>,
    pub diff: String,
    /// Unpatch restored the bytes of the copy taken before the patch.
    pub restored_original: bool,
    /// The master's certificates for its embedded etcd written back with the config.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restored_files: Vec<String>,
}

/// `<openshift_master_config_dir>/master-config.yaml`.
pub fn config_path(host: &Host) -> String {
    let dir = host
        .var_str("openshift_master_config_dir")
        .unwrap_or_else(|| "/etc/origin/master".to_string());
    format!("{}/master-config.yaml", dir.trim_end_matches('/'))
}

/// Switches one master's config; writes nothing when it already has the wanted shape.
pub async fn switch(
    host: &Host,
    transport: &Transport,
    switch: Switch,
    stamp: &str,
    cancel: &CancellationToken,
) -> Result<ConfigChange, ConfigFileError> {
    let path = config_path(host);
    let before = String::from_utf8_lossy(&transport.read_file(&path, cancel).await?).into_owned();
    let mut restored_original = false;
    let patched = match &switch {
        Switch::Etcd3 => config_patch::patch(&path, &before)?,
        Switch::Default => config_patch::unpatch(&path, &before)?,
        Switch::ExternalEtcd { urls, ca } => {
            etcd_client_config::use_external(&path, &before, urls, ca)?
        }
        Switch::EmbeddedEtcd if etcd_client_config::has_embedded_etcd(&path, &before)? => Patched {
            text: before.clone(),
            changed: false,
        },
        Switch::EmbeddedEtcd => {
            let (_, original) = embedded_original(host, transport, &path, &before, cancel).await?;
            restored_original = true;
            Patched {
                text: original,
                changed: true,
            }
        }
    };
    let mut change = ConfigChange {
        host: host.name.clone(),
        path: path.clone(),
        changed: patched.changed,
        backup: None,
        diff: String::new(),
        restored_original,
        restored_files: Vec::new(),
    };
    if switch == Switch::EmbeddedEtcd {
        // Also on a resumed run that put the config back already.
        change.restored_files = embedded_certs::put_back(host, transport, stamp, cancel).await?;
    }
    if !patched.changed {
        return Ok(change);
    }
    let mut after = patched.text;
    if switch == Switch::Default {
        // Prefer the exact bytes of a copy taken before a patch, when it says the same.
        let wanted = config_patch::parse(&path, &after).ok();
        let same = |copy: &str| wanted.is_some() && config_patch::parse(&path, copy).ok() == wanted;
        if let Some((_, original)) = matching_copy(transport, &path, cancel, same).await? {
            after = original;
            change.restored_original = true;
        }
    }
    let backup = transport
        .free_name(&format!("{path}.runbook-{stamp}"), cancel)
        .await?;
    transport
        .write_private_file(&backup, before.as_bytes(), cancel)
        .await?;
    transport
        .write_file(&path, after.as_bytes(), cancel)
        .await?;
    change.backup = Some(backup);
    change.diff = unified_diff(&path, &before, &after);
    Ok(change)
}

/// The copy of `master-config.yaml` (path and text) that `use_external_etcd` took of the
/// config it moved the embedded etcd out of, when `current` is that config.
pub async fn embedded_original(
    host: &Host,
    transport: &Transport,
    path: &str,
    current: &str,
    cancel: &CancellationToken,
) -> Result<(String, String), ConfigFileError> {
    let moved = etcd_client_config::MovedConfig::read(path, current);
    matching_copy(transport, path, cancel, |copy| {
        moved.as_ref().is_some_and(|m| m.is_moved_from(copy))
    })
    .await?
    .ok_or_else(|| ConfigFileError::NoEmbeddedOriginal {
        host: host.name.clone(),
        path: path.to_string(),
    })
}

/// The newest `master-config.yaml.runbook-*` copy that `matches`: its path and text.
async fn matching_copy(
    transport: &Transport,
    path: &str,
    cancel: &CancellationToken,
    matches: impl Fn(&str) -> bool,
) -> Result<Option<(String, String)>, FileError> {
    let list = format!(
        "ls -1 {}.runbook-* 2>/dev/null | sort -r | head -n 20",
        shell_quote(path)
    );
    let output = transport.run(&list, &RunOptions::default(), cancel).await?;
    for copy in output.stdout_text().lines().filter(|l| !l.is_empty()) {
        let text = String::from_utf8_lossy(&transport.read_file(copy, cancel).await?).into_owned();
        if matches(&text) {
            return Ok(Some((copy.to_string(), text)));
        }
    }
    Ok(None)
}
