//! The local rehearsal cluster: real etcd 3.4 members on loopback (or one etcd embedded in
//! the master), a master host, seeded v2 data.
//!
//! A lab lives in one directory (`--dir`): `hosts/<name>/` mirrors each host's filesystem,
//! `bin/lab-service` controls services like systemctl, `inventory.ini` and `env` point
//! runbooks and etcdctl at it, `lab.json` records what it holds. A lab of embedded etcd
//! also has a spare host, `etcd-1`, for moving its etcd out (`inventory-external.ini`,
//! `env-external`).

pub mod certs;
pub mod down;
pub mod embedded_etcd_config;
pub mod embedded_options;
pub mod env_file;
pub mod error;
pub mod etcd_conf;
pub mod etcd_layout;
pub mod fsutil;
pub mod inventory_file;
pub mod layout;
pub mod master_config;
pub mod netns;
pub mod pidfile;
pub mod ports;
pub mod seed;
pub mod seed_plan;
pub mod service_script;
pub mod services;
pub mod spare_host;
pub mod standalone_etcd;
pub mod state;
pub mod status;
pub mod up;

pub use error::LabError;
pub use etcd_layout::EtcdLayout;

use crate::ops::etcd::{TlsFiles, TlsMaterial, V2Client};
use crate::report::Reporter;
use layout::LabLayout;
use state::LabState;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Where a lab's hosts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LabHosts {
    /// Every host on one filesystem at 127.0.0.1, with its paths and ports in the inventory.
    #[default]
    Loopback,
    /// Every host its own network and mount namespace (root only).
    Netns,
}

/// What `runbook lab up` builds.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub dir: PathBuf,
    pub members: usize,
    pub tls: bool,
    pub keys: usize,
    /// Of the seeded keys, how many expire within 2 minutes (a migration meets them expired).
    pub expiring: usize,
    /// How the members are installed: data dir and service name, or embedded in the master.
    pub etcd_layout: EtcdLayout,
    /// The master's API stand-in writes to etcd every 100 ms (`master-writer.py`).
    pub master_writes: bool,
}

/// `runbook lab up`: start the members, seed v2 data, write `inventory.ini` and `env`.
pub async fn up(
    options: &LabOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<(), LabError> {
    up::up(options, reporter, cancel).await
}

/// `runbook lab down`: stop exactly the processes this lab started, then remove its directory.
pub async fn down(dir: &std::path::Path, reporter: &Reporter) -> Result<(), LabError> {
    down::down(dir, reporter).await
}

/// `runbook lab status`: each member, its health and key counts.
pub async fn status(dir: &std::path::Path, reporter: &Reporter) -> Result<(), LabError> {
    status::status(dir, reporter).await
}

/// The files a client of the lab's etcd presents and trusts: the CA and the first member's
/// peer certificate, or for an embedded etcd the master's own (`etcdClientInfo`).
pub fn client_tls_files(layout: &LabLayout, state: &LabState) -> TlsFiles {
    if state.layout.is_embedded() {
        let master = layout.host(&state.master);
        return TlsFiles::in_dir(
            &master.master_config_dir(),
            "ca-bundle.crt",
            "master.etcd-client.crt",
            "master.etcd-client.key",
        );
    }
    let first = layout.host(&state.members[0].name);
    TlsFiles::in_dir(&first.etcd_conf_dir(), "ca.crt", "peer.crt", "peer.key")
}

/// The client TLS material of a TLS lab (`client_tls_files`, read).
pub fn lab_tls(layout: &LabLayout, state: &LabState) -> Result<Option<TlsMaterial>, LabError> {
    if !state.tls {
        return Ok(None);
    }
    Ok(Some(client_tls_files(layout, state).read()?))
}

/// A v2 client for every member of the lab.
pub fn lab_client(
    layout: &LabLayout,
    state: &LabState,
    timeout: Duration,
) -> Result<V2Client, LabError> {
    let tls = lab_tls(layout, state)?;
    V2Client::with_timeout(&state.client_urls(), tls.as_ref(), timeout).map_err(LabError::from)
}
