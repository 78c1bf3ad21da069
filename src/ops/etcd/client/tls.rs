//! Client TLS for etcd: a CA, a client certificate and its key, as files or PEM bytes,
//! turned into a `reqwest` client (v2 HTTP API) or `etcd_client::ConnectOptions` (v3 gRPC).

use std::path::{Path, PathBuf};

/// Where a client's TLS files are (on the machine that runs `runbook`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA that signed the members' server certificates.
    pub ca_file: PathBuf,
    /// Client certificate presented to members (`--client-cert-auth`).
    pub cert_file: PathBuf,
    /// Private key of `cert_file`.
    pub key_file: PathBuf,
}

/// The PEM contents of a CA, a client certificate and its key.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsMaterial {
    pub ca_pem: Vec<u8>,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

// Key material stays out of logs and debug output.
impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_pem", &format_args!("{} bytes", self.ca_pem.len()))
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Why TLS files could not be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TlsError {
    #[error("cannot read TLS file {path}: {reason}")]
    #[diagnostic(
        code(runbook::etcd::tls::read),
        help("check etcd_ca_file / etcd_peer_cert_file / etcd_peer_key_file in the inventory and that the file is readable")
    )]
    Read { path: PathBuf, reason: String },
    #[error("{what} is not usable PEM: {reason}")]
    #[diagnostic(
        code(runbook::etcd::tls::pem),
        help("the file must hold a PEM certificate (BEGIN CERTIFICATE) or a PEM private key (BEGIN PRIVATE KEY / RSA PRIVATE KEY / EC PRIVATE KEY)")
    )]
    Pem { what: String, reason: String },
}

impl TlsFiles {
    /// CA, certificate and key in one directory, with the given file names.
    pub fn in_dir(dir: &Path, ca: &str, cert: &str, key: &str) -> TlsFiles {
        TlsFiles {
            ca_file: dir.join(ca),
            cert_file: dir.join(cert),
            key_file: dir.join(key),
        }
    }

    /// Reads the three files.
    pub fn read(&self) -> Result<TlsMaterial, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| TlsError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        };
        Ok(TlsMaterial {
            ca_pem: read(&self.ca_file)?,
            cert_pem: read(&self.cert_file)?,
            key_pem: read(&self.key_file)?,
        })
    }
}

impl TlsMaterial {
    /// A `reqwest` client builder that trusts only the CA and presents the client certificate.
    pub fn reqwest_builder(&self) -> Result<reqwest::ClientBuilder, TlsError> {
        let ca = reqwest::Certificate::from_pem(&self.ca_pem).map_err(|e| TlsError::Pem {
            what: "the CA certificate".into(),
            reason: e.to_string(),
        })?;
        let mut bundle = self.cert_pem.clone();
        if !bundle.ends_with(b"\n") {
            bundle.push(b'\n');
        }
        bundle.extend_from_slice(&self.key_pem);
        let identity = reqwest::Identity::from_pem(&bundle).map_err(|e| TlsError::Pem {
            what: "the client certificate and key".into(),
            reason: e.to_string(),
        })?;
        Ok(reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .identity(identity))
    }

    /// TLS options for the v3 gRPC client.
    pub fn etcd_tls_options(&self) -> etcd_client::TlsOptions {
        etcd_client::TlsOptions::new()
            .ca_certificate(etcd_client::Certificate::from_pem(&self.ca_pem))
            .identity(etcd_client::Identity::from_pem(
                &self.cert_pem,
                &self.key_pem,
            ))
    }

    /// Connect options for the v3 client with this TLS material.
    pub fn connect_options(&self) -> etcd_client::ConnectOptions {
        etcd_client::ConnectOptions::new().with_tls(self.etcd_tls_options())
    }
}
