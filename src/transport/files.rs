//! File operations on a host, built on shell commands so local and ssh hosts
//! behave alike: read, atomic write (temp file + rename, mode kept), exists.

use super::{Transport, TransportError};
use tokio_util::sync::CancellationToken;

/// Why a file operation failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FileError {
    #[error("{path} does not exist on {host}")]
    #[diagnostic(
        code(runbook::file::not_found),
        help("check the path, or the inventory variable it came from")
    )]
    NotFound { host: String, path: String },
    #[error("cannot {operation} {path} on {host}: {stderr}")]
    #[diagnostic(code(runbook::file::failed))]
    Failed {
        host: String,
        path: String,
        operation: &'static str,
        stderr: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
}

impl Transport {
    /// Reads a whole file.
    pub async fn read_file(
        &self,
        path: &str,
        cancel: &CancellationToken,
    ) -> Result<Vec<u8>, FileError> {
        let _ = (path, cancel);
        todo!("transport::files::read_file")
    }

    /// Writes a whole file atomically: a temp file in the same directory,
    /// then rename. An existing file's mode is kept; a new file gets 0644.
    pub async fn write_file(
        &self,
        path: &str,
        data: &[u8],
        cancel: &CancellationToken,
    ) -> Result<(), FileError> {
        let _ = (path, data, cancel);
        todo!("transport::files::write_file")
    }

    /// Whether a path (file or directory) exists.
    pub async fn path_exists(
        &self,
        path: &str,
        cancel: &CancellationToken,
    ) -> Result<bool, FileError> {
        let _ = (path, cancel);
        todo!("transport::files::path_exists")
    }
}
