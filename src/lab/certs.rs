//! Fresh certificates for each lab: one CA, per member a server and a peer certificate
//! (serverAuth + clientAuth, so the peer certificate doubles as a client certificate as in
//! openshift-ansible), and the master's etcd client certificate. Keys and the CA
//! certificate are 0600 in 0700 dirs; the CA's key stays in memory, never written, so no
//! two labs share a CA. A master with embedded etcd is the exception: like the master
//! openshift-ansible sets up (`oc adm create-master-certs`), it holds its CA, key included,
//! and the etcd certificates it serves with.

use super::error::LabError;
use super::fsutil::{write_file, write_private_file};
use super::layout::HostLayout;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The lab's certificate authority.
pub struct LabCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and its key, as PEM.
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
}

fn cert_error(e: rcgen::Error) -> LabError {
    LabError::Certificate {
        reason: e.to_string(),
    }
}

impl LabCa {
    pub fn new() -> Result<LabCa, LabError> {
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "etcd-signer (runbook lab)");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().map_err(cert_error)?;
        let cert = params.self_signed(&key).map_err(cert_error)?;
        Ok(LabCa { cert, key })
    }

    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// A leaf certificate for `common_name`, valid for 127.0.0.1 and localhost plus `extra_sans`.
    pub fn issue(
        &self,
        common_name: &str,
        extra_sans: &[&str],
        server_auth: bool,
    ) -> Result<IssuedCert, LabError> {
        let mut sans = vec!["127.0.0.1", "localhost"];
        sans.extend(extra_sans);
        self.issue_exactly(common_name, &sans, server_auth)
    }

    /// A leaf certificate for `common_name`, valid for `sans` (addresses or names) only.
    pub fn issue_exactly(
        &self,
        common_name: &str,
        sans: &[&str],
        server_auth: bool,
    ) -> Result<IssuedCert, LabError> {
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).map_err(cert_error)?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, common_name);
        params.distinguished_name = name;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = if server_auth {
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ]
        } else {
            vec![ExtendedKeyUsagePurpose::ClientAuth]
        };
        let key = KeyPair::generate().map_err(cert_error)?;
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .map_err(cert_error)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// `ca.crt`, `server.crt/key`, `peer.crt/key` in the member's `etcd_conf_dir`.
    pub fn write_member(&self, host: &HostLayout) -> Result<(), LabError> {
        write_private_file(&host.etcd_file("ca.crt"), self.cert_pem().as_bytes())?;
        self.write_server_and_peer(host, &host.name, &["127.0.0.1", "localhost", &host.name])
    }

    /// `server.crt/key` and `peer.crt/key` for `common_name`, valid for `sans` only, in
    /// the member's `etcd_conf_dir` (keys 0600).
    pub fn write_server_and_peer(
        &self,
        host: &HostLayout,
        common_name: &str,
        sans: &[&str],
    ) -> Result<(), LabError> {
        for kind in ["server", "peer"] {
            let issued = self.issue_exactly(common_name, sans, true)?;
            write_file(
                &host.etcd_file(&format!("{kind}.crt")),
                issued.cert_pem.as_bytes(),
            )?;
            write_private_file(
                &host.etcd_file(&format!("{kind}.key")),
                issued.key_pem.as_bytes(),
            )?;
        }
        Ok(())
    }

    /// What a master with embedded etcd holds in its config dir, as `oc adm
    /// create-master-certs` writes it (certificates 0644, keys 0600): `ca.crt`/`ca.key` (the
    /// lab's CA) and `ca-bundle.crt` (the same CA), `etcd.server.crt/key` (serverAuth +
    /// clientAuth: etcd serves clients and peers with it), `master.etcd-client.crt/key`.
    pub fn write_embedded_master(&self, host: &HostLayout) -> Result<(), LabError> {
        let dir = host.master_config_dir();
        write_file(&dir.join("ca.crt"), self.cert_pem().as_bytes())?;
        write_private_file(&dir.join("ca.key"), self.key.serialize_pem().as_bytes())?;
        write_file(&dir.join("ca-bundle.crt"), self.cert_pem().as_bytes())?;
        let server = self.issue(&host.name, &[&host.name], true)?;
        write_file(&dir.join("etcd.server.crt"), server.cert_pem.as_bytes())?;
        write_private_file(&dir.join("etcd.server.key"), server.key_pem.as_bytes())?;
        self.write_master_client(host)
    }

    /// `master.etcd-ca.crt`, `master.etcd-client.crt/key` in the master's config dir.
    pub fn write_master(&self, host: &HostLayout) -> Result<(), LabError> {
        let dir = host.master_config_dir();
        write_private_file(&dir.join("master.etcd-ca.crt"), self.cert_pem().as_bytes())?;
        self.write_master_client(host)
    }

    /// `master.etcd-client.crt/key` in the master's config dir.
    fn write_master_client(&self, host: &HostLayout) -> Result<(), LabError> {
        let dir = host.master_config_dir();
        let issued = self.issue(&format!("system:master:{}", host.name), &[], false)?;
        write_file(
            &dir.join("master.etcd-client.crt"),
            issued.cert_pem.as_bytes(),
        )?;
        write_private_file(
            &dir.join("master.etcd-client.key"),
            issued.key_pem.as_bytes(),
        )?;
        Ok(())
    }
}
