//! Command-line definitions (clap), and nothing else.

use crate::report::OutputFormat;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Run operational runbooks written in Rhai against etcd clusters.
#[derive(Debug, Parser)]
#[command(name = "runbook", version, about, propagate_version = true)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// How results are written: text for people, or JSON lines for machines.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human, global = true)]
    pub output: OutputFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a runbook.
    Run(RunArgs),
    /// Dry run: run a runbook's checks for real and print the numbered plan of what it would change.
    Check(CheckArgs),
    /// An interactive session: evaluate runbook code line by line against the inventory.
    Repl(ReplArgs),
    /// Run a runbook under the debugger: breakpoints, step, next, finish, print.
    Debug(DebugArgs),
    /// Print the inventory as runbook reads it, in `ansible-inventory --list` (or `--host`) shape.
    Inventory(InventoryArgs),
    /// List the shipped runbooks with what each does.
    List,
    /// Describe the primitives runbooks can call (all, or those matching NAME).
    Doc {
        /// A primitive, e.g. `etcd.backup` or `backup`.
        name: Option<String>,
        /// The whole reference as Markdown (what docs/primitives.md holds).
        #[arg(long, conflicts_with = "name")]
        markdown: bool,
    },
    /// A local rehearsal cluster of real etcd 3.4 members with OpenShift-shaped v2 data.
    #[command(subcommand)]
    Lab(LabCommand),
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Where a script comes from and what it sees.
#[derive(Debug, Args)]
pub struct ScriptArgs {
    /// Ansible inventory (INI or YAML); without one, only `localhost` exists.
    #[arg(short, long, value_name = "INVENTORY")]
    pub inventory: Option<PathBuf>,

    /// Set or override an inventory variable for every host (repeatable).
    #[arg(short = 'e', long = "extra-var", value_name = "NAME=VALUE", value_parser = parse_extra_var)]
    pub extra_vars: Vec<(String, String)>,

    /// Directory of the Rhai modules that runbooks `import` (default: the shipped stdlib).
    #[arg(long, value_name = "DIR", env = "RUNBOOK_STDLIB")]
    pub stdlib: Option<PathBuf>,

    /// The migration's order (`runbook_outage` for every host): minimal brings the masters
    /// back once the first member is migrated and verified; classic once every member is
    /// rebuilt, as documented.
    #[arg(long, value_name = "ORDER", value_enum)]
    pub outage: Option<OutageOrder>,
}

/// The orders `--outage` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutageOrder {
    Minimal,
    Classic,
}

impl OutageOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            OutageOrder::Minimal => "minimal",
            OutageOrder::Classic => "classic",
        }
    }
}

/// The variable `--outage` sets.
pub const OUTAGE_VAR: &str = "runbook_outage";

impl ScriptArgs {
    /// The `-e` values with `--outage` among them; refuses `--outage` against a different
    /// `-e runbook_outage=`.
    pub fn vars(&self) -> Result<Vec<(String, String)>, String> {
        let mut vars = self.extra_vars.clone();
        if let Some(order) = self.outage {
            if let Some((_, set)) = vars
                .iter()
                .find(|(name, value)| name == OUTAGE_VAR && value != order.as_str())
            {
                return Err(format!(
                    "--outage {} and -e {OUTAGE_VAR}={set} ask for different orders: give one of them",
                    order.as_str()
                ));
            }
            vars.push((OUTAGE_VAR.to_string(), order.as_str().to_string()));
        }
        Ok(vars)
    }
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Ansible inventory (INI or YAML); without one, only `localhost` exists.
    #[arg(short, long, value_name = "INVENTORY")]
    pub inventory: Option<PathBuf>,

    /// Set or override an inventory variable for every host (repeatable).
    #[arg(short = 'e', long = "extra-var", value_name = "NAME=VALUE", value_parser = parse_extra_var)]
    pub extra_vars: Vec<(String, String)>,

    /// Print only this host's variables (as `ansible-inventory --host NAME`).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The runbook: a .rhai file, or the name of a shipped runbook (`runbook list`).
    pub script: PathBuf,

    #[command(flatten)]
    pub script_args: ScriptArgs,

    /// Continue an interrupted run: skip the steps it finished, go on from the next.
    #[arg(long, conflicts_with = "restart")]
    pub resume: bool,

    /// Start over although the last run did not finish (the journal keeps its record).
    #[arg(long)]
    pub restart: bool,

    /// Skip every step before this one (by name).
    #[arg(long, value_name = "STEP")]
    pub start_at: Option<String>,

    /// Do not ask before the first change (asked only when run from a terminal).
    #[arg(short, long)]
    pub yes: bool,

    /// Ask before each step: y runs it, n skips it, c runs it and the rest without asking.
    #[arg(long)]
    pub step: bool,

    /// Keep the journal in DIR (default: .runbook/ next to the inventory, or the user's
    /// state directory when that cannot be written).
    #[arg(long, value_name = "DIR")]
    pub journal: Option<std::path::PathBuf>,

    /// Keep no journal: nothing recorded, nothing to resume, no refusal after an unfinished
    /// run (for read-only and cron-style runbooks such as health-report).
    #[arg(long, conflicts_with_all = ["resume", "restart", "journal"])]
    pub no_journal: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The runbook: a .rhai file, or the name of a shipped runbook (`runbook list`).
    pub script: PathBuf,

    #[command(flatten)]
    pub script_args: ScriptArgs,
}

#[derive(Debug, Args)]
pub struct DebugArgs {
    /// The runbook: a .rhai file, or the name of a shipped runbook (`runbook list`).
    pub script: PathBuf,

    #[command(flatten)]
    pub script_args: ScriptArgs,

    /// Stop at LINE of the runbook, at FILE:LINE of a module, or at each call of FUNCTION
    /// (repeatable). Without any, the run stops before its first statement.
    #[arg(short, long = "break", value_name = "LINE|FILE:LINE|FUNCTION")]
    pub breaks: Vec<crate::debug::BreakAt>,

    /// Do not ask before the first change (asked only when run from a terminal), as `run -y`.
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ReplArgs {
    #[command(flatten)]
    pub script_args: ScriptArgs,

    /// Use the inventory of the lab in DIR (`runbook lab up --dir DIR`).
    #[arg(long, value_name = "DIR", conflicts_with = "inventory")]
    pub lab: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Start a lab cluster in DIR and seed it (says so and changes nothing if DIR is already up).
    Up {
        /// Directory that holds the lab's hosts, data, certificates and inventory.
        #[arg(long)]
        dir: PathBuf,
        /// Number of etcd members (1, the only number it takes, with `--layout embedded`).
        #[arg(
            long,
            default_value_t = 3,
            default_value_if("layout", "embedded", "1"),
            value_parser = clap::value_parser!(u16).range(1..=9)
        )]
        members: u16,
        /// Run every member with client and peer TLS (a fresh CA per lab).
        #[arg(long)]
        tls: bool,
        /// Number of v2 keys to seed.
        #[arg(long, default_value_t = 1000)]
        keys: usize,
        /// Of those keys, how many have only 5 s to 2 min of TTL left, so that a migration
        /// run right after meets some of them expired.
        #[arg(long, default_value_t = 0)]
        expiring: usize,
        /// How etcd is installed, written into the inventory as openshift-ansible inventories
        /// say it: `rpm` (service `etcd`) or `docker` (`containerized=true`: service
        /// `etcd_container`), data in var/lib/etcd either way; or `embedded`: no etcd hosts,
        /// one OpenShift 3.6 master whose `atomic-openshift-master` service runs etcd from
        /// master-config.yaml's `etcdConfig`, data in var/lib/origin/openshift.local.etcd
        /// (one member, loopback hosts only, no --master-writes).
        #[arg(long, value_enum, default_value_t = crate::lab::EtcdLayout::Rpm)]
        layout: crate::lab::EtcdLayout,
        /// Where the hosts run: `loopback` (one filesystem, 127.0.0.1, any user) or `netns`
        /// (root only: each host its own network and mount namespace, address, sshd and
        /// systemctl, with default paths, ports and services; implies --tls).
        #[arg(long, value_enum, default_value_t = crate::lab::LabHosts::Loopback)]
        hosts: crate::lab::LabHosts,
        /// With `--hosts netns`: give every host a second address on a management network,
        /// the only network the control namespace is on. The inventory lists the hosts by
        /// their management names, with `openshift_ip` and `openshift_hostname` for the
        /// cluster network, which `runbook` then reaches through ssh tunnels.
        #[arg(long)]
        management_network: bool,
        /// With `--hosts loopback`: the master's API stand-in writes to etcd every 100 ms
        /// (v2 or v3, as master-config.yaml selects) and logs its start, stop, first success
        /// and every failed or slow write, to measure an outage from the master's side.
        #[arg(long)]
        master_writes: bool,
    },
    /// Run a command in the control namespace of a lab of separate hosts, where its hosts
    /// are reached by address and name (`runbook lab exec --dir DIR -- runbook run ...`).
    Exec {
        #[arg(long)]
        dir: PathBuf,
        /// Run it in this host's network namespace instead (on every network the host is
        /// on, e.g. for `etcdctl` when the control side is on the management network only).
        #[arg(long, value_name = "HOST")]
        on: Option<String>,
        /// The command and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
    /// Stop exactly the processes this lab started and remove DIR.
    Down {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Show each member, its health and key counts.
    Status {
        #[arg(long)]
        dir: PathBuf,
    },
}

fn parse_extra_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "`{text}` is not NAME=VALUE (for example -e etcd_data_dir=/var/lib/etcd)"
        )),
    }
}
