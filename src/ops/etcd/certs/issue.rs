//! Issuing one certificate on the CA host, as openshift-ansible's
//! `fetch_server_certificates_from_ca.yml` and `fetch_client_certificates_from_ca.yml` do:
//! in `generated_certs/<subdir>`, `openssl req` makes the key (on the host, never on a
//! command line) and the request, `openssl ca` signs it, and the CA's certificate is
//! linked beside them. The new pair is checked before anything is put in place.

use super::check::{self, Verdict, Wanted};
use super::error::CertError;
use super::layout::CaLayout;
use super::openssl_conf::{CA_SECTION, PEER_SECTION, REQUEST_SECTION, SERVER_SECTION};
use super::shell::{self, need_openssl};
use super::x509_text::Usage;
use crate::inventory::Host;
use crate::transport::{shell_quote, Transport};
use tokio_util::sync::CancellationToken;

/// The kinds of certificate the etcd CA issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertKind {
    /// A member's serving certificate: serverAuth.
    Server,
    /// A member's peer certificate: serverAuth and clientAuth.
    Peer,
    /// A client's (a master's): clientAuth.
    Client,
}

impl CertKind {
    /// The purposes it must list.
    pub fn usages(self) -> &'static [Usage] {
        match self {
            CertKind::Server => &[Usage::ServerAuth],
            CertKind::Peer => &[Usage::ServerAuth, Usage::ClientAuth],
            CertKind::Client => &[Usage::ClientAuth],
        }
    }

    /// `openssl ca -extensions`: none for a client, whose section is the CA's default.
    fn extensions(self) -> Option<&'static str> {
        match self {
            CertKind::Server => Some(SERVER_SECTION),
            CertKind::Peer => Some(PEER_SECTION),
            CertKind::Client => None,
        }
    }
}

/// One certificate to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub kind: CertKind,
    /// `generated_certs/<subdir>` on the CA host.
    pub dir: String,
    /// The files' name before `.key`, `.csr`, `.crt`: `server`, `peer`, `master.etcd-client`.
    pub stem: String,
    /// The name of the CA certificate's link in `dir`: `ca.crt`, `master.etcd-ca.crt`.
    pub ca_copy: String,
    /// The subject's CN: the host's name in the cluster.
    pub common_name: String,
    /// `SAN`: `IP:<address>,DNS:<name>`.
    pub sans: String,
    /// The address its subjectAltName must name, checked once it is issued.
    pub address: Option<String>,
}

impl Leaf {
    fn file(&self, extension: &str) -> String {
        format!("{}/{}.{extension}", self.dir, self.stem)
    }

    pub fn cert(&self) -> String {
        self.file("crt")
    }

    pub fn key(&self) -> String {
        self.file("key")
    }

    /// What it must be good for.
    pub fn wanted(&self) -> Wanted<'_> {
        Wanted {
            usages: self.kind.usages(),
            address: self.address.as_deref(),
        }
    }
}

/// A certificate and its key, as issued.
pub struct IssuedPair {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for IssuedPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("IssuedPair")
            .field("cert", &String::from_utf8_lossy(&self.cert))
            .finish_non_exhaustive()
    }
}

/// `sh` that issues `leaf` with the CA of `ca`, replacing what an earlier issue left in
/// its directory.
pub fn script(leaf: &Leaf, ca: &CaLayout) -> String {
    let name = |extension: &str| shell_quote(&format!("{}.{extension}", leaf.stem));
    let (key, csr, crt) = (name("key"), name("csr"), name("crt"));
    let extensions = leaf
        .kind
        .extensions()
        .map(|section| format!(" -extensions {section}"))
        .unwrap_or_default();
    format!(
        r#"set -e
umask 077
{need}
mkdir -p -- {dir}
cd -- {dir}
rm -f -- {key} {csr} {crt}
export SAN={sans}
openssl req -new -keyout {key} -config {config} -out {csr} -reqexts {request} -batch -nodes -subj {subject} </dev/null
openssl ca -name {ca_section} -config {config} -out {crt} -in {csr}{extensions} -batch </dev/null
ln -f -- {ca_cert} {ca_copy} 2>/dev/null || cp -f -- {ca_cert} {ca_copy}
"#,
        need = need_openssl(),
        dir = shell_quote(&leaf.dir),
        sans = shell_quote(&leaf.sans),
        config = shell_quote(&ca.config()),
        request = REQUEST_SECTION,
        subject = shell_quote(&format!("/CN={}", leaf.common_name)),
        ca_section = CA_SECTION,
        ca_cert = shell_quote(&ca.cert()),
        ca_copy = shell_quote(&leaf.ca_copy),
    )
}

/// Issues `leaf` on the CA host and reads the new pair back, once openssl there says it is
/// signed by the CA, for the purposes and address `leaf` needs, the key its own.
pub async fn issue(
    host: &Host,
    transport: &Transport,
    ca: &CaLayout,
    ca_pem: &[u8],
    leaf: &Leaf,
    cancel: &CancellationToken,
) -> Result<IssuedPair, CertError> {
    shell::run(
        host,
        transport,
        &script(leaf, ca),
        None,
        &format!(
            "issue {} for {} in {}",
            leaf.stem, leaf.common_name, leaf.dir
        ),
        &ca.config(),
        cancel,
    )
    .await?;
    let (cert, key) = (leaf.cert(), leaf.key());
    let issued = check::inspect(host, transport, &cert, &key, Some(ca_pem), cancel).await?;
    match check::judge(&issued, &cert, &key, leaf.wanted()) {
        Verdict::Valid => {}
        Verdict::Missing => {
            return Err(unusable(host, ca, &cert, "was not written".to_string()));
        }
        Verdict::Invalid(why) => return Err(unusable(host, ca, &cert, why)),
    }
    Ok(IssuedPair {
        cert: transport.read_file(&cert, cancel).await?,
        key: transport.read_file(&key, cancel).await?,
    })
}

fn unusable(host: &Host, ca: &CaLayout, path: &str, problem: String) -> CertError {
    CertError::IssuedUnusable {
        host: host.name.clone(),
        path: path.to_string(),
        problem,
        config: ca.config(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::etcd::certs::ca::{create_script, prepare_script};

    fn sh(script: &str) -> std::process::Output {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap()
    }

    fn text(path: &str) -> String {
        let out = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in", path])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn issues_each_kind_with_openshift_ansibles_extensions() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_string_lossy().into_owned();
        let ca = CaLayout {
            dir: format!("{root}/ca"),
            generated_dir: format!("{root}/generated_certs"),
        };
        assert!(sh(&prepare_script(&ca, None)).status.success());
        assert!(sh(&create_script(&ca, 1)).status.success());
        for (kind, stem, wanted) in [
            (
                CertKind::Server,
                "server",
                "TLS Web Server Authentication\n",
            ),
            (
                CertKind::Peer,
                "peer",
                "TLS Web Client Authentication, TLS Web Server Authentication\n",
            ),
            (
                CertKind::Client,
                "master.etcd-client",
                "TLS Web Client Authentication\n",
            ),
        ] {
            let leaf = Leaf {
                kind,
                dir: ca.generated("etcd-etcd-1"),
                stem: stem.into(),
                ca_copy: "ca.crt".into(),
                common_name: "etcd-1".into(),
                sans: "IP:10.0.0.5,DNS:etcd-1".into(),
                address: Some("10.0.0.5".into()),
            };
            let out = sh(&script(&leaf, &ca));
            assert!(
                out.status.success(),
                "{stem}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let printed = text(&leaf.cert());
            assert!(
                printed.contains(&format!("Extended Key Usage: \n                {wanted}")),
                "{stem}: {printed}"
            );
            assert!(
                printed.contains("IP Address:10.0.0.5, DNS:etcd-1"),
                "{stem}: {printed}"
            );
            assert!(
                printed.contains("Subject: CN = etcd-1"),
                "{stem}: {printed}"
            );
            let verified = std::process::Command::new("openssl")
                .args(["verify", "-CAfile", &ca.cert(), &leaf.cert()])
                .output()
                .unwrap();
            assert!(verified.status.success(), "{stem}");
        }
        // Three serials taken, three entries in the database.
        let index = std::fs::read_to_string(ca.database()).unwrap();
        assert_eq!(index.lines().count(), 3, "{index}");
        assert_eq!(std::fs::read_to_string(ca.serial()).unwrap().trim(), "04");
        assert_eq!(
            std::fs::read(format!("{}/ca.crt", ca.generated("etcd-etcd-1"))).unwrap(),
            std::fs::read(ca.cert()).unwrap()
        );
    }
}
