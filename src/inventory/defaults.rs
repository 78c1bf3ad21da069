//! The one table of every inventory variable `runbook` reads, with its default and meaning.
//!
//! A host's effective variables start from these defaults (lowest precedence). A default written
//! as a template, like `{etcd_conf_dir}/ca.crt`, is filled in from the host's other variables
//! after precedence, so overriding `etcd_conf_dir` moves every file under it.

use super::release;
use super::value::value_text;
use super::VarMap;
use serde_json::Value;

/// A variable's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// No default: unset unless the inventory sets it.
    None,
    Text(&'static str),
    Int(i64),
    Bool(bool),
    /// Filled in from other variables: `{name}` is replaced by that variable's value,
    /// `{inventory_hostname}` by the host's inventory name. If a referenced variable is unset,
    /// the variable stays unset. A template that is only one `{name}` copies that value as is.
    Template(&'static str),
    /// The first of these templates whose variables are all set: an alias chain, as
    /// openshift-ansible's `a | default(b)`.
    FirstOf(&'static [&'static str]),
    /// Computed from other variables by one of openshift-ansible's rules.
    Derived(Rule),
}

/// The openshift-ansible rules behind [`DefaultValue::Derived`] defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `runbook_etcd_layout` from `openshift_use_etcd_system_container` and `containerized`
    /// (`playbooks/common/openshift-cluster/initialize_facts.yml`, `l_etcd_runtime`).
    EtcdLayout,
    /// `etcd_data_dir` from the layout and the release (`roles/etcd/defaults/main.yaml`,
    /// 3.6's `roles/etcd_common/defaults/main.yml`).
    EtcdDataDir,
    /// `etcd_service` from the layout (`roles/etcd/defaults/main.yaml`).
    EtcdService,
    /// `runbook_etcdctl_command` from the layout (`r_etcd_common_etcdctl_command`).
    EtcdctlCommand,
    /// `openshift_service_type` from the deployment type
    /// (`roles/openshift_facts/library/openshift_facts.py`).
    ServiceType,
    /// `etcd_client_port`: the master's `openshift_master_etcd_port` for embedded etcd
    /// (`openshift_facts.py`: `etcd_port` 4001), else 2379.
    EtcdClientPort,
    /// `etcd_peer_port`: 7001 for embedded etcd (`master.yaml.v1.j2`'s `peerAddress`),
    /// else 2380.
    EtcdPeerPort,
    /// The TLS files runbook presents as a client: the master's etcd client certificate
    /// for embedded etcd (`master.yaml.v1.j2`'s `etcdClientInfo`), else the member's peer
    /// certificate, as openshift-ansible's etcdctl calls do.
    EtcdPeerCaFile,
    EtcdPeerCertFile,
    EtcdPeerKeyFile,
}

impl Rule {
    /// How the rule reads in the documentation's default column.
    pub fn doc(self) -> &'static str {
        match self {
            Rule::EtcdLayout => "`embedded` on the masters of an inventory with no `[etcd]` hosts; else `runc` if `openshift_use_etcd_system_container` is true, else `docker` if `containerized` (or `openshift_is_containerized`) is true, else `rpm`",
            Rule::EtcdDataDir => "`/var/lib/etcd` (rpm, docker; runc from 3.7), `/var/lib/etcd/etcd.etcd` (runc before 3.7), `{openshift_data_dir}/openshift.local.etcd` (embedded)",
            Rule::EtcdService => "`etcd` (rpm, runc), `etcd_container` (docker), the master service that runs the API (embedded: `{openshift_service_type}-master` before 3.7, `{openshift_service_type}-master-api` from 3.7)",
            Rule::EtcdctlCommand => "`etcdctl` (rpm, embedded), `docker exec -e ETCDCTL_API etcd_container etcdctl` (docker), `runc exec --env ETCDCTL_API=$ETCDCTL_API etcd etcdctl` (runc)",
            Rule::ServiceType => "`origin` if `openshift_deployment_type` is `origin`, `openshift` if it is `enterprise`, else `atomic-openshift`",
            Rule::EtcdClientPort => "`{openshift_master_etcd_port}` (embedded), else `2379`",
            Rule::EtcdPeerPort => "`7001` (embedded), else `2380`",
            Rule::EtcdPeerCaFile => "`{openshift_master_config_dir}/ca-bundle.crt` (embedded), else `{etcd_conf_dir}/ca.crt`",
            Rule::EtcdPeerCertFile => "`{openshift_master_config_dir}/master.etcd-client.crt` (embedded), else `{etcd_conf_dir}/peer.crt`",
            Rule::EtcdPeerKeyFile => "`{openshift_master_config_dir}/master.etcd-client.key` (embedded), else `{etcd_conf_dir}/peer.key`",
        }
    }
}

/// The etcd layouts OpenShift 3.x installs know, by `runbook_etcd_layout`: the etcd package
/// (openshift-ansible's `host` runtime), its `docker` and `runc` runtimes, and etcd inside the
/// master. `system_container` is read as `runc`.
pub const ETCD_LAYOUTS: [&str; 4] = ["rpm", "docker", "runc", "embedded"];

impl DefaultValue {
    /// How the default reads in the documentation: `` `22` ``, `` `{etcd_conf_dir}/ca.crt` ``, `none`.
    pub fn doc(&self) -> String {
        match self {
            DefaultValue::None => "none".to_string(),
            DefaultValue::Text(s) | DefaultValue::Template(s) => format!("`{s}`"),
            DefaultValue::Int(n) => format!("`{n}`"),
            DefaultValue::Bool(b) => format!("`{b}`"),
            DefaultValue::FirstOf(templates) => templates
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", else "),
            DefaultValue::Derived(rule) => rule.doc().to_string(),
        }
    }
}

/// Which hosts a variable matters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every host `runbook` connects to.
    AllHosts,
    /// Hosts of the `etcd` group.
    Etcd,
    /// Hosts of the `masters` group.
    Masters,
}

impl Scope {
    pub fn doc(&self) -> &'static str {
        match self {
            Scope::AllHosts => "every host",
            Scope::Etcd => "etcd",
            Scope::Masters => "masters",
        }
    }
}

/// One inventory variable `runbook` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSpec {
    pub name: &'static str,
    pub default: DefaultValue,
    pub scope: Scope,
    pub description: &'static str,
}

const fn var(
    name: &'static str,
    default: DefaultValue,
    scope: Scope,
    description: &'static str,
) -> VarSpec {
    VarSpec {
        name,
        default,
        scope,
        description,
    }
}

use DefaultValue::{Bool, Derived, FirstOf, Int, Template, Text};
use Scope::{AllHosts, Etcd, Masters};

/// Every variable `runbook` reads from an inventory. Keep `docs/inventory.md` in step
/// (a test checks that it lists each one with its default).
#[rustfmt::skip]
pub const VARIABLES: &[VarSpec] = &[
    // How to reach a host.
    var("ansible_connection", Text("ssh"), AllHosts, "How to reach the host: `ssh`, or `local` to run commands on this machine."),
    var("ansible_host", FirstOf(&["{ansible_ssh_host}", "{inventory_hostname}"]), AllHosts, "Address (name or IP) to connect to."),
    var("ansible_ssh_host", DefaultValue::None, AllHosts, "Older name of `ansible_host` (vagrant inventories use it), used when `ansible_host` is not set."),
    var("ansible_port", Int(22), AllHosts, "ssh port."),
    var("ansible_user", Template("{ansible_ssh_user}"), AllHosts, "User to log in as; unset means ssh's own default (your ssh config, else your login name)."),
    var("ansible_ssh_user", DefaultValue::None, AllHosts, "Older name of `ansible_user`, used when `ansible_user` is not set."),
    var("ansible_ssh_private_key_file", DefaultValue::None, AllHosts, "Private key file for ssh."),
    var("ansible_host_key_checking", Bool(true), AllHosts, "Check the host's ssh key against known_hosts; `false` accepts any key."),
    var("ansible_ssh_timeout", Int(10), AllHosts, "ssh connect timeout: whole seconds, or a duration such as `10s`."),
    var("runbook_ssh_known_hosts_file", DefaultValue::None, AllHosts, "known_hosts file to use instead of the user's own."),
    var("runbook_command_timeout", DefaultValue::None, AllHosts, "Longest time one remote command may run (a duration such as `5m`); unset means no limit."),
    var("runbook_service_command", DefaultValue::None, AllHosts, "Service control command template with `{action}` and `{service}` (e.g. `/usr/local/bin/svc {action} {service}`); unset means `systemctl {action} {service}`."),
    // Privilege escalation.
    var("ansible_become", Bool(false), AllHosts, "Run every command and file operation on the host through `sudo` as `ansible_become_user` (`true`/`false`). The older `ansible_sudo` is not read (nor by current Ansible); a warning says so."),
    var("ansible_become_method", Text("sudo"), AllHosts, "How to become `ansible_become_user`: only `sudo`; any other method (`su`, `pbrun`, ...) is refused before connecting."),
    var("ansible_become_user", Text("root"), AllHosts, "The user commands run as with `ansible_become` (older name: `ansible_sudo_user`). Nothing is escalated when it is the login user."),
    var("ansible_become_pass", DefaultValue::None, AllHosts, "The login user's password for sudo (also `ansible_become_password`, `ansible_sudo_pass`), written to sudo's stdin when it asks (`sudo -S`); never in a process's arguments, a log, the journal or a report. Unset means sudo must not ask (`sudo -n`, a NOPASSWD rule)."),
    // What openshift-ansible knows a host by, and which OpenShift it runs.
    var("openshift_ip", DefaultValue::None, AllHosts, "The host's IP on the cluster network (openshift-ansible's `openshift.common.ip`, whose own fallback, the host's default IPv4, runbook does not gather: set it where the cluster network is not the address runbook connects to)."),
    var("openshift_hostname", DefaultValue::None, AllHosts, "The host's name in the cluster (openshift-ansible's `openshift.common.hostname`)."),
    var("openshift_release", DefaultValue::None, AllHosts, "The OpenShift release (`3.7`, `v3.6`), else read from `openshift_image_tag` (`v3.7.23`) or `openshift_pkg_version` (`-3.7.23`); unknown means 3.7 or later. Quote it in INI: unquoted `3.10` is the number 3.1."),
    var("openshift_deployment_type", Template("{deployment_type}"), AllHosts, "`origin` or `openshift-enterprise` (older inventories: `deployment_type`)."),
    var("deployment_type", DefaultValue::None, AllHosts, "Older name of `openshift_deployment_type`."),
    // etcd members.
    var("etcd_ip", FirstOf(&["{openshift_ip}", "{ansible_host}"]), Etcd, "The member's address on the cluster network: where it listens and what its certificates are issued for. A running member's own client and peer URLs (`member list`) take precedence (see \"The cluster is the truth\")."),
    var("etcd_hostname", FirstOf(&["{openshift_hostname}", "{inventory_hostname}"]), Etcd, "The member's name (`ETCD_NAME`, the certificate CN). A running member's own name takes precedence."),
    var("etcd_client_port", Derived(Rule::EtcdClientPort), Etcd, "Client port."),
    var("etcd_peer_port", Derived(Rule::EtcdPeerPort), Etcd, "Peer port."),
    var("etcd_url_scheme", Text("https"), Etcd, "Scheme of client URLs: `https` or `http`."),
    var("etcd_peer_url_scheme", Text("https"), Etcd, "Scheme of peer URLs: `https` or `http`."),
    var("containerized", DefaultValue::None, Etcd, "openshift-ansible's containerized install (`true`/`false`): etcd runs in docker as `etcd_container`."),
    var("openshift_use_etcd_system_container", Template("{openshift_use_system_containers}"), Etcd, "etcd runs as a runc system container (`true`/`false`)."),
    var("openshift_use_system_containers", DefaultValue::None, Etcd, "Every component runs as a system container: the default of `openshift_use_etcd_system_container`."),
    var("runbook_etcd_layout", Derived(Rule::EtcdLayout), Etcd, "How etcd is installed: `rpm` (the etcd package), `docker` (containerized), `runc` (system container; `system_container` is read as `runc`) or `embedded` (inside the master: the masters of an inventory with no `[etcd]` hosts, as openshift-ansible reads it). Sets the defaults of `etcd_data_dir`, `etcd_service`, `runbook_etcdctl_command`, the ports and the client TLS files."),
    var("etcd_data_dir", Derived(Rule::EtcdDataDir), Etcd, "etcd's data directory on the host. A member's `ETCD_DATA_DIR` in its `etcd.conf` takes precedence."),
    var("etcd_conf_dir", Text("/etc/etcd"), Etcd, "Directory of etcd's configuration and certificates."),
    var("etcd_conf_file", Template("{etcd_conf_dir}/etcd.conf"), Etcd, "etcd's environment file (`ETCD_*` settings)."),
    var("etcd_ca_file", Template("{etcd_conf_dir}/ca.crt"), Etcd, "CA certificate for client TLS."),
    var("etcd_ca_dir", Template("{etcd_conf_dir}/ca"), Etcd, "Where the etcd CA lives on the first etcd host (openshift-ansible's `etcd_ca_dir`): `ca.crt`, `ca.key` and the `openssl ca` files it issues the members' and masters' certificates with."),
    var("etcd_cert_file", Template("{etcd_conf_dir}/server.crt"), Etcd, "The member's serving certificate (openshift-ansible issues it for server authentication only)."),
    var("etcd_key_file", Template("{etcd_conf_dir}/server.key"), Etcd, "Key of `etcd_cert_file`."),
    var("etcd_peer_ca_file", Derived(Rule::EtcdPeerCaFile), Etcd, "CA certificate for peer TLS."),
    var("etcd_peer_cert_file", Derived(Rule::EtcdPeerCertFile), Etcd, "Peer certificate; also the client certificate `runbook` presents to the member, as openshift-ansible's own `etcdctl` calls do."),
    var("etcd_peer_key_file", Derived(Rule::EtcdPeerKeyFile), Etcd, "Key of `etcd_peer_cert_file`."),
    var("etcd_service", Derived(Rule::EtcdService), Etcd, "Name of the etcd service."),
    var("runbook_etcdctl_command", Derived(Rule::EtcdctlCommand), Etcd, "How `etcdctl` runs on the member's host while etcd runs (backups), as openshift-ansible's `r_etcd_common_etcdctl_command`; `ETCDCTL_API` is exported first. `etcdctl migrate` needs etcd stopped, so it runs the host's own `etcdctl`, as openshift-ansible does."),
    var("runbook_etcd_tls_insecure_skip_verify", Bool(false), Etcd, "Do NOT check the member's server certificate (`true`/`false`). Off by default; when on, every run logs a warning for each such member. Only for a network you trust, while the CA files are being sorted out."),
    var("runbook_outage", Text("minimal"), AllHosts, "The order of `v2-to-v3.rhai`: `minimal` restarts the masters on etcd3 as soon as the migrated first member is verified, and joins the other members, restores TTLs and checks the members' hashes with the API up (a window with one member, covered by the backups); `classic` is the documented order, every member rebuilt before the masters return."),
    var("runbook_etcd_tunnel", DefaultValue::None, Etcd, "Reach the member's client port through a local port forward over its host's ssh session (`true`/`false`); unset means yes for ssh hosts, no for local hosts."),
    // OpenShift masters.
    var("openshift_master_config_dir", Text("/etc/origin/master"), Masters, "Directory of `master-config.yaml`."),
    var("openshift_data_dir", Text("/var/lib/origin"), Masters, "The master's data directory; embedded etcd keeps its data in `openshift.local.etcd` under it."),
    var("openshift_master_etcd_port", Int(4001), Masters, "Client port of etcd embedded in the master."),
    var("openshift_service_type", Derived(Rule::ServiceType), Masters, "Prefix of the master services: `atomic-openshift`, `origin` or `openshift`."),
    var("openshift_master_cluster_method", DefaultValue::None, Masters, "`native` for HA masters with separate API and controllers services (before 3.7, the only way to get them)."),
    var("openshift_master_ha", DefaultValue::None, Masters, "The masters are HA (`true`/`false`); unset means more than one host in `[masters]`."),
    var("runbook_master_services", DefaultValue::None, Masters, "The master services in start order, comma-separated (e.g. `origin-master`); unset means `<openshift_service_type>-master-api,<openshift_service_type>-master-controllers`, or before 3.7, unless the masters are HA with `openshift_master_cluster_method=native`, the one service `<openshift_service_type>-master`, as openshift-ansible installs them. They are stopped in reverse order."),
];

/// The table entry for `name`.
pub fn spec(name: &str) -> Option<&'static VarSpec> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// Adds the default of every table variable the host does not set. `vars` already holds the
/// host's variables after precedence; templates are filled in from them.
pub fn apply(host_name: &str, vars: &mut VarMap) {
    let mut added = Vec::new();
    for spec in VARIABLES {
        if vars.contains_key(spec.name) {
            continue;
        }
        if let Some(value) = default_of(spec, host_name, vars, 0) {
            added.push((spec.name, value));
        }
    }
    for (name, value) in added {
        vars.insert(name.to_string(), value);
    }
}

/// Templates nest only a few levels (`etcd_ip` -> `ansible_host` -> the host name).
const MAX_DEPTH: usize = 8;

fn default_of(spec: &VarSpec, host_name: &str, vars: &VarMap, depth: usize) -> Option<Value> {
    match spec.default {
        DefaultValue::None => None,
        DefaultValue::Text(s) => Some(Value::String(s.to_string())),
        DefaultValue::Int(n) => Some(Value::from(n)),
        DefaultValue::Bool(b) => Some(Value::Bool(b)),
        DefaultValue::Template(t) => fill(t, host_name, vars, depth),
        DefaultValue::FirstOf(templates) => templates
            .iter()
            .find_map(|t| fill(t, host_name, vars, depth)),
        DefaultValue::Derived(rule) => {
            let get = |name: &str| lookup(name, host_name, vars, depth);
            derive(rule, &get).map(Value::String)
        }
    }
}

/// A variable as a boolean the way openshift-ansible's `| bool` filter reads it.
fn truthy(value: Option<Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => b,
        Some(Value::Number(n)) => n.as_f64() == Some(1.0),
        Some(Value::String(s)) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "on" | "1" | "y"
        ),
        _ => false,
    }
}

/// The layout a host's variables name, with `system_container` read as `runc`.
fn layout(get: &dyn Fn(&str) -> Option<Value>) -> String {
    let named = get("runbook_etcd_layout").and_then(|v| value_text(&v));
    match named.as_deref() {
        Some("system_container") => "runc".to_string(),
        Some(other) => other.to_string(),
        None => "rpm".to_string(),
    }
}

fn derive(rule: Rule, get: &dyn Fn(&str) -> Option<Value>) -> Option<String> {
    let text = |name: &str| get(name).and_then(|v| value_text(&v));
    let value = match rule {
        Rule::EtcdLayout => {
            if truthy(get("openshift_use_etcd_system_container")) {
                "runc"
            } else if truthy(get("containerized")) || truthy(get("openshift_is_containerized")) {
                "docker"
            } else {
                "rpm"
            }
        }
        .to_string(),
        Rule::EtcdDataDir => match layout(get).as_str() {
            "runc" if release::of(&text).is_some_and(|r| r < (3, 7)) => {
                "/var/lib/etcd/etcd.etcd".to_string()
            }
            "embedded" => format!(
                "{}/openshift.local.etcd",
                text("openshift_data_dir")?.trim_end_matches('/')
            ),
            _ => "/var/lib/etcd".to_string(),
        },
        Rule::EtcdService => match layout(get).as_str() {
            "docker" => "etcd_container".to_string(),
            "embedded" if release::of(&text).is_some_and(|r| r < (3, 7)) => {
                format!("{}-master", text("openshift_service_type")?)
            }
            "embedded" => format!("{}-master-api", text("openshift_service_type")?),
            _ => "etcd".to_string(),
        },
        Rule::EtcdctlCommand => match layout(get).as_str() {
            "docker" => "docker exec -e ETCDCTL_API etcd_container etcdctl".to_string(),
            "runc" => "runc exec --env ETCDCTL_API=$ETCDCTL_API etcd etcdctl".to_string(),
            _ => "etcdctl".to_string(),
        },
        Rule::EtcdClientPort => match layout(get).as_str() {
            "embedded" => text("openshift_master_etcd_port")?,
            _ => "2379".to_string(),
        },
        Rule::EtcdPeerPort => match layout(get).as_str() {
            "embedded" => "7001".to_string(),
            _ => "2380".to_string(),
        },
        Rule::EtcdPeerCaFile | Rule::EtcdPeerCertFile | Rule::EtcdPeerKeyFile => {
            let (master_file, etcd_file) = match rule {
                Rule::EtcdPeerCaFile => ("ca-bundle.crt", "ca.crt"),
                Rule::EtcdPeerCertFile => ("master.etcd-client.crt", "peer.crt"),
                _ => ("master.etcd-client.key", "peer.key"),
            };
            let (dir, file) = match layout(get).as_str() {
                "embedded" => (text("openshift_master_config_dir")?, master_file),
                _ => (text("etcd_conf_dir")?, etcd_file),
            };
            format!("{}/{file}", dir.trim_end_matches('/'))
        }
        Rule::ServiceType => match text("openshift_deployment_type").as_deref() {
            Some("origin") => "origin",
            Some("enterprise") => "openshift",
            _ => "atomic-openshift",
        }
        .to_string(),
    };
    Some(value)
}

/// The value of `name` for a template: the host's own, else its default.
fn lookup(name: &str, host_name: &str, vars: &VarMap, depth: usize) -> Option<Value> {
    if name == "inventory_hostname" {
        return Some(Value::String(host_name.to_string()));
    }
    if let Some(v) = vars.get(name) {
        return Some(v.clone());
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    default_of(spec(name)?, host_name, vars, depth + 1)
}

fn fill(template: &str, host_name: &str, vars: &VarMap, depth: usize) -> Option<Value> {
    let refs = references(template);
    if let [only] = refs.as_slice() {
        if template == format!("{{{only}}}") {
            return lookup(only, host_name, vars, depth).filter(|v| !v.is_null());
        }
    }
    let mut out = template.to_string();
    for name in refs {
        let value = lookup(name, host_name, vars, depth)?;
        out = out.replace(&format!("{{{name}}}"), &value_text(&value)?);
    }
    Some(Value::String(out))
}

/// The `{name}` placeholders of a template.
pub fn references(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_unique_and_templates_refer_to_known_names() {
        for (i, v) in VARIABLES.iter().enumerate() {
            assert!(
                VARIABLES[i + 1..].iter().all(|w| w.name != v.name),
                "{} twice",
                v.name
            );
            if let DefaultValue::Template(t) = v.default {
                for r in references(t) {
                    assert!(
                        r == "inventory_hostname" || spec(r).is_some(),
                        "{} refers to unknown {r}",
                        v.name
                    );
                }
            }
        }
    }

    #[test]
    fn derived_defaults_follow_other_vars() {
        let mut vars = VarMap::new();
        vars.insert("etcd_conf_dir".into(), json!("/srv/etcd"));
        vars.insert("ansible_host".into(), json!("10.0.0.5"));
        apply("etcd-1", &mut vars);
        assert_eq!(vars["etcd_ca_file"], json!("/srv/etcd/ca.crt"));
        assert_eq!(vars["etcd_ip"], json!("10.0.0.5"));
        assert_eq!(vars["etcd_hostname"], json!("etcd-1"));
        assert_eq!(vars["ansible_port"], json!(22));
        assert!(!vars.contains_key("ansible_user"));
        assert!(!vars.contains_key("runbook_service_command"));
    }

    #[test]
    fn ansible_ssh_user_is_the_fallback_for_ansible_user() {
        let mut vars = VarMap::new();
        vars.insert("ansible_ssh_user".into(), json!("root"));
        apply("h", &mut vars);
        assert_eq!(vars["ansible_user"], json!("root"));
        assert_eq!(vars["ansible_host"], json!("h"));
        assert_eq!(vars["etcd_ip"], json!("h"));
    }
}
