//! A netns host's `/etc/etcd/etcd.conf` as openshift-ansible 3.7's `roles/etcd` template
//! writes it for a new cluster: `ETCD_*` settings only (etcd 3.4 refuses a setting given as
//! both flag and environment), the member named by its full host name, URLs on its address,
//! the certificates at openshift-ansible's paths. `ETCD_ENABLE_V2=true` is added: etcd 3.4
//! serves the v2 API only when asked, where the etcd 3.2 of OpenShift 3.7 served it by default.
//! `ETCD_SNAPSHOT_COUNT` is set so that seeding leaves a v2 snapshot, as a cluster's steady
//! writes do on a real one (the migration reads it).

use super::network::NetHost;

/// The default of openshift-ansible's `etcd_quota_backend_bytes` (4 GiB).
const QUOTA_BACKEND_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The file's text for `host`, a member of a new cluster of every etcd host in `members`.
pub fn render(host: &NetHost, members: &[&NetHost], token: &str, snapshot_count: u64) -> String {
    let initial_cluster = members
        .iter()
        .map(|m| format!("{}=https://{}:2380", m.fqdn(), m.address))
        .collect::<Vec<_>>()
        .join(",");
    let ip = &host.address;
    format!(
        "ETCD_NAME={name}\n\
         ETCD_LISTEN_PEER_URLS=https://{ip}:2380\n\
         ETCD_DATA_DIR=/var/lib/etcd/\n\
         #ETCD_WAL_DIR=\"\"\n\
         ETCD_SNAPSHOT_COUNT={snapshot_count}\n\
         ETCD_HEARTBEAT_INTERVAL=500\n\
         ETCD_ELECTION_TIMEOUT=2500\n\
         ETCD_LISTEN_CLIENT_URLS=https://{ip}:2379\n\
         #ETCD_MAX_SNAPSHOTS=5\n\
         #ETCD_MAX_WALS=5\n\
         #ETCD_CORS=\n\
         \n\
         \n\
         #[cluster]\n\
         ETCD_INITIAL_ADVERTISE_PEER_URLS=https://{ip}:2380\n\
         ETCD_INITIAL_CLUSTER={initial_cluster}\n\
         ETCD_INITIAL_CLUSTER_STATE=new\n\
         ETCD_INITIAL_CLUSTER_TOKEN={token}\n\
         #ETCD_DISCOVERY=\n\
         #ETCD_DISCOVERY_SRV=\n\
         #ETCD_DISCOVERY_FALLBACK=proxy\n\
         #ETCD_DISCOVERY_PROXY=\n\
         ETCD_ADVERTISE_CLIENT_URLS=https://{ip}:2379\n\
         #ETCD_STRICT_RECONFIG_CHECK=\"false\"\n\
         #ETCD_AUTO_COMPACTION_RETENTION=\"0\"\n\
         ETCD_ENABLE_V2=true\n\
         ETCD_QUOTA_BACKEND_BYTES={QUOTA_BACKEND_BYTES}\n\
         \n\
         #[proxy]\n\
         #ETCD_PROXY=off\n\
         \n\
         #[security]\n\
         ETCD_TRUSTED_CA_FILE=/etc/etcd/ca.crt\n\
         ETCD_CLIENT_CERT_AUTH=true\n\
         ETCD_CERT_FILE=/etc/etcd/server.crt\n\
         ETCD_KEY_FILE=/etc/etcd/server.key\n\
         #ETCD_AUTO_TLS=\"false\"\n\
         ETCD_PEER_TRUSTED_CA_FILE=/etc/etcd/ca.crt\n\
         ETCD_PEER_CLIENT_CERT_AUTH=true\n\
         ETCD_PEER_CERT_FILE=/etc/etcd/peer.crt\n\
         ETCD_PEER_KEY_FILE=/etc/etcd/peer.key\n\
         #ETCD_PEER_AUTO_TLS=\"false\"\n\
         \n\
         #[logging]\n\
         ETCD_DEBUG=\"False\"\n",
        name = host.fqdn(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::netns::network::Network;
    use std::path::Path;

    #[test]
    fn names_the_member_by_its_full_name_and_listens_on_its_address() {
        let names = ["etcd-1".to_string(), "etcd-2".to_string()];
        let network = Network::plan(Path::new("/tmp/x"), &names, &[], false);
        let members: Vec<&NetHost> = network.hosts.iter().collect();
        let text = render(members[1], &members, "etcd-cluster-1", 500);
        assert!(text.contains("ETCD_NAME=etcd-2.runbook.lab\n"));
        assert!(text.contains("ETCD_LISTEN_CLIENT_URLS=https://10.213.0.12:2379\n"));
        assert!(text.contains(
            "ETCD_INITIAL_CLUSTER=etcd-1.runbook.lab=https://10.213.0.11:2380,etcd-2.runbook.lab=https://10.213.0.12:2380\n"
        ));
        assert!(!text
            .lines()
            .any(|l| l.starts_with("ETCD_") && l.contains(' ')));
    }
}
