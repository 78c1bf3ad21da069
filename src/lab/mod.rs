//! The local rehearsal cluster: real etcd 3.4 members on loopback, a master host, seeded v2 data.

use std::path::PathBuf;

/// What `runbook lab up` builds.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub dir: PathBuf,
    pub members: usize,
    pub tls: bool,
    pub keys: usize,
}

use crate::report::Reporter;
use tokio_util::sync::CancellationToken;

/// Why a lab command failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LabError {
    #[error("lab command not built yet")]
    NotBuilt,
}

/// `runbook lab up`: start the members, seed v2 data, write `inventory.ini` and `env`.
pub async fn up(
    options: &LabOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<(), LabError> {
    let _ = (options, reporter, cancel);
    Err(LabError::NotBuilt)
}

/// `runbook lab down`: stop exactly the processes this lab started, then remove its directory.
pub async fn down(dir: &std::path::Path, reporter: &Reporter) -> Result<(), LabError> {
    let _ = (dir, reporter);
    Err(LabError::NotBuilt)
}

/// `runbook lab status`: each member, its health and key counts.
pub async fn status(dir: &std::path::Path, reporter: &Reporter) -> Result<(), LabError> {
    let _ = (dir, reporter);
    Err(LabError::NotBuilt)
}
