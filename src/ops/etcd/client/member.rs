//! One etcd member as the inventory describes it: name, URLs, data dir, config file, service.

use crate::inventory::Host;
use crate::ops::etcd::client::endpoint::{EndpointError, EtcdEndpoint};
use crate::ops::etcd::embedded::etcd_config::EMBEDDED_MEMBER_NAME;

/// An etcd member of the inventory's `[etcd]` group.
#[derive(Debug, Clone, PartialEq)]
pub struct EtcdMember {
    /// The inventory host the member runs on.
    pub host: Host,
    /// `ETCD_NAME`: `etcd_hostname` (default: the inventory name); `openshift.local` for etcd
    /// embedded in a master.
    pub name: String,
    /// Client URL and client TLS files.
    pub endpoint: EtcdEndpoint,
    /// `{etcd_peer_url_scheme}://{etcd_ip}:{etcd_peer_port}`.
    pub peer_url: String,
    /// `etcd_data_dir` (default `/var/lib/etcd`).
    pub data_dir: String,
    /// `etcd_conf_file` (default `{etcd_conf_dir}/etcd.conf`).
    pub conf_file: String,
    /// `etcd_service` (default `etcd`).
    pub service: String,
    /// `runbook_etcdctl_command`: how etcdctl runs on the host while etcd runs (default
    /// `etcdctl`; `docker exec ...` for a containerized etcd).
    pub etcdctl_command: String,
}

impl EtcdMember {
    pub fn from_host(host: &Host) -> Result<EtcdMember, EndpointError> {
        let endpoint = EtcdEndpoint::from_host(host)?;
        let text =
            |name: &str, default: &str| host.var_str(name).unwrap_or_else(|| default.to_string());
        let scheme = text("etcd_peer_url_scheme", "https");
        let ip = host
            .var_str("etcd_ip")
            .or_else(|| host.var_str("ansible_host"))
            .unwrap_or_else(|| host.name.clone());
        let address = if ip.contains(':') && !ip.starts_with('[') {
            format!("[{ip}]")
        } else {
            ip
        };
        let port_text = text("etcd_peer_port", "2380");
        let port: u16 = port_text.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
            EndpointError::BadVariable {
                host: host.name.clone(),
                variable: "etcd_peer_port",
                value: port_text.clone(),
                reason: "a TCP port, 1-65535",
            }
        })?;
        let conf_dir = text("etcd_conf_dir", "/etc/etcd");
        Ok(EtcdMember {
            host: host.clone(),
            // Origin names the etcd it embeds so, whatever the host is called.
            name: if host.var_str("runbook_etcd_layout").as_deref() == Some("embedded") {
                EMBEDDED_MEMBER_NAME.to_string()
            } else {
                text("etcd_hostname", &host.name)
            },
            endpoint,
            peer_url: format!("{scheme}://{address}:{port}"),
            data_dir: text("etcd_data_dir", "/var/lib/etcd"),
            conf_file: text("etcd_conf_file", &format!("{conf_dir}/etcd.conf")),
            service: text("etcd_service", "etcd"),
            etcdctl_command: text("runbook_etcdctl_command", "etcdctl"),
        })
    }

    /// The inventory name of the member's host.
    pub fn host_name(&self) -> &str {
        &self.host.name
    }
}
