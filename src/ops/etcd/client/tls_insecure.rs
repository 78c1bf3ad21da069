//! `runbook_etcd_tls_insecure_skip_verify`: the explicit, per-host way to talk
//! to a member without checking its server certificate, and the verifier that
//! does so. Verification is on unless an inventory sets this flag.

use crate::inventory::Host;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// The inventory variable that turns server-certificate checks off for a member.
pub const INSECURE_SKIP_VERIFY: &str = "runbook_etcd_tls_insecure_skip_verify";

/// Whether `host` sets [`INSECURE_SKIP_VERIFY`]; `Err(value)` if it is not a boolean.
pub fn insecure_skip_verify(host: &Host) -> Result<bool, String> {
    host.var_bool(INSECURE_SKIP_VERIFY)
        .map(|flag| flag.unwrap_or(false))
        .map_err(|_| host.var_str(INSECURE_SKIP_VERIFY).unwrap_or_default())
}

/// The warning logged each run for each member reached without verification.
pub fn warn_unverified(host: &str, url: &str) {
    tracing::warn!(
        host,
        url,
        "TLS VERIFICATION IS OFF for etcd member {host} ({url}): {INSECURE_SKIP_VERIFY}=true, \
         so its server certificate is NOT checked and a man-in-the-middle would go unnoticed; \
         remove {INSECURE_SKIP_VERIFY} from the inventory once etcd_peer_ca_file names the CA \
         that signed the member's certificate"
    );
}

/// Accepts any server certificate, but still checks that the server signed the
/// handshake with the key of the certificate it presented.
#[derive(Debug)]
pub struct AcceptAnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl AcceptAnyServerCert {
    pub fn new(provider: Arc<CryptoProvider>) -> AcceptAnyServerCert {
        AcceptAnyServerCert { provider }
    }
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
