//! `DIR/lab.json`: marks a directory as a lab and records its members, ports and options,
//! so `down` and `status` know exactly what the lab holds.

use super::error::LabError;
use super::etcd_layout::EtcdLayout;
use super::layout::LabLayout;
use serde::{Deserialize, Serialize};

/// The `kind` every lab state file carries.
pub const KIND: &str = "runbook-lab";

/// One etcd member of the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's host: `etcd-1`, ..., or the master of an embedded etcd.
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    /// The member's own address on a lab of separate hosts; loopback labs use 127.0.0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl Member {
    pub fn address(&self) -> &str {
        self.address.as_deref().unwrap_or("127.0.0.1")
    }
}

/// What a lab holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    pub kind: String,
    pub version: u32,
    pub tls: bool,
    pub keys: usize,
    /// Of those, keys seeded about to expire (`lab up --expiring`).
    #[serde(default)]
    pub expiring: usize,
    /// How the members are installed; labs from before layouts existed are `rpm`.
    #[serde(default)]
    pub layout: EtcdLayout,
    pub members: Vec<Member>,
    pub master: String,
    /// False until `up` has started, seeded and written everything.
    pub ready: bool,
    /// The namespaces of a lab of separate hosts (`--hosts netns`); none for a loopback lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<super::netns::network::Network>,
    /// An embedded lab's spare host (`etcd-1`) and the ports set aside for it: the new etcd
    /// host of `inventory-external.ini`, laid out but not configured (`super::spare_host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spare: Option<Member>,
}

impl LabState {
    /// An existing lab: its absolute directory, layout and recorded state. Refuses a
    /// directory that does not exist or is not a lab (no lab.json).
    pub fn open(
        dir: &std::path::Path,
    ) -> Result<(std::path::PathBuf, LabLayout, LabState), LabError> {
        let dir = super::fsutil::absolute(dir)?;
        let layout = LabLayout::new(&dir);
        if !dir.exists() {
            return Err(LabError::NoLab { dir });
        }
        if !layout.state_file().exists() {
            return Err(LabError::NotALab { dir });
        }
        let state = LabState::load(&layout)?;
        Ok((dir, layout, state))
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    pub fn client_url(&self, member: &Member) -> String {
        format!(
            "{}://{}:{}",
            self.scheme(),
            member.address(),
            member.client_port
        )
    }

    pub fn peer_url(&self, member: &Member) -> String {
        format!(
            "{}://{}:{}",
            self.scheme(),
            member.address(),
            member.peer_port
        )
    }

    pub fn client_urls(&self) -> Vec<String> {
        self.members.iter().map(|m| self.client_url(m)).collect()
    }

    /// The etcd service on every member.
    pub fn etcd_service(&self) -> &'static str {
        self.layout.service()
    }

    /// The master's services in start order.
    pub fn master_services(&self) -> &'static [&'static str] {
        super::layout::master_services(self.layout)
    }

    /// Every (host, service) the lab runs, etcd members first, each once (an embedded
    /// etcd's service is the master's).
    pub fn services(&self) -> Vec<(String, String)> {
        let mut services: Vec<(String, String)> = self
            .members
            .iter()
            .map(|m| (m.name.clone(), self.etcd_service().to_string()))
            .collect();
        for service in self.master_services() {
            let entry = (self.master.clone(), service.to_string());
            if !services.contains(&entry) {
                services.push(entry);
            }
        }
        services
    }

    /// The spare host's etcd service, which only a runbook starts.
    pub fn spare_service(&self) -> Option<(String, String)> {
        self.spare.as_ref().map(|spare| {
            (
                spare.name.clone(),
                super::spare_host::SPARE_LAYOUT.service().to_string(),
            )
        })
    }

    pub fn load(layout: &LabLayout) -> Result<LabState, LabError> {
        let path = layout.state_file();
        let text = std::fs::read(&path).map_err(|e| LabError::io("read", &path, e))?;
        let state: LabState = serde_json::from_slice(&text).map_err(|e| LabError::State {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if state.kind != KIND {
            return Err(LabError::State {
                path,
                reason: format!("kind is `{}`, not `{KIND}`", state.kind),
            });
        }
        Ok(state)
    }

    pub fn save(&self, layout: &LabLayout) -> Result<(), LabError> {
        let path = layout.state_file();
        let text = serde_json::to_vec_pretty(self).map_err(|e| LabError::State {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let temp = path.with_extension("json.tmp");
        super::fsutil::write_file(&temp, &text)?;
        std::fs::rename(&temp, &path).map_err(|e| LabError::io("write", &path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lab.json from before spare hosts loads without one and is written back as it was.
    #[test]
    fn a_state_without_a_spare_host_loads_and_saves_without_one() {
        let text = r#"{"kind": "runbook-lab", "version": 1, "tls": false, "keys": 5,
            "members": [{"name": "etcd-1", "client_port": 14001, "peer_port": 17001}],
            "master": "master-1", "ready": true}"#;
        let state: LabState = serde_json::from_str(text).unwrap();
        assert_eq!(state.spare, None);
        assert_eq!(state.spare_service(), None);
        let saved = serde_json::to_value(&state).unwrap();
        assert!(saved.get("spare").is_none(), "{saved}");
        let with_spare = LabState {
            spare: Some(Member {
                name: "etcd-1".into(),
                client_port: 14003,
                peer_port: 17003,
                address: None,
            }),
            ..state
        };
        assert_eq!(
            with_spare.spare_service(),
            Some(("etcd-1".to_string(), "etcd".to_string()))
        );
        let again: LabState =
            serde_json::from_value(serde_json::to_value(&with_spare).unwrap()).unwrap();
        assert_eq!(again, with_spare);
    }
}
