//! The v3 gRPC client: connecting with or without TLS, and simple key counts.

use crate::ops::etcd::client::tls::TlsMaterial;
use std::time::Duration;

/// Why a v3 call failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum V3Error {
    #[error("cannot connect to etcd v3 at {endpoints}: {reason}")]
    #[diagnostic(
        code(runbook::etcd::v3::connect),
        help("check that etcd is running there and that the URL scheme and TLS files match the member's configuration")
    )]
    Connect { endpoints: String, reason: String },
    #[error("etcd v3 {operation} on {endpoints} failed: {reason}")]
    #[diagnostic(code(runbook::etcd::v3::request))]
    Request {
        operation: &'static str,
        endpoints: String,
        reason: String,
    },
}

/// Connects to `endpoints` (client URLs), with TLS when given.
pub async fn connect(
    endpoints: &[String],
    tls: Option<&TlsMaterial>,
    timeout: Duration,
) -> Result<etcd_client::Client, V3Error> {
    let options = match tls {
        Some(tls) => tls.connect_options(),
        None => etcd_client::ConnectOptions::new(),
    };
    connect_with(endpoints, options, timeout).await
}

/// Connects to `endpoints` with the given options (TLS and the like) and timeouts.
pub async fn connect_with(
    endpoints: &[String],
    options: etcd_client::ConnectOptions,
    timeout: Duration,
) -> Result<etcd_client::Client, V3Error> {
    let options = options.with_connect_timeout(timeout).with_timeout(timeout);
    etcd_client::Client::connect(endpoints, Some(options))
        .await
        .map_err(|e| V3Error::Connect {
            endpoints: endpoints.join(","),
            reason: e.to_string(),
        })
}

/// Number of v3 keys (the whole keyspace), without fetching them.
pub async fn count_keys(
    client: &mut etcd_client::Client,
    endpoints: &[String],
) -> Result<u64, V3Error> {
    let options = etcd_client::GetOptions::new()
        .with_all_keys()
        .with_count_only();
    let response = client
        .get("", Some(options))
        .await
        .map_err(|e| V3Error::Request {
            operation: "count",
            endpoints: endpoints.join(","),
            reason: e.to_string(),
        })?;
    Ok(u64::try_from(response.count()).unwrap_or(0))
}
