//! The one table of every inventory variable `runbook` reads, with its default and meaning.
//!
//! A host's effective variables start from these defaults (lowest precedence). A default written
//! as a template, like `{etcd_conf_dir}/ca.crt`, is filled in from the host's other variables
//! after precedence, so overriding `etcd_conf_dir` moves every file under it.

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
    /// Depends on the host's `runbook_etcd_layout`: one value per layout, the first
    /// for `rpm` (also used when the layout is unset).
    PerLayout(&'static [(&'static str, &'static str)]),
}

/// The etcd layouts OpenShift 3.x installs know, by `runbook_etcd_layout`.
pub const ETCD_LAYOUTS: [&str; 3] = ["rpm", "system_container", "embedded"];

impl DefaultValue {
    /// How the default reads in the documentation: `` `22` ``, `` `{etcd_conf_dir}/ca.crt` ``, `none`.
    pub fn doc(&self) -> String {
        match self {
            DefaultValue::None => "none".to_string(),
            DefaultValue::Text(s) | DefaultValue::Template(s) => format!("`{s}`"),
            DefaultValue::Int(n) => format!("`{n}`"),
            DefaultValue::Bool(b) => format!("`{b}`"),
            DefaultValue::PerLayout(values) => values
                .iter()
                .map(|(layout, value)| format!("`{value}` ({layout})"))
                .collect::<Vec<_>>()
                .join(", "),
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

use DefaultValue::{Bool, Int, Template, Text};
use Scope::{AllHosts, Etcd, Masters};

/// Every variable `runbook` reads from an inventory. Keep `docs/inventory.md` in step
/// (a test checks that it lists each one with its default).
#[rustfmt::skip]
pub const VARIABLES: &[VarSpec] = &[
    // How to reach a host.
    var("ansible_connection", Text("ssh"), AllHosts, "How to reach the host: `ssh`, or `local` to run commands on this machine."),
    var("ansible_host", Template("{inventory_hostname}"), AllHosts, "Address (name or IP) to connect to."),
    var("ansible_port", Int(22), AllHosts, "ssh port."),
    var("ansible_user", Template("{ansible_ssh_user}"), AllHosts, "User to log in as; unset means ssh's own default (your ssh config, else your login name)."),
    var("ansible_ssh_user", DefaultValue::None, AllHosts, "Older name of `ansible_user`, used when `ansible_user` is not set."),
    var("ansible_ssh_private_key_file", DefaultValue::None, AllHosts, "Private key file for ssh."),
    var("ansible_host_key_checking", Bool(true), AllHosts, "Check the host's ssh key against known_hosts; `false` accepts any key."),
    var("ansible_ssh_timeout", Int(10), AllHosts, "ssh connect timeout: whole seconds, or a duration such as `10s`."),
    var("runbook_ssh_known_hosts_file", DefaultValue::None, AllHosts, "known_hosts file to use instead of the user's own."),
    var("runbook_command_timeout", DefaultValue::None, AllHosts, "Longest time one remote command may run (a duration such as `5m`); unset means no limit."),
    var("runbook_service_command", DefaultValue::None, AllHosts, "Service control command template with `{action}` and `{service}` (e.g. `/usr/local/bin/svc {action} {service}`); unset means `systemctl {action} {service}`."),
    // etcd members.
    var("etcd_ip", Template("{ansible_host}"), Etcd, "Address other members and clients use to reach this member (peer and client URLs)."),
    var("etcd_hostname", Template("{inventory_hostname}"), Etcd, "The member's name in the cluster (`ETCD_NAME`)."),
    var("etcd_client_port", Int(2379), Etcd, "Client port."),
    var("etcd_peer_port", Int(2380), Etcd, "Peer port."),
    var("etcd_url_scheme", Text("https"), Etcd, "Scheme of client URLs: `https` or `http`."),
    var("etcd_peer_url_scheme", Text("https"), Etcd, "Scheme of peer URLs: `https` or `http`."),
    var("runbook_etcd_layout", Text("rpm"), Etcd, "How etcd is installed: `rpm` (the etcd package), `system_container` (etcd in a runc system container) or `embedded` (inside the master; must first be moved to an external etcd). Sets the defaults of `etcd_data_dir` and `etcd_service`."),
    var("etcd_data_dir", DefaultValue::PerLayout(&[("rpm", "/var/lib/etcd"), ("system_container", "/var/lib/etcd/etcd.etcd"), ("embedded", "/var/lib/origin/openshift.local.etcd")]), Etcd, "etcd's data directory."),
    var("etcd_conf_dir", Text("/etc/etcd"), Etcd, "Directory of etcd's configuration and certificates."),
    var("etcd_conf_file", Template("{etcd_conf_dir}/etcd.conf"), Etcd, "etcd's environment file (`ETCD_*` settings)."),
    var("etcd_ca_file", Template("{etcd_conf_dir}/ca.crt"), Etcd, "CA certificate for client TLS."),
    var("etcd_cert_file", Template("{etcd_conf_dir}/server.crt"), Etcd, "Client-facing certificate (also the client certificate `runbook` presents)."),
    var("etcd_key_file", Template("{etcd_conf_dir}/server.key"), Etcd, "Key of `etcd_cert_file`."),
    var("etcd_peer_ca_file", Template("{etcd_conf_dir}/ca.crt"), Etcd, "CA certificate for peer TLS."),
    var("etcd_peer_cert_file", Template("{etcd_conf_dir}/peer.crt"), Etcd, "Peer certificate."),
    var("etcd_peer_key_file", Template("{etcd_conf_dir}/peer.key"), Etcd, "Key of `etcd_peer_cert_file`."),
    var("etcd_service", DefaultValue::PerLayout(&[("rpm", "etcd"), ("system_container", "etcd_container"), ("embedded", "atomic-openshift-master")]), Etcd, "Name of the etcd service."),
    var("runbook_etcd_tls_insecure_skip_verify", Bool(false), Etcd, "Do NOT check the member's server certificate (`true`/`false`). Off by default; when on, every run logs a warning for each such member. Only for a network you trust, while the CA files are being sorted out."),
    var("runbook_etcd_tunnel", DefaultValue::None, Etcd, "Reach the member's client port through a local port forward over its host's ssh session (`true`/`false`); unset means yes for ssh hosts, no for local hosts."),
    // OpenShift masters.
    var("openshift_master_config_dir", Text("/etc/origin/master"), Masters, "Directory of `master-config.yaml`."),
    var("openshift_service_type", Text("atomic-openshift"), Masters, "Prefix of the master services (`atomic-openshift` or `origin`): `<type>-master-api`, `<type>-master-controllers`."),
    var("runbook_master_services", DefaultValue::None, Masters, "The master services in start order, comma-separated (e.g. `atomic-openshift-master` for a single-service master); unset means `<openshift_service_type>-master-api,<openshift_service_type>-master-controllers`. They are stopped in reverse order."),
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
        DefaultValue::PerLayout(values) => {
            let layout =
                lookup("runbook_etcd_layout", host_name, vars, depth).and_then(|v| value_text(&v));
            let chosen = values
                .iter()
                .find(|(name, _)| Some(*name) == layout.as_deref())
                .or(values.first())?;
            Some(Value::String(chosen.1.to_string()))
        }
    }
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
