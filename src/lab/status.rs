//! `runbook lab status`: each member's URL, process, health and key counts (v2 leaves, read
//! from the member's files with hidden keys included, so no member is asked for its whole
//! v2 tree; v3 keys, counted), the master services' state and an embedded lab's spare
//! host; a table for people, JSON for machines.

use super::error::LabError;
use super::etcd_layout::EtcdLayout;
use super::pidfile::recorded_processes;
use super::services::LabServices;
use super::state::LabState;
use super::{lab_client, lab_tls};
use crate::ops::etcd::client::v3;
use crate::ops::etcd::v2store::read_member_dir;
use crate::report::Reporter;
use crate::transport::local::LocalTransport;
use crate::transport::Transport;
use serde::Serialize;
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One member's state.
#[derive(Debug, Clone, Serialize)]
pub struct MemberStatus {
    pub name: String,
    pub client_url: String,
    pub pid: Option<i32>,
    pub running: bool,
    pub healthy: bool,
    pub v2_keys: Option<u64>,
    pub v3_keys: Option<u64>,
    /// Why a check could not be made, if one could not.
    pub error: Option<String>,
}

/// One master service's state.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub host: String,
    pub service: String,
    pub pid: Option<i32>,
    pub active: bool,
}

/// One host of a lab of separate hosts: its address, full name and sshd (its anchor).
#[derive(Debug, Clone, Serialize)]
pub struct HostStatus {
    pub name: String,
    pub address: String,
    pub fqdn: String,
    /// Its address on the management network, if the lab has one.
    pub management: Option<String>,
    /// The sshd every session and service of the host lives under, if it runs.
    pub sshd_pid: Option<i32>,
}

/// The spare host of a lab of embedded etcd (`super::spare_host`).
#[derive(Debug, Clone, Serialize)]
pub struct SpareStatus {
    pub name: String,
    pub client_url: String,
    /// Its `etc/etcd/etcd.conf` exists.
    pub configured: bool,
    /// Its etcd service is active.
    pub running: bool,
    pub pid: Option<i32>,
    /// How it stands, in words.
    pub condition: String,
    /// The inventory whose `[etcd]` host it is.
    pub inventory: std::path::PathBuf,
}

/// Everything `status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct LabStatus {
    pub dir: std::path::PathBuf,
    pub tls: bool,
    pub seeded_keys: usize,
    /// How the members are installed.
    pub layout: EtcdLayout,
    /// The members' etcd service (`etcd`, `etcd_container`, or the master's for an
    /// embedded etcd).
    pub etcd_service: String,
    pub members: Vec<MemberStatus>,
    pub services: Vec<ServiceStatus>,
    /// The hosts of a lab of separate hosts (`--hosts netns`); empty on loopback.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostStatus>,
    /// The spare host of a lab of embedded etcd.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spare: Option<SpareStatus>,
}

/// Collects the lab's status without printing it.
pub async fn collect(dir: &Path) -> Result<LabStatus, LabError> {
    let (dir, layout, state) = LabState::open(dir)?;
    let dir = &dir;
    let cancel = CancellationToken::new();
    let services = LabServices::new(&layout);
    let processes = recorded_processes(&layout);
    let pid_of = |host: &str, service: &str| {
        processes
            .iter()
            .find(|p| p.host == host && p.service == service && p.is_alive())
            .map(|p| p.pid)
    };
    let client = lab_client(&layout, &state, Duration::from_secs(30))?;
    let tls = lab_tls(&layout, &state)?;
    let mut members = Vec::new();
    for (index, member) in state.members.iter().enumerate() {
        let url = state.client_url(member);
        let running = services
            .is_active(&member.name, state.etcd_service(), &cancel)
            .await?;
        let mut status = MemberStatus {
            name: member.name.clone(),
            client_url: url.clone(),
            pid: pid_of(&member.name, state.etcd_service()),
            running,
            healthy: false,
            v2_keys: None,
            v3_keys: None,
            error: None,
        };
        let mut errors = Vec::new();
        let files = layout
            .host(&member.name)
            .etcd_data_dir(state.layout)
            .join("member");
        if files.exists() {
            let transport = Transport::Local(LocalTransport::new(&member.name));
            match read_member_dir(&transport, &files.to_string_lossy(), &cancel).await {
                Ok(store) => status.v2_keys = Some(store.leaves.len() as u64),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if running {
            if let Some(one) = client.member(index) {
                match tokio::time::timeout(Duration::from_secs(3), one.health()).await {
                    Ok(Ok(healthy)) => status.healthy = healthy,
                    Ok(Err(e)) => errors.push(e.to_string()),
                    Err(_) => errors.push("/health did not answer within 3s".into()),
                }
            }
            let endpoints = [url.clone()];
            match v3::connect(&endpoints, tls.as_ref(), Duration::from_secs(5)).await {
                Ok(mut v3_client) => match v3::count_keys(&mut v3_client, &endpoints).await {
                    Ok(count) => status.v3_keys = Some(count),
                    Err(e) => errors.push(e.to_string()),
                },
                Err(e) => errors.push(e.to_string()),
            }
        }
        if !errors.is_empty() {
            status.error = Some(errors.join("; "));
        }
        members.push(status);
    }
    let mut master_services = Vec::new();
    for service in state.master_services() {
        master_services.push(ServiceStatus {
            host: state.master.clone(),
            service: service.to_string(),
            pid: pid_of(&state.master, service),
            active: services.is_active(&state.master, service, &cancel).await?,
        });
    }
    let mut spare = None;
    if let Some(member) = &state.spare {
        let service = super::spare_host::SPARE_LAYOUT.service();
        let running = services.is_active(&member.name, service, &cancel).await?;
        let pid = pid_of(&member.name, service).filter(|_| running);
        let host = layout.host(&member.name);
        spare = Some(SpareStatus {
            name: member.name.clone(),
            client_url: state.client_url(member),
            configured: super::spare_host::configured(&host),
            running,
            pid,
            condition: super::spare_host::condition(&host, running, pid),
            inventory: layout.external_inventory_file(),
        });
    }
    let hosts = state
        .network
        .iter()
        .flat_map(|network| network.hosts.iter())
        .map(|host| HostStatus {
            name: host.name.clone(),
            address: host.address.clone(),
            fqdn: host.fqdn(),
            management: host.management.clone(),
            sshd_pid: crate::lab::netns::host::anchor(&layout.host(&host.name)).map(|a| a.pid),
        })
        .collect();
    Ok(LabStatus {
        hosts,
        dir: dir.to_path_buf(),
        tls: state.tls,
        seeded_keys: state.keys,
        layout: state.layout,
        etcd_service: state.etcd_service().to_string(),
        members,
        services: master_services,
        spare,
    })
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn count(value: Option<u64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// The status as a table.
pub fn render(status: &LabStatus) -> String {
    let mut text = format!(
        "lab in {} ({}, {} keys seeded, etcd layout {}: service {})\n",
        status.dir.display(),
        if status.tls { "TLS" } else { "no TLS" },
        status.seeded_keys,
        status.layout,
        status.etcd_service
    );
    if !status.hosts.is_empty() {
        let management = status.hosts.iter().any(|h| h.management.is_some());
        let management_column = |value: &str| {
            if management {
                format!("{value:<12}  ")
            } else {
                String::new()
            }
        };
        text.push_str(&format!(
            "{:<8}  {:<12}  {}{:<22}  {}\n",
            "HOST",
            "ADDRESS",
            management_column("MANAGEMENT"),
            "NAME",
            "SSHD"
        ));
        for h in &status.hosts {
            text.push_str(&format!(
                "{:<8}  {:<12}  {}{:<22}  {}\n",
                h.name,
                h.address,
                management_column(h.management.as_deref().unwrap_or("")),
                h.fqdn,
                match h.sshd_pid {
                    Some(pid) => format!("port 22 (pid {pid})"),
                    None => "not running".to_string(),
                }
            ));
        }
    }
    let url_width = status
        .members
        .iter()
        .map(|m| m.client_url.len())
        .max()
        .unwrap_or(10)
        .max(10);
    text.push_str(&format!(
        "{:<8}  {:<url_width$}  {:>7}  {:<7}  {:<7}  {:>8}  {:>8}\n",
        "MEMBER", "CLIENT URL", "PID", "RUNNING", "HEALTHY", "V2 KEYS", "V3 KEYS"
    ));
    for m in &status.members {
        text.push_str(&format!(
            "{:<8}  {:<url_width$}  {:>7}  {:<7}  {:<7}  {:>8}  {:>8}\n",
            m.name,
            m.client_url,
            m.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            yes_no(m.running),
            yes_no(m.healthy),
            count(m.v2_keys),
            count(m.v3_keys),
        ));
    }
    for m in status.members.iter().filter(|m| m.error.is_some()) {
        text.push_str(&format!(
            "  {}: {}\n",
            m.name,
            m.error.as_deref().unwrap_or("")
        ));
    }
    for s in &status.services {
        text.push_str(&format!(
            "{:<8}  {:<36}  {}\n",
            s.host,
            s.service,
            match (s.active, s.pid) {
                (true, Some(pid)) => format!("active (pid {pid})"),
                (true, None) => "active".to_string(),
                _ => "inactive".to_string(),
            }
        ));
    }
    if let Some(spare) = &status.spare {
        let inventory = spare
            .inventory
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let at = if spare.running {
            format!(" at {}", spare.client_url)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{}: spare host for {} ({inventory}), {}{at}\n",
            spare.name,
            super::spare_host::RUNBOOK,
            spare.condition
        ));
    }
    text
}

pub async fn status(dir: &Path, reporter: &Reporter) -> Result<(), LabError> {
    let status = collect(dir).await?;
    reporter.result(&render(&status), json!(status));
    Ok(())
}
