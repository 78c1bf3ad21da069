//! Rhai methods of `etcd` for etcd embedded in a master: running it on its own while the
//! master is stopped.

use super::membership::{migrated_index, on_host, readiness};
use super::ScriptEtcd;
use crate::ops::etcd::embedded::etcd_config::{EtcdConfig, EMBEDDED_MEMBER_NAME};
use crate::ops::etcd::embedded::standalone::{self, StandaloneError};
use crate::ops::etcd::host::member_host::MemberHost;
use crate::ops::etcd::membership::error::MembershipError;
use crate::ops::master::config_file::config_path;
use crate::script::api::args;
use crate::script::api::options::Options;
use crate::script::api::views::PlannedOnHost;
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult, Map};
use serde::Serialize;

/// What `etcd.start_standalone` returns.
#[derive(Serialize)]
struct StartedView<'a> {
    host: &'a str,
    pid: u32,
    client_url: &'a str,
    log_file: &'a str,
    already_running: bool,
    fillers: u64,
}

/// What `etcd.stop_standalone` returns.
#[derive(Serialize)]
struct StoppedView<'a> {
    host: &'a str,
    /// The PID stopped; `()` when none ran.
    pid: Option<u32>,
}

/// What `etcd.embedded_config` returns.
#[derive(Serialize)]
struct ConfigView<'a> {
    host: &'a str,
    path: &'a str,
    member_name: &'a str,
    client_url: String,
    peer_url: String,
    data_dir: &'a str,
}

/// The member's host and the `etcdConfig` of its master-config.yaml.
async fn embedded(
    ctx: &RunContext,
    member: &crate::ops::etcd::EtcdMember,
) -> Result<(MemberHost, EtcdConfig), StandaloneError> {
    let on = on_host(ctx, member).await?;
    let path = config_path(&member.host);
    let text = on
        .transport
        .read_file(&path, &ctx.cancel.token())
        .await
        .map_err(MembershipError::from)?;
    let config = EtcdConfig::parse(&path, &String::from_utf8_lossy(&text))?;
    Ok((on, config))
}

fn start(etcd: &ScriptEtcd, host: &Dynamic, options: &Map) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let known = Options::new("etcd.start_standalone", options, &["timeout"])?;
    let readiness = readiness(&known)?;
    let member = args::member_or_embedded(ctx, host)?;
    if ctx.planned_change("etcd.start_standalone", || {
        format!(
            "run {}'s embedded etcd on its own, from master-config.yaml's etcdConfig",
            member.host_name()
        )
    })? {
        return rhai::serde::to_dynamic(PlannedOnHost::new(member.host_name()));
    }
    let started = ctx.block_on(async {
        let (on, config) = embedded(ctx, &member).await?;
        let index = migrated_index(ctx, &on).await?;
        standalone::start(
            &ctx.etcd,
            &on,
            &config,
            index,
            readiness,
            &ctx.reporter,
            &ctx.cancel.token(),
        )
        .await
    })?;
    rhai::serde::to_dynamic(StartedView {
        host: &started.host,
        pid: started.pid,
        client_url: &started.client_url,
        log_file: &started.log_file,
        already_running: started.already_running,
        fillers: started.fillers,
    })
}

#[export_module]
pub mod embedded_api {
    use super::*;

    /// The `etcdConfig` of the member's master-config.yaml: how the master runs its
    /// embedded etcd (client and peer URLs, data dir). Throws when there is none.
    #[rhai_fn(pure, return_raw)]
    pub fn embedded_config(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        let member = args::member_or_embedded(ctx, &host)?;
        let (_, config) = ctx.block_on(embedded(ctx, &member))?;
        let path = config_path(&member.host);
        rhai::serde::to_dynamic(ConfigView {
            host: member.host_name(),
            path: &path,
            member_name: EMBEDDED_MEMBER_NAME,
            client_url: config.client_url(),
            peer_url: config.peer_url(),
            data_dir: config.storage_directory.trim_end_matches('/'),
        })
    }

    /// Runs the etcd embedded in a stopped master as a process of its own, from
    /// master-config.yaml's `etcdConfig` (the same member, data, URLs and certificates),
    /// and waits until it serves; after `etcd.migrate` the raft log is first filled past
    /// the index the migration left.
    #[rhai_fn(pure, return_raw)]
    pub fn start_standalone(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        start(etcd, &host, &Map::new())
    }

    /// `start_standalone` with options: `#{timeout: "2m"}` for the wait.
    #[rhai_fn(name = "start_standalone", pure, return_raw)]
    pub fn start_standalone_with(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        start(etcd, &host, &options)
    }

    /// Stops the etcd `start_standalone` started (by its recorded PID).
    #[rhai_fn(pure, return_raw)]
    pub fn stop_standalone(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        let member = args::member_or_embedded(ctx, &host)?;
        if ctx.planned_change("etcd.stop_standalone", || {
            format!(
                "stop {}'s embedded etcd running on its own",
                member.host_name()
            )
        })? {
            return rhai::serde::to_dynamic(PlannedOnHost::new(member.host_name()));
        }
        let pid = ctx.block_on(async {
            let (on, config) = embedded(ctx, &member).await?;
            standalone::stop(&on, &config, &ctx.cancel.token()).await
        })?;
        rhai::serde::to_dynamic(StoppedView {
            host: member.host_name(),
            pid,
        })
    }
}
