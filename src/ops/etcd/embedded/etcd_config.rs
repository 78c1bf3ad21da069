//! The `etcdConfig` section of a master-config.yaml: how origin runs the etcd embedded in
//! the master (`pkg/cmd/server/etcd/etcdserver/run.go`), as the etcd flags that run the
//! same member as a process of its own. Relative file names are relative to the config's
//! directory, as origin reads them.

use serde::Deserialize;

/// The member name origin gives its embedded etcd.
pub const EMBEDDED_MEMBER_NAME: &str = "openshift.local";

/// The `--data-dir` argument of an etcd run on `data_dir`, as its command line shows it.
pub fn data_dir_argument(data_dir: &str) -> String {
    format!("--data-dir={}", data_dir.trim_end_matches('/'))
}

/// One listener of the embedded etcd (`servingInfo` or `peerServingInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServingInfo {
    pub bind_address: String,
    #[serde(default)]
    pub cert_file: Option<String>,
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default, rename = "clientCA")]
    pub client_ca: Option<String>,
}

impl ServingInfo {
    /// TLS when a certificate is named, as origin's `UseTLS`.
    fn tls(&self) -> bool {
        self.cert_file.as_deref().is_some_and(|f| !f.is_empty())
    }

    fn scheme(&self) -> &'static str {
        if self.tls() {
            "https"
        } else {
            "http"
        }
    }
}

/// `etcdConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EtcdConfig {
    pub address: String,
    pub peer_address: String,
    pub serving_info: ServingInfo,
    pub peer_serving_info: ServingInfo,
    pub storage_directory: String,
}

/// Why the section could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EtcdConfigError {
    #[error("{path} has no etcdConfig section: the master runs no embedded etcd")]
    #[diagnostic(
        code(runbook::master::no_etcd_config),
        help("this master's etcd is not embedded (or was moved out); list the etcd members under [etcd] in the inventory")
    )]
    Missing { path: String },
    #[error("{path}: etcdConfig cannot be read: {reason}")]
    #[diagnostic(
        code(runbook::master::etcd_config),
        help("etcdConfig needs address, peerAddress, servingInfo.bindAddress, peerServingInfo.bindAddress and storageDirectory, as openshift-ansible's master.yaml.v1.j2 writes them")
    )]
    Invalid { path: String, reason: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(default)]
    etcd_config: Option<serde_yaml::Value>,
}

impl EtcdConfig {
    /// Reads `etcdConfig` from the text of the master-config.yaml at `path`.
    pub fn parse(path: &str, text: &str) -> Result<EtcdConfig, EtcdConfigError> {
        let invalid = |reason: String| EtcdConfigError::Invalid {
            path: path.to_string(),
            reason,
        };
        let document: Document = serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let section = document
            .etcd_config
            .filter(|v| !v.is_null())
            .ok_or_else(|| EtcdConfigError::Missing {
                path: path.to_string(),
            })?;
        let mut config: EtcdConfig =
            serde_yaml::from_value(section).map_err(|e| invalid(e.to_string()))?;
        let dir = std::path::Path::new(path)
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        for serving in [&mut config.serving_info, &mut config.peer_serving_info] {
            for file in [
                &mut serving.cert_file,
                &mut serving.key_file,
                &mut serving.client_ca,
            ]
            .into_iter()
            .flatten()
            {
                if !file.starts_with('/') && !file.is_empty() {
                    *file = format!("{dir}/{file}");
                }
            }
        }
        Ok(config)
    }

    /// The client URL the member advertises.
    pub fn client_url(&self) -> String {
        format!("{}://{}", self.serving_info.scheme(), self.address)
    }

    /// The peer URL the member advertises.
    pub fn peer_url(&self) -> String {
        format!(
            "{}://{}",
            self.peer_serving_info.scheme(),
            self.peer_address
        )
    }

    /// The etcd flags that run this member as origin runs it: its name, data, listeners,
    /// advertised URLs and TLS with client-certificate authentication on both sides.
    pub fn etcd_args(&self) -> Vec<String> {
        let mut args = vec![
            format!("--name={EMBEDDED_MEMBER_NAME}"),
            data_dir_argument(&self.storage_directory),
            format!(
                "--listen-client-urls={}://{}",
                self.serving_info.scheme(),
                self.serving_info.bind_address
            ),
            format!("--advertise-client-urls={}", self.client_url()),
            format!(
                "--listen-peer-urls={}://{}",
                self.peer_serving_info.scheme(),
                self.peer_serving_info.bind_address
            ),
            format!("--initial-advertise-peer-urls={}", self.peer_url()),
            format!(
                "--initial-cluster={EMBEDDED_MEMBER_NAME}={}",
                self.peer_url()
            ),
            "--enable-v2=true".to_string(),
        ];
        for (prefix, serving) in [("", &self.serving_info), ("peer-", &self.peer_serving_info)] {
            if !serving.tls() {
                continue;
            }
            let files = [
                ("cert-file", &serving.cert_file),
                ("key-file", &serving.key_file),
                ("trusted-ca-file", &serving.client_ca),
            ];
            for (flag, file) in files {
                if let Some(file) = file {
                    args.push(format!("--{prefix}{flag}={file}"));
                }
            }
            if serving.client_ca.is_some() {
                args.push(format!("--{prefix}client-cert-auth=true"));
            }
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE_36: &str = include_str!(
        "../../../../tests/fixtures/master-config/openshift-ansible-3.6-embedded-etcd.yaml"
    );

    #[test]
    fn reads_openshift_ansibles_embedded_etcd_config() {
        let config =
            EtcdConfig::parse("/etc/origin/master/master-config.yaml", RELEASE_36).unwrap();
        assert_eq!(config.client_url(), "https://master1.example.com:4001");
        assert_eq!(config.peer_url(), "https://master1.example.com:7001");
        assert_eq!(
            config.etcd_args(),
            [
                "--name=openshift.local",
                "--data-dir=/var/lib/origin/openshift.local.etcd",
                "--listen-client-urls=https://0.0.0.0:4001",
                "--advertise-client-urls=https://master1.example.com:4001",
                "--listen-peer-urls=https://0.0.0.0:7001",
                "--initial-advertise-peer-urls=https://master1.example.com:7001",
                "--initial-cluster=openshift.local=https://master1.example.com:7001",
                "--enable-v2=true",
                "--cert-file=/etc/origin/master/etcd.server.crt",
                "--key-file=/etc/origin/master/etcd.server.key",
                "--trusted-ca-file=/etc/origin/master/ca-bundle.crt",
                "--client-cert-auth=true",
                "--peer-cert-file=/etc/origin/master/etcd.server.crt",
                "--peer-key-file=/etc/origin/master/etcd.server.key",
                "--peer-trusted-ca-file=/etc/origin/master/ca-bundle.crt",
                "--peer-client-cert-auth=true",
            ]
        );
    }

    #[test]
    fn without_certificates_it_is_plain_http_and_without_the_section_it_says_so() {
        let text = "etcdConfig:\n  address: 127.0.0.1:4001\n  peerAddress: 127.0.0.1:7001\n  servingInfo:\n    bindAddress: 127.0.0.1:4001\n  peerServingInfo:\n    bindAddress: 127.0.0.1:7001\n  storageDirectory: /d\n";
        let config = EtcdConfig::parse("m.yaml", text).unwrap();
        assert_eq!(config.client_url(), "http://127.0.0.1:4001");
        assert!(!config.etcd_args().iter().any(|a| a.contains("cert")));
        let err = EtcdConfig::parse("m.yaml", "kind: MasterConfig\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.yaml has no etcdConfig section: the master runs no embedded etcd"
        );
        let err = EtcdConfig::parse("m.yaml", "etcdConfig:\n  address: a\n").unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
    }
}
