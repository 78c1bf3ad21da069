//! The master host's `etc/origin/master/master-config.yaml`: a complete OpenShift 3.6/3.7
//! MasterConfig pointing at the lab's etcd members (etcd2 storage: no `storage-backend`).

use super::error::LabError;
use super::fsutil::write_file;
use super::layout::HostLayout;

const TEMPLATE: &str = include_str!("master-config.yaml");

/// The config text for `master` with `etcd_urls` as `etcdClientInfo.urls`.
pub fn render(master: &str, etcd_urls: &[String]) -> String {
    let urls = etcd_urls
        .iter()
        .map(|u| format!("  - {u}"))
        .collect::<Vec<_>>()
        .join("\n");
    TEMPLATE
        .replace("@ETCD_URLS@", &urls)
        .replace(
            "@MASTER_RE@",
            &master.replace('.', "\\.").replace('-', "\\-"),
        )
        .replace("@MASTER@", master)
}

/// Writes the config into the master's `openshift_master_config_dir`.
pub fn write(host: &HostLayout, etcd_urls: &[String]) -> Result<(), LabError> {
    write_file(
        &host.master_config_file(),
        render(&host.name, etcd_urls).as_bytes(),
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
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(doc["kind"].as_str(), Some("MasterConfig"));
        assert_eq!(doc["apiVersion"].as_str(), Some("v1"));
        assert_eq!(doc["controllerLeaseTTL"].as_i64(), Some(30));
        let tokens = &doc["oauthConfig"]["tokenConfig"];
        assert_eq!(tokens["accessTokenMaxAgeSeconds"].as_i64(), Some(86400));
        assert_eq!(tokens["authorizeTokenMaxAgeSeconds"].as_i64(), Some(500));
        let etcd = &doc["etcdClientInfo"];
        assert_eq!(etcd["certFile"].as_str(), Some("master.etcd-client.crt"));
        let got: Vec<&str> = etcd["urls"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|u| u.as_str())
            .collect();
        assert_eq!(got, ["https://127.0.0.1:1111", "https://127.0.0.1:2222"]);
        let args = &doc["kubernetesMasterConfig"]["apiServerArguments"];
        assert!(args.get("runtime-config").is_some());
        assert!(args.get("storage-backend").is_none());
    }
}
