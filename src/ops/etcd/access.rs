//! Reaching etcd members from the control machine: TLS material read from each
//! member's host (through its transport), and v3 and v2 clients per member or
//! for the whole cluster, with a timeout on every call.

use super::member::EtcdMember;
use super::tls::{TlsError, TlsMaterial};
use super::v2::{V2Client, V2Error};
use super::v3::{self, V3Error};
use crate::transport::files::FileError;
use crate::transport::{ConnectionTarget, TransportError, TransportPool};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Why a member could not be reached.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AccessError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
    #[error("cannot read the TLS files of {member}: {source}")]
    #[diagnostic(
        code(runbook::etcd::tls_files),
        help("check etcd_peer_ca_file, etcd_peer_cert_file and etcd_peer_key_file (or etcd_conf_dir) for {member} in the inventory")
    )]
    TlsFiles { member: String, source: FileError },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    V3(#[from] V3Error),
    #[error(transparent)]
    #[diagnostic(transparent)]
    V2(#[from] V2Error),
}

/// Connections to etcd for one run, shared by every primitive.
pub struct EtcdAccess {
    transports: Arc<TransportPool>,
    cancel: CancellationToken,
    timeout: Duration,
    tls: Mutex<HashMap<String, Option<TlsMaterial>>>,
}

impl EtcdAccess {
    pub fn new(transports: Arc<TransportPool>, cancel: CancellationToken) -> EtcdAccess {
        EtcdAccess {
            transports,
            cancel,
            timeout: Duration::from_secs(10),
            tls: Mutex::new(HashMap::new()),
        }
    }

    /// The timeout applied to each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The member's client TLS material, read once from its host (so certificates
    /// that live on a remote etcd host need not be copied to the control machine).
    pub async fn tls(&self, member: &EtcdMember) -> Result<Option<TlsMaterial>, AccessError> {
        let mut cache = self.tls.lock().await;
        if let Some(material) = cache.get(&member.host.name) {
            return Ok(material.clone());
        }
        let material = match &member.endpoint.tls {
            None => None,
            Some(files) => {
                let target = ConnectionTarget::from_host(&member.host)?;
                let transport = self
                    .transports
                    .get(&member.host.name, &target, &self.cancel)
                    .await?;
                let read = |path: &Path| {
                    let transport = transport.clone();
                    let path = path.display().to_string();
                    async move { transport.read_file(&path, &self.cancel).await }
                };
                let wrap = |source| AccessError::TlsFiles {
                    member: member.name.clone(),
                    source,
                };
                Some(TlsMaterial {
                    ca_pem: read(&files.ca_file).await.map_err(wrap)?,
                    cert_pem: read(&files.cert_file).await.map_err(wrap)?,
                    key_pem: read(&files.key_file).await.map_err(wrap)?,
                })
            }
        };
        cache.insert(member.host.name.clone(), material.clone());
        Ok(material)
    }

    /// A v3 client talking to this member only.
    pub async fn v3_member(&self, member: &EtcdMember) -> Result<etcd_client::Client, AccessError> {
        let tls = self.tls(member).await?;
        Ok(v3::connect(
            std::slice::from_ref(&member.endpoint.client_url),
            tls.as_ref(),
            self.timeout,
        )
        .await?)
    }

    /// A v3 client balanced over every given member (TLS of the first).
    pub async fn v3_cluster(
        &self,
        members: &[EtcdMember],
    ) -> Result<etcd_client::Client, AccessError> {
        let Some(first) = members.first() else {
            return Err(V3Error::Connect {
                endpoints: String::new(),
                reason: "no etcd members".into(),
            }
            .into());
        };
        let tls = self.tls(first).await?;
        let endpoints: Vec<String> = members
            .iter()
            .map(|m| m.endpoint.client_url.clone())
            .collect();
        Ok(v3::connect(&endpoints, tls.as_ref(), self.timeout).await?)
    }

    /// A v2 HTTP client talking to this member only.
    pub async fn v2_member(&self, member: &EtcdMember) -> Result<V2Client, AccessError> {
        let tls = self.tls(member).await?;
        Ok(V2Client::new(
            std::slice::from_ref(&member.endpoint.client_url),
            tls.as_ref(),
        )?)
    }
}
