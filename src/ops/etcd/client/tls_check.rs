//! A member's server certificate checked once per run before any client uses
//! it, so a certificate that does not verify (or a client certificate the member
//! refuses) is reported as such, naming the member and the fix, instead of as a
//! vague failed connection deep inside a gRPC or HTTP client.

use crate::ops::etcd::client::tls::{TlsFiles, TlsMaterial};
use crate::ops::etcd::client::tls_insecure::INSECURE_SKIP_VERIFY;
use crate::ops::etcd::client::tls_name::{client_config, ServerCheck};
use rustls::{AlertDescription, CertificateError};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a handshake with a member showed about its certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The handshake and a request went through.
    Accepted,
    /// The member could not be asked (down, unreachable, timed out): no verdict.
    Unknown,
    /// The certificates do not do: why, and what to do about it.
    Refused { reason: String, help: String },
}

/// Whose certificate failed and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    UnknownIssuer,
    WrongName,
    Expired,
    Other,
    ClientRefused,
}

/// Dials `url` (the member's client URL or a tunnel to it), checks the server
/// certificate as the clients will (`check`), and sends one request so a
/// member that refuses our client certificate says so.
pub async fn check(
    host: &str,
    url: &str,
    material: &TlsMaterial,
    files: Option<&TlsFiles>,
    check: ServerCheck<'_>,
    timeout: Duration,
) -> Verdict {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Verdict::Unknown;
    };
    let (Some(address), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return Verdict::Unknown;
    };
    let address = address.trim_matches(['[', ']']).to_string();
    let Ok(config) = client_config(material, check) else {
        // Unusable PEM is reported by the client that reads it.
        return Verdict::Unknown;
    };
    let name = match check {
        ServerCheck::Name(name) => name.trim_matches(['[', ']']).to_string(),
        ServerCheck::Skip => address.clone(),
    };
    let Ok(server_name) = rustls::pki_types::ServerName::try_from(name.clone()) else {
        return Verdict::Unknown;
    };
    let attempt = async {
        let tcp = TcpStream::connect((address.as_str(), port)).await?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let mut stream = connector.connect(server_name, tcp).await?;
        // TLS 1.3 servers judge the client certificate after the client's
        // handshake is done: only a read shows their verdict.
        stream
            .write_all(b"GET /version HTTP/1.1\r\nHost: etcd\r\nConnection: close\r\n\r\n")
            .await?;
        // Any answer at all (even an HTTP error) means the handshake was accepted.
        let mut buffer = [0u8; 64];
        let _answered = stream.read(&mut buffer).await?;
        Ok::<_, std::io::Error>(())
    };
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => Verdict::Unknown,
        Ok(Ok(())) => Verdict::Accepted,
        Ok(Err(error)) => match classify(&error) {
            None => Verdict::Unknown,
            Some((failure, reason)) => Verdict::Refused {
                reason,
                help: advice(failure, host, &name, files),
            },
        },
    }
}

fn classify(error: &std::io::Error) -> Option<(Failure, String)> {
    let tls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    let failure = match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                Failure::UnknownIssuer
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Failure::WrongName
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => Failure::Expired,
            _ => Failure::Other,
        },
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateRequired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::AccessDenied,
        ) => Failure::ClientRefused,
        _ => return None,
    };
    let reason = match failure {
        Failure::ClientRefused => {
            format!("the member refused runbook's client certificate ({tls})")
        }
        _ => format!("its server certificate does not verify ({tls})"),
    };
    Some((failure, reason))
}

fn advice(failure: Failure, host: &str, name: &str, files: Option<&TlsFiles>) -> String {
    let ca = files
        .map(|f| f.ca_file.display().to_string())
        .unwrap_or_else(|| "the CA file".into());
    let cert = files
        .map(|f| f.cert_file.display().to_string())
        .unwrap_or_else(|| "the client certificate".into());
    let skip = format!(
        "only if the network between here and {host} is trusted, {INSECURE_SKIP_VERIFY}=true for {host} skips the check (logged as a warning each run)"
    );
    match failure {
        Failure::UnknownIssuer => format!(
            "{host}'s certificate is not signed by the CA runbook trusts for it ({ca}): set etcd_peer_ca_file (or etcd_conf_dir) for {host} in the inventory to the CA that signed the member's certificate; {skip}"
        ),
        Failure::WrongName => format!(
            "{host}'s certificate is not issued for `{name}`, the address runbook connects to (etcd_ip, else ansible_host): set etcd_ip for {host} to a name or IP address the certificate lists, or reissue the certificate for `{name}`; {skip}"
        ),
        Failure::Expired => format!(
            "{host}'s certificate is outside its validity period (check the clock on this machine and on {host}): renew the member's certificate; {skip}"
        ),
        Failure::Other => format!(
            "{host}'s certificate is not acceptable for an etcd server: check the member's ETCD_CERT_FILE and the CA in {ca}; {skip}"
        ),
        Failure::ClientRefused => format!(
            "{host} does not accept the client certificate runbook presents ({cert}, from etcd_peer_cert_file): set etcd_peer_cert_file and etcd_peer_key_file for {host} to a certificate signed by the CA in the member's ETCD_TRUSTED_CA_FILE"
        ),
    }
}
