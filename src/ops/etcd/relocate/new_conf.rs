//! The `etcd.conf` of a member that has none yet: openshift-ansible's `etcd.conf.j2` filled
//! from the member's inventory variables (name, URLs, data dir, TLS files), for a cluster
//! of that one member, with the v2 API on (etcd 3.4 has it off by default; RHEL's 3.2 had it
//! on, and 3.x masters on etcd2 need it).

use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::conf_edit::EnvFile;

/// openshift-ansible's `etcd_quota_backend_bytes`.
const QUOTA_BACKEND_BYTES: u64 = 4 << 30;

/// The `ETCD_*` settings of `member`, in openshift-ansible's order.
pub fn settings(member: &EtcdMember) -> Vec<(&'static str, String)> {
    let var = |name: &str, default: &str| {
        member
            .host
            .var_str(name)
            .unwrap_or_else(|| default.to_string())
    };
    let client_url = member.endpoint.client_url.clone();
    let peer_url = member.peer_url.clone();
    let mut settings = vec![
        ("ETCD_NAME", member.name.clone()),
        ("ETCD_LISTEN_PEER_URLS", peer_url.clone()),
        ("ETCD_DATA_DIR", member.data_dir.clone()),
        ("ETCD_HEARTBEAT_INTERVAL", "500".to_string()),
        ("ETCD_ELECTION_TIMEOUT", "2500".to_string()),
        ("ETCD_LISTEN_CLIENT_URLS", client_url.clone()),
        ("ETCD_INITIAL_ADVERTISE_PEER_URLS", peer_url.clone()),
        (
            "ETCD_INITIAL_CLUSTER",
            format!("{}={peer_url}", member.name),
        ),
        ("ETCD_INITIAL_CLUSTER_STATE", "new".to_string()),
        ("ETCD_INITIAL_CLUSTER_TOKEN", "etcd-cluster-1".to_string()),
        ("ETCD_ADVERTISE_CLIENT_URLS", client_url.clone()),
        ("ETCD_ENABLE_V2", "true".to_string()),
        ("ETCD_QUOTA_BACKEND_BYTES", QUOTA_BACKEND_BYTES.to_string()),
    ];
    if client_url.starts_with("https://") {
        settings.extend([
            (
                "ETCD_TRUSTED_CA_FILE",
                var("etcd_ca_file", "/etc/etcd/ca.crt"),
            ),
            ("ETCD_CLIENT_CERT_AUTH", "true".to_string()),
            (
                "ETCD_CERT_FILE",
                var("etcd_cert_file", "/etc/etcd/server.crt"),
            ),
            (
                "ETCD_KEY_FILE",
                var("etcd_key_file", "/etc/etcd/server.key"),
            ),
        ]);
    }
    if peer_url.starts_with("https://") {
        settings.extend([
            (
                "ETCD_PEER_TRUSTED_CA_FILE",
                var("etcd_peer_ca_file", "/etc/etcd/ca.crt"),
            ),
            ("ETCD_PEER_CLIENT_CERT_AUTH", "true".to_string()),
            (
                "ETCD_PEER_CERT_FILE",
                var("etcd_peer_cert_file", "/etc/etcd/peer.crt"),
            ),
            (
                "ETCD_PEER_KEY_FILE",
                var("etcd_peer_key_file", "/etc/etcd/peer.key"),
            ),
        ]);
    }
    settings.push(("ETCD_DEBUG", "False".to_string()));
    settings
}

/// Whether an etcd.conf already sets every one of these settings to the same value (other
/// lines, the operator's own, do not matter).
pub fn says_the_same(text: &str, member: &EtcdMember) -> bool {
    let conf = EnvFile::parse(text);
    settings(member)
        .iter()
        .all(|(name, value)| conf.get(name).as_deref() == Some(value.as_str()))
}

/// The file's text.
pub fn render(member: &EtcdMember) -> String {
    let mut conf = EnvFile::parse(&format!(
        "# etcd member {} (written by runbook, as openshift-ansible's etcd.conf.j2)",
        member.name
    ));
    for (name, value) in settings(member) {
        conf.set(name, &value);
    }
    conf.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;

    fn member(text: &str) -> EtcdMember {
        let inventory = Inventory::from_text("inventory.ini", text, &[]).unwrap();
        EtcdMember::from_host(inventory.group("etcd").unwrap()[0]).unwrap()
    }

    #[test]
    fn a_tls_member_gets_openshift_ansible_s_settings_from_its_variables() {
        let m = member("[etcd]\netcd-1 etcd_ip=10.0.0.5\n");
        let conf = EnvFile::parse(&render(&m));
        assert_eq!(conf.get("ETCD_NAME").as_deref(), Some("etcd-1"));
        assert_eq!(
            conf.get("ETCD_INITIAL_CLUSTER").as_deref(),
            Some("etcd-1=https://10.0.0.5:2380")
        );
        assert_eq!(
            conf.get("ETCD_LISTEN_CLIENT_URLS").as_deref(),
            Some("https://10.0.0.5:2379")
        );
        assert_eq!(conf.get("ETCD_DATA_DIR").as_deref(), Some("/var/lib/etcd"));
        assert_eq!(
            conf.get("ETCD_PEER_CERT_FILE").as_deref(),
            Some("/etc/etcd/peer.crt")
        );
        assert_eq!(
            conf.get("ETCD_CERT_FILE").as_deref(),
            Some("/etc/etcd/server.crt")
        );
        assert_eq!(conf.get("ETCD_ENABLE_V2").as_deref(), Some("true"));
        assert!(says_the_same(&render(&m), &m));
        let mut changed = conf.clone();
        changed.set("ETCD_INITIAL_CLUSTER_STATE", "existing");
        assert!(!says_the_same(&changed.render(), &m));
        let mut extra = conf;
        extra.set("ETCD_SNAPSHOT_COUNT", "5000");
        assert!(says_the_same(&extra.render(), &m));
    }

    #[test]
    fn plain_http_has_no_tls_settings() {
        let m = member(
            "[etcd]\netcd-1 etcd_ip=10.0.0.5 etcd_url_scheme=http etcd_peer_url_scheme=http\n",
        );
        let text = render(&m);
        assert!(!text.contains("CERT"), "{text}");
        assert!(text.contains("ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.5:2379"));
    }
}
