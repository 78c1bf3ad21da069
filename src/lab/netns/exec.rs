//! `runbook lab exec --dir DIR -- CMD`: runs a command in the lab's control namespace, where
//! the hosts are reached at their addresses and names (the lab's `/etc/hosts`), as `runbook`
//! on an operator's workstation reaches a real cluster; `--on HOST` runs it in a host's
//! network namespace instead.

use crate::lab::error::LabError;
use crate::lab::fsutil::write_file;
use crate::lab::layout::LabLayout;
use crate::lab::state::LabState;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The control side's `/etc/hosts`, `DIR/control/hosts`.
pub fn hosts_file(layout: &LabLayout) -> PathBuf {
    layout.dir.join("control/hosts")
}

/// Writes the control side's files.
pub fn prepare(layout: &LabLayout, state: &LabState) -> Result<(), LabError> {
    if let Some(network) = &state.network {
        write_file(&hosts_file(layout), network.hosts_file().as_bytes())?;
    }
    Ok(())
}

/// Replaces this process with `command` in the control namespace, or the network namespace
/// of host `on`; returns only on failure.
pub fn exec(dir: &Path, on: Option<&str>, command: &[String]) -> LabError {
    let (_, layout, state) = match LabState::open(dir) {
        Ok(opened) => opened,
        Err(error) => return error,
    };
    let Some(network) = &state.network else {
        return LabError::Options {
            reason: format!(
                "the lab in {} runs on loopback: run commands directly (`. {}/env`)",
                layout.dir.display(),
                layout.dir.display()
            ),
        };
    };
    let netns = match on {
        None => &network.control,
        Some(name) => match network.host(name) {
            Some(host) => &host.netns,
            None => {
                let names: Vec<&str> = network.hosts.iter().map(|h| h.name.as_str()).collect();
                return LabError::Options {
                    reason: format!(
                        "the lab in {} has no host `{name}`: --on takes one of {}",
                        layout.dir.display(),
                        names.join(", ")
                    ),
                };
            }
        },
    };
    let Some((program, args)) = command.split_first() else {
        return LabError::Options {
            reason: "give the command after `--`, e.g. `runbook lab exec --dir DIR -- etcdctl member list`".into(),
        };
    };
    // `ip netns exec` gives the command a mount namespace of its own, so the lab's
    // /etc/hosts is bound over the real one for this command only.
    let error = Command::new("ip")
        .args(["netns", "exec", netns, "/bin/sh", "-c"])
        .arg("mount --bind \"$0\" /etc/hosts && exec \"$@\"")
        .arg(hosts_file(&layout))
        .arg(program)
        .args(args)
        .exec();
    LabError::io("run", Path::new("ip netns exec"), error)
}
