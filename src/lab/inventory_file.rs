//! `DIR/inventory.ini`: an openshift-ansible style inventory of the lab, ready for
//! `runbook run ... -i DIR/inventory.ini` (local connection, lab paths and ports). A lab of
//! embedded etcd has no `[etcd]` group, as openshift-ansible's embedded installs have none;
//! its `DIR/inventory-external.ini` is the same lab with the spare host as the one `[etcd]`
//! host, the inventory for moving the etcd out.

use super::etcd_layout::EtcdLayout;
use super::layout::{LabLayout, MASTER_HOST};
use super::service_script::command_template;
use super::state::{LabState, Member};

/// A host variable value as Ansible's INI parser reads it back (shlex quoting).
pub fn ini_value(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || "\"'\\#;=".contains(c));
    if plain {
        return value.to_string();
    }
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn host_line(name: &str, vars: &[(&str, String)]) -> String {
    let mut line = name.to_string();
    for (key, value) in vars {
        line.push(' ');
        line.push_str(key);
        line.push('=');
        line.push_str(&ini_value(value));
    }
    line
}

/// The inventory text.
pub fn render(layout: &LabLayout, state: &LabState) -> String {
    if state.layout.is_embedded() {
        return render_embedded(layout, state);
    }
    let path = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    let scheme = state.scheme();
    let master = layout.host(&state.master);
    let mut text = format!(
        "# runbook lab in {dir}: {n} etcd member(s), {tls}{etcd_layout}.\n\
         # Services are controlled by {script} (runbook_service_command).\n\n\
         [OSEv3:children]\nmasters\nnodes\netcd\n\n\
         [OSEv3:vars]\nansible_connection=local\ndeployment_type=openshift-enterprise\n\
         openshift_release=v3.7\n\
         etcd_url_scheme={scheme}\netcd_peer_url_scheme={scheme}\n\n[masters]\n",
        dir = layout.dir.display(),
        n = state.members.len(),
        tls = if state.tls {
            "client and peer TLS"
        } else {
            "no TLS"
        },
        script = layout.service_script().display(),
        etcd_layout = match state.layout {
            EtcdLayout::Rpm => String::new(),
            other => format!(", etcd as {other} (service {})", other.service()),
        },
    );
    text.push_str(&host_line(
        &state.master,
        &[
            (
                "openshift_master_config_dir",
                path(master.master_config_dir()),
            ),
            ("runbook_service_command", command_template(layout, &master)),
        ],
    ));
    text.push_str("\n\n[nodes]\n");
    text.push_str(MASTER_HOST);
    text.push_str("\n\n[etcd]\n");
    for member in &state.members {
        let vars = etcd_host_vars(layout, state.layout, member);
        text.push_str(&host_line(&member.name, &vars));
        text.push('\n');
    }
    text
}

/// The variables of an `[etcd]` host of the lab whose etcd is installed as `etcd`.
fn etcd_host_vars(
    layout: &LabLayout,
    etcd: EtcdLayout,
    member: &Member,
) -> Vec<(&'static str, String)> {
    let path = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    let host = layout.host(&member.name);
    let mut vars = vec![
        ("etcd_ip", "127.0.0.1".to_string()),
        ("etcd_client_port", member.client_port.to_string()),
        ("etcd_peer_port", member.peer_port.to_string()),
    ];
    // The layout is named as openshift-ansible's inventories name it, and the inventory's
    // own derivation picks `etcd_service`; only the data dir is set, because the lab's
    // paths are not the real ones. The lab's etcd is a plain process, so etcdctl runs on
    // the host rather than through `docker exec`.
    if etcd == EtcdLayout::Docker {
        vars.push(("containerized", "true".to_string()));
        vars.push(("runbook_etcdctl_command", "etcdctl".to_string()));
    }
    vars.extend([
        ("etcd_data_dir", path(host.etcd_data_dir(etcd))),
        ("etcd_conf_dir", path(host.etcd_conf_dir())),
        ("runbook_service_command", command_template(layout, &host)),
    ]);
    vars
}

/// The inventory of a single OpenShift 3.6 master whose service runs etcd: masters and
/// nodes only. `openshift_master_etcd_port` is the embedded etcd's client port (its peer
/// port has no variable: openshift-ansible's template fixes it at 7001).
fn render_embedded(layout: &LabLayout, state: &LabState) -> String {
    let scheme = state.scheme();
    let mut text = format!(
        "# runbook lab in {dir}: etcd embedded in the master (service {service}), {tls}.\n\
         # Services are controlled by {script} (runbook_service_command).\n\n\
         [OSEv3:children]\nmasters\nnodes\n\n\
         [OSEv3:vars]\nansible_connection=local\ndeployment_type=openshift-enterprise\n\
         openshift_release=v3.6\n\
         etcd_url_scheme={scheme}\netcd_peer_url_scheme={scheme}\n\n[masters]\n",
        dir = layout.dir.display(),
        service = state.etcd_service(),
        tls = if state.tls {
            "client and peer TLS"
        } else {
            "no TLS"
        },
        script = layout.service_script().display(),
    );
    // The missing [etcd] group is what makes the master's etcd embedded, and the inventory's
    // own derivation then picks the master service, the data dir under openshift_data_dir
    // and the master's client certificate; only the lab's address and paths are set.
    text.push_str(&embedded_master_line(layout, state));
    text.push_str("\n\n[nodes]\n");
    text.push_str(&state.master);
    text.push('\n');
    text
}

/// The `[masters]` line of the 3.6 master whose service runs the embedded etcd.
fn embedded_master_line(layout: &LabLayout, state: &LabState) -> String {
    let path = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    let master = layout.host(&state.master);
    host_line(
        &state.master,
        &[
            (
                "openshift_master_config_dir",
                path(master.master_config_dir()),
            ),
            ("openshift_data_dir", path(master.openshift_data_dir())),
            (
                "openshift_master_etcd_port",
                state.members[0].client_port.to_string(),
            ),
            ("etcd_ip", "127.0.0.1".to_string()),
            ("runbook_service_command", command_template(layout, &master)),
        ],
    )
}

/// `inventory-external.ini` of a lab with a spare host, as openshift-ansible's
/// `playbooks/byo/openshift-etcd/embedded2external.yml` reads its inventory: `[masters]` the
/// embedded inventory's master, `[etcd]` the spare host, with the variables an `[etcd]` host
/// of the etcd package has in `render`. Nothing is configured there yet, so the files the
/// inventory derives under its `etcd_conf_dir` (`etcd.conf`, `ca.crt`, `server.crt`,
/// `peer.crt`, the CA in `etcd_ca_dir`) are where the move puts them. `None` without a spare
/// host.
pub fn render_external(layout: &LabLayout, state: &LabState) -> Option<String> {
    let spare = state.spare.as_ref()?;
    let scheme = state.scheme();
    let mut text = format!(
        "# runbook lab in {dir}: the inventory for moving the etcd embedded in {master} \
         (service {service}) out\n\
         # to the new etcd host {spare_name}, as openshift-ansible's \
         playbooks/byo/openshift-etcd/embedded2external.yml reads it;\n\
         # {tls}. {spare_name} is laid out but etcd is not configured there: its etcd.conf, \
         certificates and data\n\
         # are what the move makes (runbooks/{runbook}); inventory.ini is the lab before it.\n\
         # Services are controlled by {script} (runbook_service_command).\n\n\
         [OSEv3:children]\nmasters\nnodes\netcd\n\n\
         [OSEv3:vars]\nansible_connection=local\ndeployment_type=openshift-enterprise\n\
         openshift_release=v3.6\n\
         etcd_url_scheme={scheme}\netcd_peer_url_scheme={scheme}\n\n[masters]\n",
        dir = layout.dir.display(),
        master = state.master,
        service = state.etcd_service(),
        spare_name = spare.name,
        tls = if state.tls {
            "client and peer TLS"
        } else {
            "no TLS"
        },
        runbook = super::spare_host::RUNBOOK,
        script = layout.service_script().display(),
    );
    text.push_str(&embedded_master_line(layout, state));
    text.push_str("\n\n[nodes]\n");
    text.push_str(&state.master);
    text.push_str("\n\n[etcd]\n");
    let vars = etcd_host_vars(layout, super::spare_host::SPARE_LAYOUT, spare);
    text.push_str(&host_line(&spare.name, &vars));
    text.push('\n');
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;
    use crate::lab::state::KIND;
    use crate::ops::master::services::master_services;

    /// A TLS lab of embedded etcd on client port 14001, without a spare host.
    fn embedded_state() -> LabState {
        LabState {
            kind: KIND.to_string(),
            version: 1,
            tls: true,
            keys: 10,
            expiring: 0,
            layout: EtcdLayout::Embedded,
            members: vec![Member {
                name: MASTER_HOST.to_string(),
                client_port: 14001,
                peer_port: 17001,
                address: None,
            }],
            master: MASTER_HOST.to_string(),
            ready: true,
            network: None,
            spare: None,
        }
    }

    /// The inventory of an embedded etcd has no etcd hosts, and runbook reads its master's
    /// one service as both the etcd service and the master service.
    #[test]
    fn an_embedded_lab_has_one_master_and_no_etcd_hosts() {
        let layout = LabLayout::new(std::path::Path::new("/my lab"));
        let state = embedded_state();
        let text = render(&layout, &state);
        let inventory = Inventory::from_text("inventory.ini", &text, &[]).unwrap();
        assert!(inventory.group("etcd").unwrap_or_default().is_empty());
        let masters = inventory.group("masters").unwrap();
        assert_eq!(masters.len(), 1);
        let master = masters[0];
        assert_eq!(master.name, MASTER_HOST);
        assert_eq!(master_services(master, 1), ["atomic-openshift-master"]);
        assert_eq!(
            master.var_str("etcd_service").as_deref(),
            Some(state.etcd_service())
        );
        assert_eq!(
            master.var_str("openshift_master_etcd_port").as_deref(),
            Some("14001")
        );
        assert_eq!(
            master.var_str("runbook_etcd_layout").as_deref(),
            Some("embedded")
        );
        assert_eq!(master.var_str("etcd_client_port").as_deref(), Some("14001"));
        assert_eq!(
            master.var_str("etcd_data_dir").as_deref(),
            Some("/my lab/hosts/master-1/var/lib/origin/openshift.local.etcd")
        );
    }

    /// The inventory of the move to external etcd: the embedded master as before, and the
    /// spare host as the one etcd host, whose derived files lie in its empty `etc/etcd`.
    #[test]
    fn the_external_inventory_has_the_master_and_the_spare_host_as_etcd() {
        let layout = LabLayout::new(std::path::Path::new("/my lab"));
        let mut state = embedded_state();
        assert!(render_external(&layout, &state).is_none());
        state.spare = Some(Member {
            name: crate::lab::spare_host::name(),
            client_port: 14003,
            peer_port: 17003,
            address: None,
        });
        let text = render_external(&layout, &state).unwrap();
        assert!(text.starts_with("# "), "{text}");
        let inventory = Inventory::from_text("inventory-external.ini", &text, &[]).unwrap();
        let etcd = inventory.group("etcd").unwrap();
        let names: Vec<&str> = etcd.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["etcd-1"]);
        let spare = etcd[0];
        let var = |name: &str| spare.var_str(name);
        let root = "/my lab/hosts/etcd-1";
        assert_eq!(var("etcd_client_port").as_deref(), Some("14003"));
        assert_eq!(var("etcd_peer_port").as_deref(), Some("17003"));
        assert_eq!(var("etcd_ip").as_deref(), Some("127.0.0.1"));
        assert_eq!(var("etcd_conf_dir"), Some(format!("{root}/etc/etcd")));
        assert_eq!(var("etcd_ca_dir"), Some(format!("{root}/etc/etcd/ca")));
        assert_eq!(var("etcd_data_dir"), Some(format!("{root}/var/lib/etcd")));
        assert_eq!(
            var("etcd_peer_cert_file"),
            Some(format!("{root}/etc/etcd/peer.crt"))
        );
        assert_eq!(var("etcd_service").as_deref(), Some("etcd"));
        assert_eq!(var("runbook_etcd_layout").as_deref(), Some("rpm"));
        assert_eq!(
            var("runbook_service_command"),
            Some(command_template(&layout, &layout.host("etcd-1")))
        );
        let masters = inventory.group("masters").unwrap();
        assert_eq!(masters.len(), 1);
        let master = masters[0];
        assert_eq!(master.name, MASTER_HOST);
        assert_eq!(
            master.var_str("openshift_master_etcd_port").as_deref(),
            Some("14001")
        );
        assert_eq!(master.var_str("openshift_release").as_deref(), Some("v3.6"));
        assert_eq!(
            master.var_str("openshift_data_dir").as_deref(),
            Some("/my lab/hosts/master-1/var/lib/origin")
        );
        let nodes = inventory.group("nodes").unwrap();
        assert_eq!(nodes.len(), 1);
        // The master line is the embedded inventory's, byte for byte.
        let master_line = |text: &str| {
            text.lines()
                .find(|l| l.starts_with("master-1 "))
                .map(str::to_string)
        };
        assert_eq!(master_line(&text), master_line(&render(&layout, &state)));
    }

    #[test]
    fn quotes_values_with_spaces_and_quotes() {
        assert_eq!(ini_value("/var/lib/etcd"), "/var/lib/etcd");
        assert_eq!(
            ini_value("'/my lab/bin/lab-service' {action}"),
            "\"'/my lab/bin/lab-service' {action}\""
        );
        assert_eq!(ini_value("a\"b"), "\"a\\\"b\"");
    }
}
