//! One command on many hosts at once: each host connects and runs on its own (so one slow
//! ssh connection delays no other), and the results come back in the order given.

use super::{CommandOutput, RunOptions, Transport, TransportError};
use futures_util::future::join_all;
use std::future::Future;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs `command` through each job's transport (once its connection is made) with its options.
pub async fn run_all<Connect>(
    jobs: Vec<(Connect, RunOptions)>,
    command: &str,
    cancel: &CancellationToken,
) -> Vec<Result<CommandOutput, TransportError>>
where
    Connect: Future<Output = Result<Arc<Transport>, TransportError>>,
{
    join_all(jobs.into_iter().map(|(connect, options)| async move {
        let transport = connect.await?;
        transport.run(command, &options, cancel).await
    }))
    .await
}
