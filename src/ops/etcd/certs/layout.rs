//! Where the etcd certificates live, as openshift-ansible lays them out
//! (`roles/etcd/defaults/main.yaml`, `roles/openshift_etcd_facts/vars/main.yml`,
//! `playbooks/common/openshift-etcd/master_etcd_certificates.yml`): the CA in `etcd_ca_dir`
//! on the first etcd host, each certificate first issued in `{etcd_conf_dir}/generated_certs/`
//! there, then put in the member's `etcd_conf_dir` or the master's config dir.

use crate::inventory::Host;
use std::net::IpAddr;

/// The CA's directory and the files `openssl ca` keeps there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaLayout {
    /// `etcd_ca_dir`.
    pub dir: String,
    /// `{etcd_conf_dir}/generated_certs`: where certificates are issued before they are
    /// put in place (openshift-ansible's `etcd_generated_certs_dir`).
    pub generated_dir: String,
}

impl CaLayout {
    /// The CA of the etcd host `host` (the first etcd host, in openshift-ansible's terms).
    pub fn of(host: &Host) -> CaLayout {
        let conf_dir = conf_dir(host);
        CaLayout {
            dir: host
                .var_str("etcd_ca_dir")
                .unwrap_or_else(|| format!("{conf_dir}/ca")),
            generated_dir: format!("{conf_dir}/generated_certs"),
        }
    }

    fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.dir.trim_end_matches('/'))
    }

    /// `ca.crt` (`etcd_ca_cert`).
    pub fn cert(&self) -> String {
        self.file("ca.crt")
    }

    /// `ca.key` (`etcd_ca_key`).
    pub fn key(&self) -> String {
        self.file("ca.key")
    }

    /// `openssl.cnf` (`etcd_openssl_conf`), assembled from `fragments/`.
    pub fn config(&self) -> String {
        self.file("openssl.cnf")
    }

    /// `fragments/`: the host's own openssl.cnf and openshift-ansible's sections.
    pub fn fragments(&self) -> String {
        self.file("fragments")
    }

    /// `index.txt` (`etcd_ca_db`).
    pub fn database(&self) -> String {
        self.file("index.txt")
    }

    /// `serial` (`etcd_ca_serial`).
    pub fn serial(&self) -> String {
        self.file("serial")
    }

    /// `crlnumber` (`etcd_ca_crl_number`; named in the config, not created, as
    /// openshift-ansible leaves it).
    pub fn crl_number(&self) -> String {
        self.file("crlnumber")
    }

    /// `certs/` (`etcd_ca_new_certs_dir`): a copy of every certificate issued.
    pub fn new_certs_dir(&self) -> String {
        self.file("certs")
    }

    /// `crl/` (`etcd_ca_crl_dir`).
    pub fn crl_dir(&self) -> String {
        self.file("crl")
    }

    /// `generated_certs/<subdir>`.
    pub fn generated(&self, subdir: &str) -> String {
        format!("{}/{subdir}", self.generated_dir.trim_end_matches('/'))
    }
}

/// The member's own TLS files in its `etcd_conf_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFiles {
    /// `etcd_ca_file`: a copy of the CA's certificate.
    pub ca_file: String,
    /// `etcd_cert_file`, `etcd_key_file`: what etcd serves clients with.
    pub server_cert: String,
    pub server_key: String,
    /// `etcd_peer_cert_file`, `etcd_peer_key_file`: what etcd talks to its peers with.
    pub peer_cert: String,
    pub peer_key: String,
    /// `generated_certs/etcd-<etcd_hostname>`, openshift-ansible's `etcd_cert_subdir`.
    pub subdir: String,
}

impl MemberFiles {
    pub fn of(host: &Host) -> MemberFiles {
        let conf_dir = conf_dir(host);
        let file = |name: &str, default: &str| {
            host.var_str(name)
                .unwrap_or_else(|| format!("{conf_dir}/{default}"))
        };
        MemberFiles {
            ca_file: file("etcd_ca_file", "ca.crt"),
            server_cert: file("etcd_cert_file", "server.crt"),
            server_key: file("etcd_key_file", "server.key"),
            peer_cert: file("etcd_peer_cert_file", "peer.crt"),
            peer_key: file("etcd_peer_key_file", "peer.key"),
            subdir: format!("etcd-{}", hostname(host)),
        }
    }
}

/// The master's etcd client files in `openshift_master_config_dir`, with openshift-ansible's
/// prefix `master.etcd-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterFiles {
    pub client_cert: String,
    pub client_key: String,
    /// `master.etcd-ca.crt`: a copy of the CA's certificate.
    pub ca: String,
    /// `generated_certs/openshift-master-<hostname>` on the CA host.
    pub subdir: String,
}

impl MasterFiles {
    pub fn of(master: &Host) -> MasterFiles {
        let dir = master
            .var_str("openshift_master_config_dir")
            .unwrap_or_else(|| "/etc/origin/master".to_string());
        let dir = dir.trim_end_matches('/');
        MasterFiles {
            client_cert: format!("{dir}/master.etcd-client.crt"),
            client_key: format!("{dir}/master.etcd-client.key"),
            ca: format!("{dir}/master.etcd-ca.crt"),
            subdir: format!("openshift-master-{}", hostname(master)),
        }
    }
}

fn conf_dir(host: &Host) -> String {
    host.var_str("etcd_conf_dir")
        .unwrap_or_else(|| "/etc/etcd".to_string())
        .trim_end_matches('/')
        .to_string()
}

/// The host's name in the cluster, the certificates' CN: `etcd_hostname` (which
/// openshift-ansible's `openshift_etcd_facts` sets from `openshift.common.hostname` on
/// masters and members alike), else the inventory name.
pub fn hostname(host: &Host) -> String {
    host.var_str("etcd_hostname")
        .unwrap_or_else(|| host.name.clone())
}

/// The host's address on the cluster network (`etcd_ip`), if known.
pub fn address(host: &Host) -> Option<String> {
    host.var_str("etcd_ip")
        .map(|a| a.trim_start_matches('[').trim_end_matches(']').to_string())
        .filter(|a| !a.is_empty())
}

/// The subjectAltName of a request, as openshift-ansible's `SAN` variable:
/// `IP:<address>,DNS:<hostname>`. An address that is a name is a `DNS:` entry; a name
/// already listed is not listed twice.
pub fn subject_alt_names(address: Option<&str>, hostname: &str) -> String {
    let mut entries: Vec<String> = Vec::new();
    if let Some(address) = address {
        entries.push(match address.parse::<IpAddr>() {
            Ok(ip) => format!("IP:{ip}"),
            Err(_) => format!("DNS:{address}"),
        });
    }
    let name = format!("DNS:{hostname}");
    if !entries.iter().any(|e| e.eq_ignore_ascii_case(&name)) {
        entries.push(name);
    }
    entries.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(name: &str, vars: serde_json::Value) -> Host {
        let vars = vars
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Host::new(name, vars)
    }

    #[test]
    fn paths_follow_openshift_ansible() {
        let etcd = host(
            "etcd-1",
            json!({"etcd_conf_dir": "/srv/etcd/", "etcd_ca_dir": "/srv/etcd/ca", "etcd_hostname": "etcd-1.example.com"}),
        );
        let ca = CaLayout::of(&etcd);
        assert_eq!(ca.cert(), "/srv/etcd/ca/ca.crt");
        assert_eq!(ca.key(), "/srv/etcd/ca/ca.key");
        assert_eq!(ca.config(), "/srv/etcd/ca/openssl.cnf");
        assert_eq!(ca.database(), "/srv/etcd/ca/index.txt");
        assert_eq!(ca.generated("etcd-x"), "/srv/etcd/generated_certs/etcd-x");
        let member = MemberFiles::of(&etcd);
        assert_eq!(member.server_cert, "/srv/etcd/server.crt");
        assert_eq!(member.peer_key, "/srv/etcd/peer.key");
        assert_eq!(member.ca_file, "/srv/etcd/ca.crt");
        assert_eq!(member.subdir, "etcd-etcd-1.example.com");

        let master = MasterFiles::of(&host("master-1", json!({})));
        assert_eq!(
            master.client_cert,
            "/etc/origin/master/master.etcd-client.crt"
        );
        assert_eq!(
            master.client_key,
            "/etc/origin/master/master.etcd-client.key"
        );
        assert_eq!(master.ca, "/etc/origin/master/master.etcd-ca.crt");
        assert_eq!(master.subdir, "openshift-master-master-1");
    }

    #[test]
    fn alt_names_are_an_ip_and_the_hostname() {
        assert_eq!(
            subject_alt_names(Some("10.0.0.5"), "etcd-1"),
            "IP:10.0.0.5,DNS:etcd-1"
        );
        assert_eq!(
            subject_alt_names(Some("::1"), "etcd-1"),
            "IP:::1,DNS:etcd-1"
        );
        assert_eq!(
            subject_alt_names(Some("etcd-1.example.com"), "etcd-1.example.com"),
            "DNS:etcd-1.example.com"
        );
        assert_eq!(subject_alt_names(None, "master-1"), "DNS:master-1");
        assert_eq!(
            address(&host("h", json!({"etcd_ip": "[fd00::5]"}))).as_deref(),
            Some("fd00::5")
        );
    }
}
