//! Errors from reaching a host or running a command there.

/// Why a command could not run to completion on a host.
///
/// `Clone`, so the connection pool can hand one failed connection's error to every later
/// caller for that host.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
pub enum TransportError {
    #[error("cannot connect to {host} over ssh ({address}): {reason}")]
    #[diagnostic(
        code(runbook::transport::connect),
        help("check ansible_host, ansible_port, ansible_user and ansible_ssh_private_key_file for {host} in the inventory, and that `ssh` to it works")
    )]
    Connect {
        host: String,
        address: String,
        reason: String,
    },
    #[error("refused to connect to {host} over ssh ({address}): {}", .detail.problem)]
    #[diagnostic(code(runbook::transport::host_key))]
    HostKey {
        host: String,
        address: String,
        #[help]
        help: String,
        detail: Box<HostKeyDetail>,
    },
    #[error("cannot start `{command}` on {host}: {reason}")]
    #[diagnostic(code(runbook::transport::spawn))]
    Spawn {
        host: String,
        command: String,
        reason: String,
    },
    #[error("`{command}` on {host} did not finish within {timeout}; it was killed")]
    #[diagnostic(
        code(runbook::transport::timeout),
        help("raise the timeout (the `timeout` option, or runbook_command_timeout in the inventory) if the command needs longer")
    )]
    Timeout {
        host: String,
        command: String,
        timeout: String,
    },
    #[error("`{command}` on {host} was interrupted; it was killed")]
    #[diagnostic(code(runbook::transport::interrupted))]
    Interrupted { host: String, command: String },
    #[error("lost the connection to {host} while running `{command}`: {reason}")]
    #[diagnostic(
        code(runbook::transport::io),
        help("check the network path to {host}; the command may or may not have finished there")
    )]
    Io {
        host: String,
        command: String,
        reason: String,
    },
    #[error("{host}: {variable} is set, but runbook does not log in with passwords")]
    #[diagnostic(
        code(runbook::transport::ssh_password),
        help("log in to {host} with a key instead: set ansible_ssh_private_key_file for {host} (its public key in ~/.ssh/authorized_keys of ansible_user there), or load the key into an ssh agent (`ssh-add`); then remove {variable} from the inventory")
    )]
    SshPassword { host: String, variable: String },
    #[error("{host}: ansible_become_method={method} is not supported: runbook becomes another user with sudo only")]
    #[diagnostic(
        code(runbook::transport::become_method),
        help("set ansible_become_method=sudo for {host} (the default) and give the login user a sudoers rule there, or log in as the user the commands must run as")
    )]
    BecomeMethod { host: String, method: String },
    #[error("sudo on {host} needs a password for {login} to run commands as {user}, and ansible_become_pass is not set")]
    #[diagnostic(
        code(runbook::transport::become_password),
        help("set ansible_become_pass for {host} (in the inventory's host or group vars, or with -e ansible_become_pass=...: visible to other local users in `ps`), or give {login} a NOPASSWD rule in sudoers on {host} (e.g. `{login} ALL=(ALL) NOPASSWD: ALL` in /etc/sudoers.d/)")
    )]
    BecomePassword {
        host: String,
        login: String,
        user: String,
    },
    #[error("sudo on {host} did not accept ansible_become_pass for {login}: {said}")]
    #[diagnostic(
        code(runbook::transport::become_wrong_password),
        help("fix ansible_become_pass for {host}: sudo asks for the password of the login user ({login}), not of {user}; runbook tried it once, so a lockout policy on {host} is not triggered by retries")
    )]
    BecomeWrongPassword {
        host: String,
        login: String,
        user: String,
        said: String,
    },
    #[error("sudo on {host} refused to run commands as {} for {}: {}", .detail.user, .detail.login, .detail.said)]
    #[diagnostic(code(runbook::transport::become_refused))]
    BecomeRefused {
        host: String,
        #[help]
        help: String,
        detail: Box<BecomeRefusal>,
    },
    #[error("{host}: inventory variable {variable} = {value} is not valid: expected {expected}")]
    #[diagnostic(
        code(runbook::transport::variable),
        help("fix {variable} for {host} in the inventory (or the -e override): it must be {expected}")
    )]
    InvalidVariable {
        host: String,
        variable: String,
        value: String,
        expected: String,
    },
}

impl TransportError {
    /// Whether this says how the host or the inventory is set up (a bad variable, a
    /// refused ssh password, sudo refusing), so that every command on the host would fail
    /// the same way: the operator's to fix, never a sign of how etcd is doing there.
    pub fn is_setup_problem(&self) -> bool {
        matches!(
            self,
            TransportError::InvalidVariable { .. }
                | TransportError::SshPassword { .. }
                | TransportError::BecomeMethod { .. }
                | TransportError::BecomePassword { .. }
                | TransportError::BecomeWrongPassword { .. }
                | TransportError::BecomeRefused { .. }
        )
    }
}

/// Who sudo refused, and what it said.
#[derive(Debug, Clone)]
pub struct BecomeRefusal {
    /// The login user that asked.
    pub login: String,
    /// The user it asked to become.
    pub user: String,
    /// sudo's own words.
    pub said: String,
}

/// What was wrong with a host's ssh key.
#[derive(Debug, Clone)]
pub struct HostKeyDetail {
    /// "its host key is not in ..." or "its host key changed since ...".
    pub problem: String,
    /// What ssh said.
    pub reason: String,
}
