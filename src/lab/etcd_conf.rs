//! A member's `etc/etcd/etcd.conf`: `ETCD_*` variables as in RHEL's etcd package and
//! openshift-ansible's template, read by the member's start script at every start.

use super::layout::HostLayout;
use super::state::{LabState, Member};

/// The `ETCD_*` variables of `member`, in file order.
pub fn variables(state: &LabState, member: &Member, host: &HostLayout) -> Vec<(String, String)> {
    let client_url = state.client_url(member);
    let peer_url = state.peer_url(member);
    let initial_cluster = state
        .members
        .iter()
        .map(|m| format!("{}={}", m.name, state.peer_url(m)))
        .collect::<Vec<_>>()
        .join(",");
    let path = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    let mut vars = vec![
        ("ETCD_NAME", member.name.clone()),
        ("ETCD_DATA_DIR", path(host.etcd_data_dir(state.layout))),
        ("ETCD_LISTEN_CLIENT_URLS", client_url.clone()),
        ("ETCD_ADVERTISE_CLIENT_URLS", client_url),
        ("ETCD_LISTEN_PEER_URLS", peer_url.clone()),
        ("ETCD_INITIAL_ADVERTISE_PEER_URLS", peer_url),
        ("ETCD_INITIAL_CLUSTER", initial_cluster),
        ("ETCD_INITIAL_CLUSTER_STATE", "new".to_string()),
        (
            "ETCD_INITIAL_CLUSTER_TOKEN",
            format!("lab-etcd-cluster-{}", state.members[0].peer_port),
        ),
        ("ETCD_ENABLE_V2", "true".to_string()),
        // Small enough that seeding leaves a v2 snapshot (*.snap) in member/snap,
        // which the migration's pre-checks require, as on a long-lived cluster.
        (
            "ETCD_SNAPSHOT_COUNT",
            snapshot_count(state.keys).to_string(),
        ),
        // The 4 GiB backend quota openshift-ansible's etcd.conf sets (etcd's default of
        // 2 GiB is tight for a migrated 600 MiB v2 store).
        ("ETCD_QUOTA_BACKEND_BYTES", (4u64 << 30).to_string()),
        // Each v2 snapshot marshals the whole store while the previous one is still held:
        // a soft limit on the Go heap keeps the garbage of that from doubling the member's
        // memory (Go 1.19 and later, as etcd 3.4.23 is built with).
        ("GOMEMLIMIT", "2GiB".to_string()),
    ];
    if state.keys >= LARGE_STORE_KEYS {
        // openshift-ansible's timing: sending a joining member a snapshot of a large store
        // keeps a leader on a small machine from its 100 ms heartbeats, and etcd's default
        // 1 s election timeout then turns the join into an election storm.
        vars.extend([
            ("ETCD_HEARTBEAT_INTERVAL", "500".to_string()),
            ("ETCD_ELECTION_TIMEOUT", "2500".to_string()),
        ]);
    }
    if state.tls {
        let file = |name: &str| path(host.etcd_file(name));
        vars.extend([
            ("ETCD_CERT_FILE", file("server.crt")),
            ("ETCD_KEY_FILE", file("server.key")),
            ("ETCD_TRUSTED_CA_FILE", file("ca.crt")),
            ("ETCD_CLIENT_CERT_AUTH", "true".to_string()),
            ("ETCD_PEER_CERT_FILE", file("peer.crt")),
            ("ETCD_PEER_KEY_FILE", file("peer.key")),
            ("ETCD_PEER_TRUSTED_CA_FILE", file("ca.crt")),
            ("ETCD_PEER_CLIENT_CERT_AUTH", "true".to_string()),
        ]);
    }
    vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// From this many seeded keys on, the members get openshift-ansible's raft timing.
pub const LARGE_STORE_KEYS: usize = 100_000;

/// Raft entries between snapshots: half the seeded writes, so seeding leaves one or two
/// snapshots (each v2 snapshot serialises the whole store; more would slow seeding down).
pub fn snapshot_count(keys: usize) -> u64 {
    ((keys as u64) / 2).clamp(100, 100_000)
}

/// The file's text: a header, then `NAME=value` lines (values quoted only when needed).
pub fn render(state: &LabState, member: &Member, host: &HostLayout) -> String {
    let mut text = String::from(
        "# etcd member configuration (EnvironmentFile of etcd.service).\n\
         # Read afresh at every start: edit, then restart the member.\n",
    );
    for (name, value) in variables(state, member, host) {
        text.push_str(&name);
        text.push('=');
        text.push_str(&quote_value(&value));
        text.push('\n');
    }
    text
}

/// A value as both `sh` and systemd's EnvironmentFile read it.
pub fn quote_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:,=@%+-".contains(c));
    if plain {
        return value.to_string();
    }
    let mut quoted = String::from("\"");
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(
            quote_value("http://127.0.0.1:2379"),
            "http://127.0.0.1:2379"
        );
        assert_eq!(quote_value("/tmp/my lab/x"), "\"/tmp/my lab/x\"");
        assert_eq!(quote_value("a\"$b"), "\"a\\\"\\$b\"");
    }
}
