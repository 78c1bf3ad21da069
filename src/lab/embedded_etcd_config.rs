//! The `etcdConfig` section of a master that runs its own etcd, as openshift-ansible 3.6's
//! `roles/openshift_master/templates/master.yaml.v1.j2` renders it for embedded etcd, with
//! the lab's loopback address and ports in place of the host name, 4001 and 7001.

use super::layout::HostLayout;
use super::state::LabState;
use std::path::PathBuf;

/// The member name origin gives its embedded etcd (`RunEtcd`'s `defaultName`).
pub const EMBEDDED_MEMBER_NAME: &str = "openshift.local";

/// The embedded etcd of a lab's master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedEtcd {
    pub client_port: u16,
    pub peer_port: u16,
    pub tls: bool,
    /// `storageDirectory`: `{openshift_data_dir}/openshift.local.etcd`.
    pub storage_dir: PathBuf,
}

impl EmbeddedEtcd {
    /// The etcd of an embedded lab: its one member's ports, on the master.
    pub fn of(state: &LabState, master: &HostLayout) -> EmbeddedEtcd {
        let member = &state.members[0];
        EmbeddedEtcd {
            client_port: member.client_port,
            peer_port: member.peer_port,
            tls: state.tls,
            storage_dir: master.etcd_data_dir(state.layout),
        }
    }

    /// The section's text, one line per entry, without a final newline. Without TLS the
    /// serving infos have no certificate, which origin reads as plain HTTP (`UseTLS`).
    pub fn section(&self) -> String {
        let client = format!("127.0.0.1:{}", self.client_port);
        let peer = format!("127.0.0.1:{}", self.peer_port);
        let serving_info = |bind: &str| {
            let mut lines = vec![format!("    bindAddress: {bind}")];
            if self.tls {
                lines.extend([
                    "    certFile: etcd.server.crt".to_string(),
                    "    clientCA: ca-bundle.crt".to_string(),
                    "    keyFile: etcd.server.key".to_string(),
                ]);
            }
            lines.join("\n")
        };
        format!(
            "etcdConfig:\n  address: {client}\n  peerAddress: {peer}\n  peerServingInfo:\n{}\n  \
             servingInfo:\n{}\n  storageDirectory: {}",
            serving_info(&peer),
            serving_info(&client),
            yaml_scalar(&self.storage_dir.to_string_lossy())
        )
    }
}

/// `text` as a YAML scalar: plain when it is made of path characters only, else single-quoted.
fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
        && !text.starts_with('-');
    if plain {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_directory_with_spaces_and_quotes_reads_back_as_written() {
        for dir in [
            "/lab/var/lib/origin/openshift.local.etcd",
            "/my lab/it's: #x",
        ] {
            let etcd = EmbeddedEtcd {
                client_port: 4001,
                peer_port: 7001,
                tls: true,
                storage_dir: dir.into(),
            };
            let doc: serde_yaml::Value = serde_yaml::from_str(&etcd.section()).unwrap();
            let config = &doc["etcdConfig"];
            assert_eq!(config["storageDirectory"].as_str(), Some(dir));
            assert_eq!(config["address"].as_str(), Some("127.0.0.1:4001"));
            assert_eq!(
                config["peerServingInfo"]["bindAddress"].as_str(),
                Some("127.0.0.1:7001")
            );
            assert_eq!(
                config["servingInfo"]["clientCA"].as_str(),
                Some("ca-bundle.crt")
            );
        }
    }

    #[test]
    fn without_tls_the_serving_infos_have_no_certificates() {
        let etcd = EmbeddedEtcd {
            client_port: 4001,
            peer_port: 7001,
            tls: false,
            storage_dir: "/d".into(),
        };
        let doc: serde_yaml::Value = serde_yaml::from_str(&etcd.section()).unwrap();
        for info in ["servingInfo", "peerServingInfo"] {
            let info = &doc["etcdConfig"][info];
            assert!(info["bindAddress"].is_string());
            assert!(info.get("certFile").is_none(), "{info:?}");
        }
    }
}
