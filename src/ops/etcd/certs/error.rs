//! Why issuing the etcd certificates stopped: a CA runbook will not touch, openssl missing
//! or failing on a host, a certificate that came out unusable, a file that cannot be read
//! or written.

use crate::transport::files::FileError;
use crate::transport::TransportError;

/// Why `issue_certificates` stopped. Nothing is overwritten without a copy; a broken CA is
/// never replaced.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CertError {
    #[error("the etcd CA in {ca_dir} on {host} is broken: {path} {problem}")]
    #[diagnostic(
        code(runbook::etcd::certs::broken_ca),
        help("runbook never replaces a CA. Put the CA's matching certificate and key back in {ca_dir} on {host}, or, to start over with a new CA, move the directory aside (`mv {ca_dir} {ca_dir}.old` on {host}) and run again: every certificate the old CA signed (members, masters) is then issued again")
    )]
    BrokenCa {
        host: String,
        ca_dir: String,
        /// The file that is wrong (or missing).
        path: String,
        problem: String,
    },
    #[error("openssl is not installed on {host}")]
    #[diagnostic(
        code(runbook::etcd::certs::no_openssl),
        help("install it on {host} (`yum install -y openssl`), as openshift-ansible does before it creates the etcd CA")
    )]
    NoOpenssl { host: String },
    #[error("openssl failed on {host} to {what}: {stderr}")]
    #[diagnostic(
        code(runbook::etcd::certs::openssl),
        help("check {config} on {host} (runbook creates it with openshift-ansible's sections: etcd_ca, etcd_v3_req, etcd_v3_ca_server, etcd_v3_ca_peer, etcd_v3_ca_client) and that the CA files it names exist")
    )]
    Openssl {
        host: String,
        what: String,
        config: String,
        stderr: String,
    },
    #[error("openssl could not read the certificate files on {host}: {stderr}")]
    #[diagnostic(
        code(runbook::etcd::certs::inspect),
        help("check that runbook's user on {host} may read the etcd and master certificate files (ansible_become=true for root)")
    )]
    Inspect { host: String, stderr: String },
    #[error("the certificate just issued on {host} is not usable: {path} {problem}")]
    #[diagnostic(
        code(runbook::etcd::certs::issued_unusable),
        help("nothing was put in place. Check the [ etcd_ca ] section of {config} on {host}: `copy_extensions = copy` carries the addresses (subjectAltName) of the request into the certificate, and the etcd_v3_ca_* sections set the purposes")
    )]
    IssuedUnusable {
        host: String,
        path: String,
        problem: String,
        config: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
}
