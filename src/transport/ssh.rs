//! The ssh transport: one multiplexed `openssh` session per host.

use super::{CommandOutput, RunOptions, SshTarget, TransportError};
use tokio_util::sync::CancellationToken;

pub struct SshTransport {
    host_name: String,
}

impl SshTransport {
    pub async fn connect(
        host_name: &str,
        target: &SshTarget,
        cancel: &CancellationToken,
    ) -> Result<SshTransport, TransportError> {
        let _ = (target, cancel);
        let _ = host_name;
        todo!("transport::ssh::connect")
    }

    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    pub async fn run(
        &self,
        command: &str,
        options: &RunOptions,
        cancel: &CancellationToken,
    ) -> Result<CommandOutput, TransportError> {
        let _ = (command, options, cancel);
        todo!("transport::ssh::run")
    }
}
