//! Pointing a master-config.yaml at external etcd members instead of the etcd embedded in
//! the master, as openshift-ansible's embedded2external playbook leaves it: `etcdClientInfo`
//! names the members' client URLs and the etcd CA (`master.etcd-ca.crt`), and `etcdConfig`
//! is gone. Edited in place; going back is the copy taken before, restored byte for byte.

use super::config_patch::{parse, PatchError, Patched};
use super::yaml::edit::{self, Edit};
use serde_yaml::Value;

/// The CA file of external etcd in `etcdClientInfo` (`master.yaml.v1.j2`).
pub const EXTERNAL_ETCD_CA: &str = "master.etcd-ca.crt";

fn edits(urls: &[String], ca: &str) -> Vec<Edit> {
    vec![
        Edit::set(
            &["etcdClientInfo", "urls"],
            Value::Sequence(urls.iter().map(|u| Value::String(u.clone())).collect()),
        ),
        Edit::set(&["etcdClientInfo", "ca"], Value::String(ca.to_string())),
        Edit::remove(&["etcdConfig"]),
    ]
}

/// The config with `etcdClientInfo` on `urls` and `ca`, and no `etcdConfig` (idempotent).
pub fn use_external(
    path: &str,
    text: &str,
    urls: &[String],
    ca: &str,
) -> Result<Patched, PatchError> {
    let edited = edit::apply(path, text, &edits(urls, ca))?;
    Ok(Patched {
        changed: edited != text,
        text: edited,
    })
}

/// Whether the config runs an embedded etcd (has `etcdConfig`).
pub fn has_embedded_etcd(path: &str, text: &str) -> Result<bool, PatchError> {
    let document = parse(path, text)?;
    Ok(document.get("etcdConfig").is_some_and(|v| !v.is_null()))
}

/// What a config moved to external etcd says of the move: its parsed text, URLs and CA,
/// read once to check the copies beside it.
pub struct MovedConfig {
    path: String,
    document: Value,
    urls: Vec<String>,
    ca: String,
}

impl MovedConfig {
    /// `None` when `current` does not parse or names no CA.
    pub fn read(path: &str, current: &str) -> Option<MovedConfig> {
        let document = parse(path, current).ok()?;
        let info = &document["etcdClientInfo"];
        let urls = info["urls"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let ca = info["ca"].as_str()?.to_string();
        Some(MovedConfig {
            path: path.to_string(),
            document,
            urls,
            ca,
        })
    }

    /// Whether `copy` is a config that [`use_external`] turned into this one: it has its
    /// `etcdConfig`, and the same edits with these URLs and CA give this config.
    pub fn is_moved_from(&self, copy: &str) -> bool {
        if !has_embedded_etcd(&self.path, copy).unwrap_or(false) {
            return false;
        }
        use_external(&self.path, copy, &self.urls, &self.ca)
            .ok()
            .and_then(|moved| parse(&self.path, &moved.text).ok())
            .as_ref()
            == Some(&self.document)
    }
}

/// Whether `copy` is a config that [`use_external`] turned into `current`.
pub fn is_embedded_original_of(path: &str, copy: &str, current: &str) -> bool {
    MovedConfig::read(path, current).is_some_and(|moved| moved.is_moved_from(copy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::master::diff::changed_lines;

    const RELEASE_36: &str = include_str!(
        "../../../tests/fixtures/master-config/openshift-ansible-3.6-embedded-etcd.yaml"
    );

    #[test]
    fn an_embedded_config_is_pointed_at_external_members_in_exactly_those_lines() {
        let urls = vec![
            "https://etcd1.example.com:2379".to_string(),
            "https://etcd2.example.com:2379".to_string(),
        ];
        let moved = use_external("m.yaml", RELEASE_36, &urls, EXTERNAL_ETCD_CA).unwrap();
        assert!(moved.changed);
        assert_eq!(
            changed_lines(RELEASE_36, &moved.text),
            [
                "-  ca: ca-bundle.crt",
                "+  ca: master.etcd-ca.crt",
                // The old URL and etcdConfig are adjacent lines: one hunk, its
                // removals first.
                "-    - https://master1.example.com:4001",
                "-etcdConfig:",
                "-  address: master1.example.com:4001",
                "-  peerAddress: master1.example.com:7001",
                "-  peerServingInfo:",
                "-    bindAddress: 0.0.0.0:7001",
                "-    certFile: etcd.server.crt",
                "-    clientCA: ca-bundle.crt",
                "-    keyFile: etcd.server.key",
                "-  servingInfo:",
                "-    bindAddress: 0.0.0.0:4001",
                "-    certFile: etcd.server.crt",
                "-    clientCA: ca-bundle.crt",
                "-    keyFile: etcd.server.key",
                "-  storageDirectory: /var/lib/origin/openshift.local.etcd",
                "+    - https://etcd1.example.com:2379",
                "+    - https://etcd2.example.com:2379",
            ]
        );
        assert!(!has_embedded_etcd("m.yaml", &moved.text).unwrap());
        assert!(has_embedded_etcd("m.yaml", RELEASE_36).unwrap());
        let again = use_external("m.yaml", &moved.text, &urls, EXTERNAL_ETCD_CA).unwrap();
        assert!(!again.changed, "idempotent");
        assert!(is_embedded_original_of("m.yaml", RELEASE_36, &moved.text));
        // Not the original of another move, nor of itself.
        let other = use_external("m.yaml", RELEASE_36, &urls[..1], EXTERNAL_ETCD_CA).unwrap();
        assert!(!is_embedded_original_of(
            "m.yaml",
            RELEASE_36,
            &other.text.replace("ssn", "other")
        ));
        assert!(!is_embedded_original_of("m.yaml", &moved.text, &moved.text));
    }
}
