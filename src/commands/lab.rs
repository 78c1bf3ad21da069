//! `runbook lab up|down|status`: the local rehearsal cluster.

use super::{runtime, Failure};
use crate::cli::LabCommand;
use crate::lab::netns;
use crate::lab::state::LabState;
use crate::lab::{self, LabHosts, LabOptions};
use crate::report::Reporter;

pub fn lab(command: LabCommand, reporter: Reporter) -> Result<(), Failure> {
    // A lab of separate hosts is reached from its control namespace (or, with a management
    // network, the master's): this thread moves there before the runtime's threads start,
    // so they start there too.
    let mut netns_lab = None;
    match &command {
        LabCommand::Up {
            dir,
            members,
            keys,
            expiring,
            layout,
            hosts: LabHosts::Netns,
            management_network,
            master_writes,
            ..
        } => {
            if *master_writes {
                return Err(Failure::failed(crate::lab::error::LabError::Options {
                    reason: "--master-writes is for the loopback lab (`--hosts loopback`): a lab of separate hosts runs its masters through their own systemctl".into(),
                }));
            }
            let options = LabOptions {
                dir: dir.clone(),
                members: *members as usize,
                // Always TLS, as openshift-ansible installs etcd.
                tls: true,
                keys: *keys,
                expiring: *expiring,
                etcd_layout: *layout,
                master_writes: false,
            };
            let (lab_layout, state) =
                netns::up::prepare(&options, *management_network).map_err(Failure::failed)?;
            enter_tools(&state)?;
            netns_lab = Some((lab_layout, state));
        }
        LabCommand::Up {
            management_network: true,
            ..
        } => {
            return Err(Failure::failed(crate::lab::error::LabError::Options {
                reason: "--management-network needs a lab of separate hosts: add `--hosts netns`"
                    .into(),
            }));
        }
        LabCommand::Exec { dir, on, command } => {
            return Err(Failure::failed(netns::exec::exec(
                dir,
                on.as_deref(),
                command,
            )));
        }
        LabCommand::Status { dir } => {
            if let Ok((_, _, state)) = LabState::open(dir) {
                enter_tools(&state)?;
            }
        }
        LabCommand::Down { dir } => {
            if let Ok((_, layout, state)) = LabState::open(dir) {
                if state.network.is_some() {
                    return down_netns(&layout, &state, &reporter);
                }
            }
        }
        LabCommand::Up { .. } => {}
    }
    let (runtime, cancel) = runtime::start()
        .map_err(|e| Failure::failed(super::run::RunError::Runtime(e.to_string())))?;
    let result = runtime.block_on(async {
        match command {
            LabCommand::Up { .. } if netns_lab.is_some() => {
                let (layout, state) = netns_lab.take().expect("prepared above");
                netns::up::build(&layout, state, &reporter, &cancel.token()).await
            }
            LabCommand::Up {
                dir,
                members,
                tls,
                keys,
                expiring,
                layout,
                hosts: _,
                management_network: _,
                master_writes,
            } => {
                let options = LabOptions {
                    dir,
                    members: members as usize,
                    tls,
                    keys,
                    expiring,
                    etcd_layout: layout,
                    master_writes,
                };
                lab::up(&options, &reporter, &cancel.token()).await
            }
            LabCommand::Down { dir } => lab::down(&dir, &reporter).await,
            LabCommand::Status { dir } => lab::status(&dir, &reporter).await,
            LabCommand::Exec { .. } => unreachable!("exec replaces the process above"),
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => Ok(()),
        Err(error) if cancel.is_cancelled() => Err(Failure::interrupted(error)),
        Err(error) => Err(Failure::failed(error)),
    }
}

fn enter_tools(state: &LabState) -> Result<(), Failure> {
    match &state.network {
        Some(network) => network.enter_tools().map_err(Failure::failed),
        None => Ok(()),
    }
}

fn down_netns(
    layout: &crate::lab::layout::LabLayout,
    state: &LabState,
    reporter: &Reporter,
) -> Result<(), Failure> {
    let stopped = netns::down::down(layout, state).map_err(Failure::failed)?;
    reporter.result(
        &format!(
            "lab in {} is down: stopped {} process(es), removed {} network namespace(s) and the directory",
            layout.dir.display(),
            stopped.pids.len(),
            stopped.namespaces
        ),
        serde_json::json!({"dir": layout.dir, "stopped_pids": stopped.pids, "removed": true}),
    );
    Ok(())
}
