//! The lab's service controller (`DIR/bin/lab-service`) and the start scripts of its
//! services; `runbook_service_command` points at the controller, so the lab's services
//! are driven exactly as runbooks drive real ones.

use super::error::LabError;
use super::fsutil::{shell_quote, write_executable};
use super::layout::{HostLayout, LabLayout};

/// The controller: `lab-service HOST_DIR start|stop|restart|is-active SERVICE`.
pub const CONTROLLER: &str = include_str!("lab-service.sh");
const ETCD_START: &str = include_str!("etcd-start.sh");
const MASTER_START: &str = include_str!("master-start.sh");
const MASTER_WRITER: &str = include_str!("master-writer.py");
const EMBEDDED_ETCD: &str = include_str!("embedded-etcd.py");

/// Writes `DIR/bin/lab-service`.
pub fn write_controller(layout: &LabLayout) -> Result<(), LabError> {
    write_executable(&layout.service_script(), CONTROLLER.as_bytes())
}

/// Writes a member's etcd start script for the service named `service` (`etcd`,
/// `etcd_container`), which runs the etcd binary at `etcd`.
pub fn write_etcd_start(
    host: &HostLayout,
    service: &str,
    etcd: &std::path::Path,
) -> Result<(), LabError> {
    let script = ETCD_START
        .replace("@SERVICE@", service)
        .replace("@ETCD@", &shell_quote(&etcd.to_string_lossy()));
    write_executable(&host.service_start_script(service), script.as_bytes())
}

/// Writes the start script of a master stand-in service.
pub fn write_master_start(host: &HostLayout, service: &str) -> Result<(), LabError> {
    let script = MASTER_START.replace("@SERVICE@", service);
    write_executable(&host.service_start_script(service), script.as_bytes())
}

/// Writes the master's writer (`lib/lab-service/master-writer.py`), which the API
/// stand-in then runs instead of idling.
pub fn write_master_writer(host: &HostLayout) -> Result<(), LabError> {
    let path = host.service_start_script("master-writer.py");
    write_executable(&path, MASTER_WRITER.as_bytes())
}

/// Writes the master's embedded etcd (`lib/lab-service/embedded-etcd.py`), which the master
/// service then runs from master-config.yaml's `etcdConfig`, with the etcd binary at `etcd`
/// and a v2 snapshot every `snapshot_count` entries.
pub fn write_embedded_etcd(
    host: &HostLayout,
    etcd: &std::path::Path,
    snapshot_count: u64,
) -> Result<(), LabError> {
    // A JSON string is a Python string literal.
    let literal = serde_json::Value::from(etcd.to_string_lossy().into_owned()).to_string();
    let script = EMBEDDED_ETCD
        .replace("@ETCD@", &literal)
        .replace("@SNAPSHOT_COUNT@", &snapshot_count.to_string());
    let path = host.service_start_script("embedded-etcd.py");
    write_executable(&path, script.as_bytes())
}

/// The `runbook_service_command` template of a lab host (`{action}` and `{service}` filled in
/// by the service manager), quoted so a lab directory with spaces works.
pub fn command_template(layout: &LabLayout, host: &HostLayout) -> String {
    format!(
        "{} {} {{action}} {{service}}",
        shell_quote(&layout.service_script().to_string_lossy()),
        shell_quote(&host.root.to_string_lossy())
    )
}
