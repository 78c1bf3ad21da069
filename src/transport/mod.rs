//! How a command or a file reaches a host: the local machine, or ssh; as the login
//! user, or through sudo as another (`ansible_become`).
//!
//! Every transport only knows how to run a shell command (with optional stdin,
//! a timeout and cancellation); file operations are built on top of that in
//! [`files`], so local and ssh hosts, with or without escalation, behave the same.

mod collect;
mod control_dir;
pub mod copy_between;
pub mod deadline;
pub mod error;
pub mod escalation;
pub mod files;
mod host_key;
mod host_vars;
pub mod hosts_failed;
pub mod local;
pub mod output;
pub mod pool;
mod process_group;
pub mod quote;
mod recorded_group;
pub mod run_all;
pub mod secret;
pub mod ssh;
mod stdin_feed;
mod sudo_handshake;
pub mod target;

pub use error::TransportError;
pub use output::CommandOutput;
pub use pool::TransportPool;
pub use quote::shell_quote;
pub use target::{command_timeout, ConnectionTarget, SshTarget};

use escalation::Escalation;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long the first command through sudo on a host (`true`, to learn whether sudo lets
/// the login user through) may take: sudo may consult PAM, LDAP or SSSD first.
const ESCALATION_PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Options for one command.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Kill the command (its whole process group) after this long.
    pub timeout: Option<Duration>,
    /// Bytes written to the command's stdin, which is then closed.
    pub stdin: Option<Vec<u8>>,
}

/// A connected host: run shell commands there.
pub enum Transport {
    Local(local::LocalTransport),
    Ssh(ssh::SshTransport),
}

impl Transport {
    /// Connects to a host (for ssh: starts the multiplexed master connection). With
    /// escalation, sudo is asked once here, so a host where it refuses (a password
    /// needed, a wrong one, no sudoers rule) fails as a whole before any command runs,
    /// and a wrong password is tried once, not once per command.
    pub async fn connect(
        host_name: &str,
        target: &ConnectionTarget,
        cancel: &CancellationToken,
    ) -> Result<Transport, TransportError> {
        let transport = match target {
            ConnectionTarget::Local { escalation } => Transport::Local(
                local::LocalTransport::escalated(host_name, escalation.clone()),
            ),
            ConnectionTarget::Ssh(ssh) => {
                Transport::Ssh(ssh::SshTransport::connect(host_name, ssh, cancel).await?)
            }
        };
        if let Some(escalation) = transport.escalation() {
            let probe = RunOptions {
                timeout: Some(ESCALATION_PROBE_TIMEOUT),
                stdin: None,
            };
            let output = transport.run("true", &probe, cancel).await?;
            if !output.success() {
                return Err(escalation.refusal(host_name, &output.stderr_text(), false));
            }
            tracing::debug!(host = host_name, user = %escalation.user, "sudo lets commands run");
        }
        Ok(transport)
    }

    /// Whom commands become on this host (`ansible_become`), if anyone.
    pub fn escalation(&self) -> Option<&Escalation> {
        match self {
            Transport::Local(local) => local.escalation(),
            Transport::Ssh(ssh) => ssh.escalation(),
        }
    }

    /// The inventory name of the host this transport reaches.
    pub fn host_name(&self) -> &str {
        match self {
            Transport::Local(local) => local.host_name(),
            Transport::Ssh(ssh) => ssh.host_name(),
        }
    }

    /// Runs `command` with `sh -c` on the host. A non-zero exit is not an
    /// error here (it is in the returned output); failing to start, a timeout
    /// and cancellation are. On timeout or cancellation the command's whole
    /// process group is killed on the host before this returns.
    pub async fn run(
        &self,
        command: &str,
        options: &RunOptions,
        cancel: &CancellationToken,
    ) -> Result<CommandOutput, TransportError> {
        match self {
            Transport::Local(local) => local.run(command, options, cancel).await,
            Transport::Ssh(ssh) => ssh.run(command, options, cancel).await,
        }
    }
}
