//! `runbook lab up|down|status`: the local rehearsal cluster.

use super::{runtime, Failure};
use crate::cli::LabCommand;
use crate::lab::{self, LabOptions};
use crate::report::Reporter;

pub fn lab(command: LabCommand, reporter: Reporter) -> Result<(), Failure> {
    let (runtime, cancel) = runtime::start()
        .map_err(|e| Failure::failed(super::run::RunError::Runtime(e.to_string())))?;
    let result = runtime.block_on(async {
        match command {
            LabCommand::Up {
                dir,
                members,
                tls,
                keys,
                expiring,
                layout,
            } => {
                let options = LabOptions {
                    dir,
                    members: members as usize,
                    tls,
                    keys,
                    expiring,
                    etcd_layout: layout,
                };
                lab::up(&options, &reporter, &cancel.token()).await
            }
            LabCommand::Down { dir } => lab::down(&dir, &reporter).await,
            LabCommand::Status { dir } => lab::status(&dir, &reporter).await,
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => Ok(()),
        Err(error) if cancel.is_cancelled() => Err(Failure::interrupted(error)),
        Err(error) => Err(Failure::failed(error)),
    }
}
