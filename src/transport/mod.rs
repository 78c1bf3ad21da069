//! How a command or a file reaches a host: the local machine, or ssh.
//!
//! Every transport only knows how to run a shell command (with optional stdin,
//! a timeout and cancellation); file operations are built on top of that in
//! [`files`], so local and ssh hosts behave the same.

mod collect;
mod control_dir;
pub mod deadline;
pub mod error;
pub mod files;
mod host_key;
pub mod local;
pub mod output;
pub mod pool;
mod process_group;
pub mod quote;
pub mod run_all;
pub mod ssh;
pub mod target;

pub use error::TransportError;
pub use output::CommandOutput;
pub use pool::TransportPool;
pub use quote::shell_quote;
pub use target::{command_timeout, ConnectionTarget, SshTarget};

use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
    /// Connects to a host (for ssh: starts the multiplexed master connection).
    pub async fn connect(
        host_name: &str,
        target: &ConnectionTarget,
        cancel: &CancellationToken,
    ) -> Result<Transport, TransportError> {
        match target {
            ConnectionTarget::Local => Ok(Transport::Local(local::LocalTransport::new(host_name))),
            ConnectionTarget::Ssh(ssh) => Ok(Transport::Ssh(
                ssh::SshTransport::connect(host_name, ssh, cancel).await?,
            )),
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
