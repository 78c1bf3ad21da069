//! The master host's `etc/origin/master/master-config.yaml`: a complete OpenShift 3.6/3.7
//! MasterConfig pointing at the lab's etcd members (etcd2 storage: no `storage-backend`),
//! or, for an embedded etcd, at the etcd its own `etcdConfig` section runs.

use super::embedded_etcd_config::EmbeddedEtcd;
use super::error::LabError;
use super::fsutil::write_file;
use super::layout::HostLayout;

const TEMPLATE: &str = include_str!("master-config.yaml");

/// The template filled in: `etcd_urls` as `etcdClientInfo.urls`, `etcd_ca` as its `ca`, and
/// an `etcdConfig` section only when the master runs etcd itself.
fn fill(master: &str, etcd_urls: &[String], etcd_ca: &str, etcd_config: Option<&str>) -> String {
    let urls = etcd_urls
        .iter()
        .map(|u| format!("  - {u}"))
        .collect::<Vec<_>>()
        .join("\n");
    let filled = TEMPLATE
        .replace("@ETCD_URLS@", &urls)
        .replace("@ETCD_CA@", etcd_ca)
        .replace(
            "@MASTER_RE@",
            &master.replace('.', "\\.").replace('-', "\\-"),
        )
        .replace("@MASTER@", master);
    // Last, so nothing in the section (a lab path) is taken for a placeholder.
    match etcd_config {
        Some(section) => filled.replace("@ETCD_CONFIG@", section),
        None => filled.replace("@ETCD_CONFIG@\n", ""),
    }
}

/// The config text for `master` with `etcd_urls` as `etcdClientInfo.urls`.
pub fn render(master: &str, etcd_urls: &[String]) -> String {
    fill(master, etcd_urls, "master.etcd-ca.crt", None)
}

/// The config of a master that runs `etcd` itself: openshift-ansible's embedded-etcd
/// rendering, whose client trusts the master's CA bundle.
pub fn render_embedded(master: &str, etcd: &EmbeddedEtcd) -> String {
    let scheme = if etcd.tls { "https" } else { "http" };
    let url = format!("{scheme}://127.0.0.1:{}", etcd.client_port);
    fill(master, &[url], "ca-bundle.crt", Some(&etcd.section()))
}

/// Writes the config into the master's `openshift_master_config_dir`.
pub fn write(host: &HostLayout, etcd_urls: &[String]) -> Result<(), LabError> {
    write_file(
        &host.master_config_file(),
        render(&host.name, etcd_urls).as_bytes(),
    )
}

/// Writes the config of a master that runs `etcd` itself.
pub fn write_embedded(host: &HostLayout, etcd: &EmbeddedEtcd) -> Result<(), LabError> {
    write_file(
        &host.master_config_file(),
        render_embedded(&host.name, etcd).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_valid_yaml_with_the_members() {
        let urls = vec![
            "https://127.0.0.1:1111".to_string(),
            "https://127.0.0.1:2222".to_string(),
        ];
        let text = render("master-1", &urls);
        assert!(!text.contains('@'), "a placeholder is left:\n{text}");
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(doc["kind"].as_str(), Some("MasterConfig"));
        assert_eq!(doc["apiVersion"].as_str(), Some("v1"));
        assert_eq!(doc["controllerLeaseTTL"].as_i64(), Some(30));
        let tokens = &doc["oauthConfig"]["tokenConfig"];
        assert_eq!(tokens["accessTokenMaxAgeSeconds"].as_i64(), Some(86400));
        assert_eq!(tokens["authorizeTokenMaxAgeSeconds"].as_i64(), Some(500));
        let etcd = &doc["etcdClientInfo"];
        assert_eq!(etcd["ca"].as_str(), Some("master.etcd-ca.crt"));
        assert_eq!(etcd["certFile"].as_str(), Some("master.etcd-client.crt"));
        let got: Vec<&str> = etcd["urls"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|u| u.as_str())
            .collect();
        assert_eq!(got, ["https://127.0.0.1:1111", "https://127.0.0.1:2222"]);
        assert!(doc.get("etcdConfig").is_none());
        let args = &doc["kubernetesMasterConfig"]["apiServerArguments"];
        assert!(args.get("runtime-config").is_some());
        assert!(args.get("storage-backend").is_none());
    }

    #[test]
    fn an_embedded_master_runs_the_etcd_its_client_points_at() {
        let etcd = EmbeddedEtcd {
            client_port: 4001,
            peer_port: 7001,
            tls: true,
            storage_dir: "/lab/hosts/master-1/var/lib/origin/openshift.local.etcd".into(),
        };
        let text = render_embedded("master-1", &etcd);
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let client = &doc["etcdClientInfo"];
        assert_eq!(client["ca"].as_str(), Some("ca-bundle.crt"));
        assert_eq!(client["keyFile"].as_str(), Some("master.etcd-client.key"));
        assert_eq!(client["urls"][0].as_str(), Some("https://127.0.0.1:4001"));
        let config = &doc["etcdConfig"];
        assert_eq!(config["address"].as_str(), Some("127.0.0.1:4001"));
        assert_eq!(config["peerAddress"].as_str(), Some("127.0.0.1:7001"));
        assert_eq!(
            config["servingInfo"]["certFile"].as_str(),
            Some("etcd.server.crt")
        );
        // Everything else is the external master's config.
        let external = render("master-1", &["https://127.0.0.1:4001".to_string()]);
        let mut other: serde_yaml::Value = serde_yaml::from_str(&external).unwrap();
        other["etcdClientInfo"]["ca"] = "ca-bundle.crt".into();
        let mut without = doc.clone();
        without.as_mapping_mut().unwrap().remove("etcdConfig");
        assert_eq!(without, other);
    }
}
