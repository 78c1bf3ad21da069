//! TLS for a member reached at another address than its own (through an ssh
//! tunnel on 127.0.0.1): the server certificate is still checked against the
//! member's real name or IP, not against the address dialled. Also the one
//! place a rustls client configuration for members is built.

use crate::ops::etcd::client::tls::{TlsError, TlsMaterial};
use crate::ops::etcd::client::tls_insecure::AcceptAnyServerCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// Checks certificates as the webpki verifier does, for one fixed server name.
#[derive(Debug)]
struct FixedNameVerifier {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for FixedNameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _dialled: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// How a client checks a member's server certificate.
#[derive(Debug, Clone, Copy)]
pub enum ServerCheck<'a> {
    /// Signed by the material's CA and issued for this name or IP address.
    Name(&'a str),
    /// Not at all (`runbook_etcd_tls_insecure_skip_verify`): only the handshake
    /// signatures are checked, so the peer still holds the key of the
    /// certificate it shows, whoever issued it.
    Skip,
}

/// A rustls client configuration that presents the material's client
/// certificate and checks the server as `check` says.
pub fn client_config(
    material: &TlsMaterial,
    check: ServerCheck<'_>,
) -> Result<rustls::ClientConfig, TlsError> {
    let pem = |what: &str, reason: String| TlsError::Pem {
        what: what.to_string(),
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(&material.cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem("the client certificate", e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(&material.key_pem)
        .map_err(|e| pem("the client key", e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        ServerCheck::Skip => Arc::new(AcceptAnyServerCert::new(provider.clone())),
        ServerCheck::Name(server_name) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&material.ca_pem) {
                let cert = cert.map_err(|e| pem("the CA certificate", e.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|e| pem("the CA certificate", e.to_string()))?;
            }
            let name = ServerName::try_from(server_name.trim_matches(['[', ']']).to_string())
                .map_err(|e| pem(&format!("server name `{server_name}`"), e.to_string()))?;
            let inner =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| pem("the CA certificate", e.to_string()))?;
            Arc::new(FixedNameVerifier { inner, name })
        }
    };
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| pem("the TLS configuration", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)
        .map_err(|e| pem("the client certificate and key", e.to_string()))
}

/// A `reqwest` client builder that trusts only the material's CA, presents its
/// client certificate, and checks the server certificate against `server_name`
/// (a host name or an IP address) whatever address is dialled.
pub fn reqwest_builder_for_name(
    material: &TlsMaterial,
    server_name: &str,
) -> Result<reqwest::ClientBuilder, TlsError> {
    let config = client_config(material, ServerCheck::Name(server_name))?;
    Ok(reqwest::Client::builder().use_preconfigured_tls(config))
}
