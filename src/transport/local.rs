//! The local transport: `sh -c` on this machine, in its own process group.

use super::{CommandOutput, RunOptions, TransportError};
use tokio_util::sync::CancellationToken;

pub struct LocalTransport {
    host_name: String,
}

impl LocalTransport {
    pub fn new(host_name: &str) -> LocalTransport {
        LocalTransport {
            host_name: host_name.to_string(),
        }
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
        todo!("transport::local::run")
    }
}
