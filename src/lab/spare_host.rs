//! The spare host of a lab of embedded etcd: `etcd-1`, laid out as a host of the etcd
//! package before etcd is configured there (no `etcd.conf`, no certificates, an empty data
//! dir, nothing running), the new etcd host that moving the embedded etcd out
//! (openshift-ansible's `embedded2external.yml`) configures and starts.

use super::error::LabError;
use super::etcd_layout::EtcdLayout;
use super::fsutil::{create_dir, create_private_dir};
use super::layout::HostLayout;
use super::service_script;
use std::path::Path;

/// How etcd is installed on the spare host: the etcd package (service `etcd`, data in
/// `/var/lib/etcd`), as `embedded2external.yml` installs it.
pub const SPARE_LAYOUT: EtcdLayout = EtcdLayout::Rpm;

/// The runbook that moves the embedded etcd to the spare host.
pub const RUNBOOK: &str = "embedded-to-external.rhai";

/// The spare host's name: the first etcd host's.
pub fn name() -> String {
    super::layout::member_name(0)
}

/// Lays out the spare host: `etc/etcd` and `var/lib/etcd` empty and owner-only, `var/log`,
/// `run`, and the etcd service a member of the package has, which reads `etc/etcd/etcd.conf`
/// at every start and runs the etcd binary at `etcd`.
pub fn write(host: &HostLayout, etcd: &Path) -> Result<(), LabError> {
    create_private_dir(&host.etcd_conf_dir())?;
    create_private_dir(&host.etcd_data_dir(SPARE_LAYOUT))?;
    create_dir(&host.root.join("run"))?;
    create_dir(&host.root.join("var/log"))?;
    service_script::write_etcd_start(host, SPARE_LAYOUT.service(), etcd)
}

/// Whether the spare host's etcd is configured: its `etc/etcd/etcd.conf` exists.
pub fn configured(host: &HostLayout) -> bool {
    host.etcd_conf_file().exists()
}

/// How the spare host stands, in words, given whether its etcd service runs and its pid:
/// `etcd not configured`, `etcd configured, not running`, `etcd running (pid N)`.
pub fn condition(host: &HostLayout, running: bool, pid: Option<i32>) -> String {
    match (running, pid) {
        (true, Some(pid)) => format!("etcd running (pid {pid})"),
        (true, None) => "etcd running".to_string(),
        (false, _) if configured(host) => "etcd configured, not running".to_string(),
        (false, _) => "etcd not configured".to_string(),
    }
}
