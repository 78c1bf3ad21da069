//! The etcd CA and the certificates it issues for an external member and its master, made
//! with openssl on the hosts as openshift-ansible makes them when it moves an embedded etcd
//! out of the master (`playbooks/common/openshift-etcd/embedded2external.yml`).

pub mod ca;
pub mod check;
pub mod copies;
pub mod error;
pub mod issue;
pub mod layout;
pub mod openssl_conf;
pub mod run;
pub mod shell;
pub mod x509_text;

pub use error::CertError;
pub use run::{issue_certificates, FileAction, Issued, Placed, Target};
