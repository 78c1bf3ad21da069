//! Errors from reaching a host or running a command there.

/// Why a command could not run to completion on a host.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
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

/// What was wrong with a host's ssh key.
#[derive(Debug)]
pub struct HostKeyDetail {
    /// "its host key is not in ..." or "its host key changed since ...".
    pub problem: String,
    /// What ssh said.
    pub reason: String,
}
