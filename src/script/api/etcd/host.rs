//! Rhai methods of `etcd` for the members' hosts: stop or start every member's etcd service at once.

use super::ScriptEtcd;
use crate::ops::etcd::host::member_host::MemberHost;
use crate::ops::etcd::host::services::{start_all, stop_all, ServicesError};
use crate::ops::etcd::membership::error::MembershipError;
use crate::ops::etcd::membership::ready::Readiness;
use crate::ops::etcd::EtcdMember;
use crate::script::api::args;
use crate::script::api::options::Options;
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult, Map};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// The members an option map names with `hosts`, or every member.
fn chosen(ctx: &RunContext, options: &Options) -> RhaiResult<Vec<EtcdMember>> {
    match options.array("hosts")? {
        None => ctx.etcd_members(),
        Some(hosts) => hosts
            .iter()
            .map(|h| args::member_named(ctx, &args::host_name(h, "each of `hosts`")?))
            .collect(),
    }
}

fn names(members: &[EtcdMember]) -> String {
    members
        .iter()
        .map(EtcdMember::host_name)
        .collect::<Vec<_>>()
        .join(", ")
}

async fn on_hosts(
    ctx: &RunContext,
    members: &[EtcdMember],
) -> Result<Vec<MemberHost>, ServicesError> {
    let mut hosts = Vec::with_capacity(members.len());
    for member in members {
        hosts.push(MemberHost::new(
            member.clone(),
            ctx.transport(&member.host)
                .await
                .map_err(MembershipError::from)?,
        ));
    }
    Ok(hosts)
}

fn stop(etcd: &ScriptEtcd, options: &Map) -> RhaiResult<()> {
    let ctx = &etcd.ctx;
    let known = Options::new("etcd.stop", options, &["hosts"])?;
    let members = chosen(ctx, &known)?;
    if ctx.planned_change("etcd.stop", || {
        format!("stop etcd on {} at once", names(&members))
    })? {
        return Ok(());
    }
    ctx.block_on(async {
        let hosts = on_hosts(ctx, &members).await?;
        stop_all(&ctx.etcd, &hosts, &ctx.cancel.token()).await
    })
}

fn start(etcd: &ScriptEtcd, options: &Map) -> RhaiResult<Dynamic> {
    let ctx = &etcd.ctx;
    let known = Options::new("etcd.start", options, &["hosts", "timeout"])?;
    let members = chosen(ctx, &known)?;
    let mut readiness = Readiness::default();
    if let Some(timeout) = known.duration("timeout")? {
        readiness.timeout = timeout;
    }
    if ctx.planned_change("etcd.start", || {
        format!(
            "start etcd on {} at once and wait until each serves",
            names(&members)
        )
    })? {
        // As the real start returns, each raft index 0.
        let indexes = vec![0; members.len()];
        return Ok(started_view(&members, indexes).into());
    }
    let indexes = ctx.block_on(async {
        let hosts = on_hosts(ctx, &members).await?;
        start_all(&ctx.etcd, &hosts, readiness, &ctx.cancel.token()).await
    })?;
    Ok(started_view(&members, indexes).into())
}

/// `[#{host, raft_index}]`: each member started and the raft index it serves at.
fn started_view(members: &[EtcdMember], indexes: Vec<u64>) -> rhai::Array {
    members
        .iter()
        .zip(indexes)
        .map(|(member, index)| {
            let mut m = Map::new();
            m.insert("host".into(), member.host_name().into());
            m.insert(
                "raft_index".into(),
                (i64::try_from(index).unwrap_or(i64::MAX)).into(),
            );
            Dynamic::from_map(m)
        })
        .collect()
}

#[export_module]
pub mod services_api {
    use super::*;

    /// Stops etcd on every member at once (the leader last, so it need not hand over its
    /// leadership); returns once each service is stopped.
    #[rhai_fn(pure, return_raw)]
    pub fn stop(etcd: &mut ScriptEtcd) -> RhaiResult<()> {
        super::stop(etcd, &Map::new())
    }

    /// `stop` with options: `#{hosts: [...]}` for some members only.
    #[rhai_fn(name = "stop", pure, return_raw)]
    pub fn stop_with(etcd: &mut ScriptEtcd, options: Map) -> RhaiResult<()> {
        super::stop(etcd, &options)
    }

    /// Starts etcd on every member at once; returns `[#{host, raft_index}]` once each serves
    /// with a leader.
    #[rhai_fn(pure, return_raw)]
    pub fn start(etcd: &mut ScriptEtcd) -> RhaiResult<Dynamic> {
        super::start(etcd, &Map::new())
    }

    /// `start` with options: `#{hosts: [...], timeout: "2m"}`.
    #[rhai_fn(name = "start", pure, return_raw)]
    pub fn start_with(etcd: &mut ScriptEtcd, options: Map) -> RhaiResult<Dynamic> {
        super::start(etcd, &options)
    }
}
