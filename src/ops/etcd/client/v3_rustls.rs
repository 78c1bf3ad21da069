//! A v3 client over a rustls configuration of our own (tonic's TLS settings
//! cannot turn certificate checks off): each connection dials the member,
//! runs the TLS handshake with that configuration and speaks gRPC over it.

use crate::ops::etcd::client::v3::V3Error;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tonic::codegen::http::Uri;

/// Dials `host:port` of the URI it is given and runs the TLS handshake.
#[derive(Clone)]
struct RustlsConnector {
    tls: TlsConnector,
}

type Connecting =
    Pin<Box<dyn Future<Output = std::io::Result<TokioIo<TlsStream<TcpStream>>>> + Send>>;

impl tower_service::Service<Uri> for RustlsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        Box::pin(async move {
            let invalid = |what: &str| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_string())
            };
            let host = uri.host().ok_or_else(|| invalid("the URL has no host"))?;
            let host = host.trim_matches(['[', ']']).to_string();
            let port = uri.port_u16().unwrap_or(2379);
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let name = rustls::pki_types::ServerName::try_from(host)
                .map_err(|e| invalid(&e.to_string()))?;
            let stream = tls.connect(name, tcp).await?;
            Ok(TokioIo::new(stream))
        })
    }
}

/// A v3 client for one member at `url` (`https://host:port`) over `config`.
pub async fn connect(
    url: &str,
    mut config: rustls::ClientConfig,
    timeout: Duration,
) -> Result<etcd_client::Client, V3Error> {
    let failed = |reason: String| V3Error::Connect {
        endpoints: url.to_string(),
        reason,
    };
    // gRPC needs HTTP/2, which a TLS server agrees to through ALPN.
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = RustlsConnector {
        tls: TlsConnector::from(Arc::new(config)),
    };
    // The scheme only tells tonic not to add TLS of its own: the connector does it.
    let plain = match url.strip_prefix("https://") {
        Some(rest) => format!("http://{rest}"),
        None => url.to_string(),
    };
    let endpoint = tonic::transport::Endpoint::from_shared(plain)
        .map_err(|e| failed(e.to_string()))?
        .connect_timeout(timeout)
        .timeout(timeout);
    let channel = endpoint.connect_with_connector_lazy(connector);
    let options = etcd_client::ConnectOptions::new()
        .with_connect_timeout(timeout)
        .with_timeout(timeout);
    etcd_client::Client::from_channel(etcd_client::Channel::Tonic(channel), Some(options))
        .await
        .map_err(|e| failed(e.to_string()))
}
