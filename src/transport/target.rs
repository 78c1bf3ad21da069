//! Where a host is and how to reach it (and whom its commands run as), read from its
//! inventory variables.

use super::escalation::Escalation;
use super::host_vars::HostVars;
use super::TransportError;
use crate::inventory::Host;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// The variables that give ssh a password (ansible/plugins/connection/ssh.py), refused.
const SSH_PASSWORD_VARIABLES: [&str; 3] = [
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
];

/// ssh's connect timeout when the inventory does not set one.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionTarget {
    /// `ansible_connection=local`: run commands on this machine.
    Local {
        /// `ansible_become`: run them through sudo as another user than runbook's own.
        escalation: Option<Escalation>,
    },
    /// `ansible_connection=ssh` (the default).
    Ssh(SshTarget),
}

/// Everything needed to open an ssh session to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// `ansible_host`, else the inventory name.
    pub address: String,
    /// `ansible_port` (default 22).
    pub port: u16,
    /// `ansible_user` / `ansible_ssh_user`, else ssh's own default.
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file`.
    pub key_file: Option<PathBuf>,
    /// `runbook_ssh_known_hosts_file`: a known_hosts file to use instead of the user's.
    pub known_hosts_file: Option<PathBuf>,
    /// Strict host-key checking; `ansible_host_key_checking=false` turns it off.
    pub strict_host_key_checking: bool,
    /// `ansible_ssh_timeout` / `ansible_timeout` (default 10s).
    pub connect_timeout: Duration,
    /// `ansible_become`: run commands through sudo as `ansible_become_user`.
    pub escalation: Option<Escalation>,
}

impl ConnectionTarget {
    /// Reads `ansible_connection`, `ansible_host`, `ansible_port`, ... from a host's variables.
    pub fn from_host(host: &Host) -> Result<ConnectionTarget, TransportError> {
        let vars = HostVars(host);
        // Checked here, where every transport starts, so a bad value stops the run before
        // anything is done on the host rather than at the first command that uses it.
        command_timeout(host)?;
        let connection = vars.text("ansible_connection");
        match connection
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("local") => {
                let me = super::local::current_user();
                let login = me.clone().unwrap_or_else(|| "runbook's user".to_string());
                let escalation = Escalation::from_vars(&vars, me.as_deref(), &login)?;
                return Ok(ConnectionTarget::Local { escalation });
            }
            None | Some("ssh") | Some("smart") => {}
            Some(_) => return Err(vars.invalid("ansible_connection", "`local` or `ssh`")),
        }
        let address = vars
            .text("ansible_host")
            .filter(|address| !address.is_empty())
            .unwrap_or_else(|| host.name.clone());
        let port = match vars.text("ansible_port") {
            None => 22,
            Some(text) => match text.trim().parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(vars.invalid("ansible_port", "a port number from 1 to 65535")),
            },
        };
        // Before anything else is tried: runbook never types a password into ssh.
        if let Some(variable) = SSH_PASSWORD_VARIABLES
            .into_iter()
            .find(|name| vars.text(name).is_some_and(|text| !text.is_empty()))
        {
            return Err(TransportError::SshPassword {
                host: host.name.clone(),
                variable: variable.to_string(),
            });
        }
        let user = vars
            .text("ansible_user")
            .or_else(|| vars.text("ansible_ssh_user"))
            .filter(|user| !user.is_empty());
        let login = user
            .clone()
            .unwrap_or_else(|| "the ssh login user".to_string());
        let escalation = Escalation::from_vars(&vars, user.as_deref(), &login)?;
        let key_file = vars
            .text("ansible_ssh_private_key_file")
            .filter(|path| !path.is_empty())
            .map(|path| expand_home(&path));
        let known_hosts_file = vars
            .text("runbook_ssh_known_hosts_file")
            .filter(|path| !path.is_empty())
            .map(|path| expand_home(&path));
        let strict_host_key_checking = match vars.get("ansible_host_key_checking") {
            None => true,
            Some(_) => vars.boolean("ansible_host_key_checking")?,
        };
        let connect_timeout = match vars.get("ansible_ssh_timeout") {
            Some(_) => vars.seconds_or_duration("ansible_ssh_timeout")?,
            None => match vars.get("ansible_timeout") {
                Some(_) => vars.seconds_or_duration("ansible_timeout")?,
                None => DEFAULT_CONNECT_TIMEOUT,
            },
        };
        Ok(ConnectionTarget::Ssh(SshTarget {
            address,
            port,
            user,
            key_file,
            known_hosts_file,
            strict_host_key_checking,
            connect_timeout,
            escalation,
        }))
    }

    /// A local target without escalation (runbook's own user).
    pub fn local() -> ConnectionTarget {
        ConnectionTarget::Local { escalation: None }
    }

    /// `ansible_connection=local`.
    pub fn is_local(&self) -> bool {
        matches!(self, ConnectionTarget::Local { .. })
    }

    /// Whom commands become on the host, if anyone.
    pub fn escalation(&self) -> Option<&Escalation> {
        match self {
            ConnectionTarget::Local { escalation } => escalation.as_ref(),
            ConnectionTarget::Ssh(ssh) => ssh.escalation.as_ref(),
        }
    }
}

/// `runbook_command_timeout` of a host: how long any one command may run (none by default).
pub fn command_timeout(host: &Host) -> Result<Option<Duration>, TransportError> {
    let vars = HostVars(host);
    // A duration with its unit, as documented: a bare `10` is refused (seconds or minutes?).
    let name = "runbook_command_timeout";
    match vars.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => crate::duration::parse_duration(text)
            .map(Some)
            .map_err(|e| vars.invalid(name, &format!("a duration such as `5m` ({e})"))),
        Some(_) => Err(vars.invalid(name, "a duration with a unit, such as `300s` or `5m`")),
    }
}

/// `~/x` -> `$HOME/x`, as ssh and Ansible read key paths.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(vars: Value) -> Host {
        let vars = match vars {
            Value::Object(map) => map.into_iter().collect(),
            _ => Default::default(),
        };
        Host {
            name: "etcd-1".to_string(),
            vars,
        }
    }

    fn ssh(target: ConnectionTarget) -> SshTarget {
        match target {
            ConnectionTarget::Ssh(ssh) => ssh,
            ConnectionTarget::Local { .. } => panic!("expected an ssh target"),
        }
    }

    #[test]
    fn defaults_to_ssh_on_the_host_name() {
        let target = ssh(ConnectionTarget::from_host(&host(json!({}))).unwrap());
        assert_eq!(
            target,
            SshTarget {
                address: "etcd-1".into(),
                port: 22,
                user: None,
                key_file: None,
                known_hosts_file: None,
                strict_host_key_checking: true,
                connect_timeout: Duration::from_secs(10),
                escalation: None,
            }
        );
    }

    #[test]
    fn reads_strings_numbers_and_booleans_alike() {
        let target = ssh(ConnectionTarget::from_host(&host(json!({
            "ansible_host": "10.0.0.5",
            "ansible_port": "2222",
            "ansible_ssh_user": "cloud-user",
            "ansible_ssh_private_key_file": "/keys/id",
            "ansible_host_key_checking": "no",
            "ansible_ssh_timeout": "30s",
            "runbook_ssh_known_hosts_file": "/keys/known_hosts",
        })))
        .unwrap());
        assert_eq!(target.address, "10.0.0.5");
        assert_eq!(target.port, 2222);
        assert_eq!(target.user.as_deref(), Some("cloud-user"));
        assert_eq!(target.key_file, Some(PathBuf::from("/keys/id")));
        assert_eq!(
            target.known_hosts_file,
            Some(PathBuf::from("/keys/known_hosts"))
        );
        assert!(!target.strict_host_key_checking);
        assert_eq!(target.connect_timeout, Duration::from_secs(30));

        let target = ssh(ConnectionTarget::from_host(&host(json!({
            "ansible_port": 2200,
            "ansible_user": "root",
            "ansible_ssh_user": "ignored",
            "ansible_host_key_checking": false,
            "ansible_ssh_timeout": 5,
        })))
        .unwrap());
        assert_eq!(target.port, 2200);
        assert_eq!(target.user.as_deref(), Some("root"));
        assert!(!target.strict_host_key_checking);
        assert_eq!(target.connect_timeout, Duration::from_secs(5));

        let target = ssh(ConnectionTarget::from_host(&host(
            json!({"ansible_host_key_checking": "True"}),
        ))
        .unwrap());
        assert!(target.strict_host_key_checking);
    }

    #[test]
    fn local_connection() {
        assert_eq!(
            ConnectionTarget::from_host(&host(json!({"ansible_connection": "local"}))).unwrap(),
            ConnectionTarget::local()
        );
    }

    #[test]
    fn bad_values_name_host_variable_and_value() {
        for (vars, variable, value) in [
            (json!({"ansible_port": "abc"}), "ansible_port", "abc"),
            (json!({"ansible_port": 70000}), "ansible_port", "70000"),
            (
                json!({"ansible_connection": "winrm"}),
                "ansible_connection",
                "winrm",
            ),
            (
                json!({"ansible_ssh_timeout": "soon"}),
                "ansible_ssh_timeout",
                "soon",
            ),
            (
                json!({"ansible_host_key_checking": "maybe"}),
                "ansible_host_key_checking",
                "maybe",
            ),
        ] {
            let err = ConnectionTarget::from_host(&host(vars)).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("etcd-1"), "{text}");
            assert!(text.contains(variable), "{text}");
            assert!(text.contains(value), "{text}");
            assert!(matches!(err, TransportError::InvalidVariable { .. }));
        }
    }

    #[test]
    fn command_timeout_is_optional() {
        assert_eq!(command_timeout(&host(json!({}))).unwrap(), None);
        assert_eq!(
            command_timeout(&host(json!({"runbook_command_timeout": "2m"}))).unwrap(),
            Some(Duration::from_secs(120))
        );
        assert!(command_timeout(&host(json!({"runbook_command_timeout": "x"}))).is_err());
    }
}
