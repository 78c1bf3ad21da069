//! One etcd member as a client sees it: its client URL and the TLS files to use,
//! read from the member's inventory variables (openshift-ansible names and defaults).

use crate::inventory::Host;
use crate::ops::etcd::client::tls::TlsFiles;
use crate::ops::etcd::client::tls_insecure::{insecure_skip_verify, INSECURE_SKIP_VERIFY};
use std::path::PathBuf;

/// A member's client URL and, for https, the client TLS files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdEndpoint {
    /// Inventory name of the member's host.
    pub name: String,
    /// `{etcd_url_scheme}://{etcd_ip}:{etcd_client_port}`.
    pub client_url: String,
    /// `etcd_peer_ca_file`, `etcd_peer_cert_file`, `etcd_peer_key_file` when the scheme is https:
    /// like openshift-ansible's etcdctl calls, the peer certificate doubles as the client certificate.
    pub tls: Option<TlsFiles>,
    /// `runbook_etcd_tls_insecure_skip_verify`: the member's server certificate
    /// is not checked (off unless the inventory sets it).
    pub insecure_skip_verify: bool,
}

/// Why a member's endpoint could not be worked out from the inventory.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EndpointError {
    #[error("{host}: {variable}={value} is not valid: {reason}")]
    #[diagnostic(
        code(runbook::etcd::endpoint::variable),
        help("fix {variable} for {host} in the inventory")
    )]
    BadVariable {
        host: String,
        variable: &'static str,
        value: String,
        reason: &'static str,
    },
}

/// A host variable as text: strings as they are, numbers and booleans printed.
fn var(host: &Host, name: &str) -> Option<String> {
    match host.vars.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl EtcdEndpoint {
    /// Reads `etcd_url_scheme`, `etcd_ip` (else `ansible_host`, else the host name),
    /// `etcd_client_port` and, for https, the peer TLS files (defaults under `etcd_conf_dir`).
    pub fn from_host(host: &Host) -> Result<EtcdEndpoint, EndpointError> {
        let bad = |variable: &'static str, value: String, reason: &'static str| {
            EndpointError::BadVariable {
                host: host.name.clone(),
                variable,
                value,
                reason,
            }
        };
        let scheme = var(host, "etcd_url_scheme").unwrap_or_else(|| "https".into());
        if scheme != "http" && scheme != "https" {
            return Err(bad("etcd_url_scheme", scheme, "use http or https"));
        }
        let ip = var(host, "etcd_ip")
            .or_else(|| var(host, "ansible_host"))
            .unwrap_or_else(|| host.name.clone());
        let port_text = var(host, "etcd_client_port").unwrap_or_else(|| "2379".into());
        let port: u16 = match port_text.parse() {
            Ok(port) if port > 0 => port,
            _ => return Err(bad("etcd_client_port", port_text, "a TCP port, 1-65535")),
        };
        let address = if ip.contains(':') && !ip.starts_with('[') {
            format!("[{ip}]")
        } else {
            ip
        };
        let tls = (scheme == "https").then(|| {
            let conf_dir = var(host, "etcd_conf_dir").unwrap_or_else(|| "/etc/etcd".into());
            let in_conf = |name: &str| PathBuf::from(&conf_dir).join(name);
            TlsFiles {
                ca_file: var(host, "etcd_peer_ca_file")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| in_conf("ca.crt")),
                cert_file: var(host, "etcd_peer_cert_file")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| in_conf("peer.crt")),
                key_file: var(host, "etcd_peer_key_file")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| in_conf("peer.key")),
            }
        });
        let insecure_skip_verify = insecure_skip_verify(host)
            .map_err(|value| bad(INSECURE_SKIP_VERIFY, value, "use true or false"))?;
        Ok(EtcdEndpoint {
            name: host.name.clone(),
            client_url: format!("{scheme}://{address}:{port}"),
            tls,
            insecure_skip_verify,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(vars: serde_json::Value) -> Host {
        let serde_json::Value::Object(map) = vars else {
            panic!("vars must be an object")
        };
        Host {
            name: "etcd-1".into(),
            vars: map.into_iter().collect(),
        }
    }

    #[test]
    fn defaults_follow_openshift_ansible() {
        let endpoint = EtcdEndpoint::from_host(&host(json!({}))).unwrap();
        assert_eq!(endpoint.client_url, "https://etcd-1:2379");
        let tls = endpoint.tls.unwrap();
        assert_eq!(tls.ca_file, PathBuf::from("/etc/etcd/ca.crt"));
        assert_eq!(tls.cert_file, PathBuf::from("/etc/etcd/peer.crt"));
        assert_eq!(tls.key_file, PathBuf::from("/etc/etcd/peer.key"));
        assert!(
            !endpoint.insecure_skip_verify,
            "verification is on by default"
        );
    }

    #[test]
    fn skipping_verification_is_an_explicit_boolean() {
        let on = EtcdEndpoint::from_host(&host(json!({INSECURE_SKIP_VERIFY: "yes"}))).unwrap();
        assert!(on.insecure_skip_verify);
        let off = EtcdEndpoint::from_host(&host(json!({INSECURE_SKIP_VERIFY: false}))).unwrap();
        assert!(!off.insecure_skip_verify);
        let err =
            EtcdEndpoint::from_host(&host(json!({INSECURE_SKIP_VERIFY: "maybe"}))).unwrap_err();
        assert!(
            err.to_string()
                .contains("runbook_etcd_tls_insecure_skip_verify=maybe"),
            "{err}"
        );
    }

    #[test]
    fn reads_ip_port_scheme_and_conf_dir() {
        let endpoint = EtcdEndpoint::from_host(&host(json!({
            "ansible_host": "10.0.0.9",
            "etcd_ip": "127.0.0.1",
            "etcd_client_port": 23790,
            "etcd_conf_dir": "/lab/etc/etcd",
        })))
        .unwrap();
        assert_eq!(endpoint.client_url, "https://127.0.0.1:23790");
        assert_eq!(
            endpoint.tls.unwrap().cert_file,
            PathBuf::from("/lab/etc/etcd/peer.crt")
        );
        let plain = EtcdEndpoint::from_host(&host(json!({
            "ansible_host": "::1", "etcd_url_scheme": "http"
        })))
        .unwrap();
        assert_eq!(plain.client_url, "http://[::1]:2379");
        assert!(plain.tls.is_none());
    }

    #[test]
    fn rejects_bad_port_and_scheme() {
        let err = EtcdEndpoint::from_host(&host(json!({"etcd_client_port": "x"}))).unwrap_err();
        assert!(err.to_string().contains("etcd_client_port=x"), "{err}");
        let err = EtcdEndpoint::from_host(&host(json!({"etcd_url_scheme": "ftp"}))).unwrap_err();
        assert!(err.to_string().contains("etcd_url_scheme=ftp"), "{err}");
    }
}
