//! Rhai methods of `etcd` that read the cluster: health, status, convergence, hashkv.
//!
//! Reports print as tables (`print(etcd.status())`) and expose their data:
//! `.members` (an array of report rows, one per member, every field present for every member) and a
//! verdict (`.healthy`, `.agree`). They look at the live members: a host whose member this
//! run removed, or that `member list` does not name, is left out. Under `runbook check`,
//! after a planned change, each returns a planned report of the same type: every member
//! healthy and agreeing, numbers 0, `.planned` true, "(planned)" in its table.

use super::ScriptEtcd;
use crate::ops::etcd::cluster::converge::{self, ConvergeOptions};
use crate::ops::etcd::cluster::health::{self, ClusterHealth};
use crate::ops::etcd::cluster::status::{self, hex_id, ClusterStatus};
use crate::ops::etcd::cluster::wait_healthy;
use crate::ops::etcd::EtcdMember;
use crate::ops::etcd::{cluster::hashkv, cluster::hashkv::ClusterHashKv};
use crate::script::api::args;
use crate::script::api::error::to_rhai;
use crate::script::api::options::Options;
use crate::script::api::row::Row;
use crate::script::api::views::saturating_i64;
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;
use std::sync::Arc;

/// What `etcd.health()` returns.
#[derive(Clone)]
pub struct HealthReport(pub Arc<ClusterHealth>);

/// What `etcd.status()` and `etcd.wait_converged()` return (with the run, which knows the
/// members' ids).
#[derive(Clone)]
pub struct StatusReport(pub Arc<ClusterStatus>, pub Arc<RunContext>);

/// What `etcd.hashkv()` returns.
#[derive(Clone)]
pub struct HashKvReport(pub Arc<ClusterHashKv>);

/// One member of `etcd.health().members`: every key present, `()` where it does not apply.
#[derive(Serialize)]
struct MemberHealthView<'a> {
    member: &'a str,
    host: &'a str,
    endpoint: &'a str,
    v2_healthy: bool,
    v3_healthy: bool,
    healthy: bool,
    took: String,
    took_ms: i64,
    error: Option<&'a str>,
}

/// One member of `etcd.status().members`: its status, or `()` in every field but member,
/// host, endpoint and error when it did not answer.
#[derive(Serialize)]
struct MemberStatusView<'a> {
    member: &'a str,
    host: &'a str,
    endpoint: &'a str,
    // Ids in hex, as etcdctl prints them.
    id: Option<String>,
    version: Option<&'a str>,
    db_size: Option<i64>,
    db_size_in_use: Option<i64>,
    is_leader: Option<bool>,
    leader: Option<String>,
    /// The inventory host of the leader member, when known.
    leader_host: Option<String>,
    raft_term: Option<i64>,
    raft_index: Option<i64>,
    raft_applied_index: Option<i64>,
    revision: Option<i64>,
    error: Option<&'a str>,
}

/// One member of `etcd.hashkv().members`: its hash, or `()` in hash, revision and
/// compact_revision when it gave none.
#[derive(Serialize)]
struct MemberHashKvView<'a> {
    member: &'a str,
    host: &'a str,
    endpoint: &'a str,
    hash: Option<i64>,
    revision: Option<i64>,
    compact_revision: Option<i64>,
    error: Option<&'a str>,
}

fn health_members(report: &ClusterHealth) -> Result<Array, Box<EvalAltResult>> {
    report
        .members
        .iter()
        .map(|m| {
            Row::from_view(
                "an etcd.health() member",
                MemberHealthView {
                    member: &m.member,
                    host: &m.host,
                    endpoint: &m.endpoint,
                    v2_healthy: m.v2_healthy,
                    v3_healthy: m.v3_healthy,
                    healthy: m.healthy(),
                    took: crate::duration::format_duration(m.took),
                    took_ms: saturating_i64(m.took.as_millis()),
                    error: m.error.as_deref(),
                },
            )
        })
        .collect()
}

/// The inventory host of the member with id `id`: among the members that answered, else
/// from the identities the run read (`member list`).
fn leader_host(ctx: &RunContext, report: &ClusterStatus, id: u64) -> Option<String> {
    if id == 0 {
        return None;
    }
    report.host_of(id).map(str::to_string).or_else(|| {
        let hex = hex_id(id);
        ctx.facts().identities().and_then(|known| {
            known
                .members
                .iter()
                .find(|i| i.id.as_deref() == Some(hex.as_str()))
                .map(|i| i.host.clone())
        })
    })
}

fn status_members(ctx: &RunContext, report: &ClusterStatus) -> Result<Array, Box<EvalAltResult>> {
    report
        .members
        .iter()
        .map(|m| {
            let s = m.status.as_ref().ok();
            Row::from_view(
                "an etcd.status() member",
                MemberStatusView {
                    member: &m.member,
                    host: &m.host,
                    endpoint: &m.endpoint,
                    id: s.map(|s| hex_id(s.id)),
                    version: s.map(|s| s.version.as_str()),
                    db_size: s.map(|s| s.db_size),
                    db_size_in_use: s.map(|s| s.db_size_in_use),
                    is_leader: s.map(|s| s.is_leader()),
                    leader: s.map(|s| hex_id(s.leader)),
                    leader_host: s.and_then(|s| leader_host(ctx, report, s.leader)),
                    raft_term: s.map(|s| saturating_i64(s.raft_term)),
                    raft_index: s.map(|s| saturating_i64(s.raft_index)),
                    raft_applied_index: s.map(|s| saturating_i64(s.raft_applied_index)),
                    revision: s.map(|s| s.revision),
                    error: m.status.as_ref().err().map(String::as_str),
                },
            )
        })
        .collect()
}

fn hashkv_members(report: &ClusterHashKv) -> Result<Array, Box<EvalAltResult>> {
    report
        .members
        .iter()
        .map(|m| {
            let h = m.result.as_ref().ok();
            Row::from_view(
                "an etcd.hashkv() member",
                MemberHashKvView {
                    member: &m.member,
                    host: &m.host,
                    endpoint: &m.endpoint,
                    hash: h.map(|h| i64::from(h.hash)),
                    revision: h.map(|h| h.revision),
                    compact_revision: h.map(|h| h.compact_revision),
                    error: m.result.as_ref().err().map(String::as_str),
                },
            )
        })
        .collect()
}

/// `#{tolerance, timeout, interval}` with the defaults for keys not given.
fn converge_options(options: &Map) -> Result<ConvergeOptions, Box<EvalAltResult>> {
    let options = Options::new(
        "etcd.wait_converged",
        options,
        &["tolerance", "timeout", "interval"],
    )?;
    let mut out = ConvergeOptions::default();
    if let Some(tolerance) = options.count("tolerance", 0)? {
        out.tolerance = tolerance;
    }
    if let Some(timeout) = options.duration("timeout")? {
        out.timeout = timeout;
    }
    if let Some(interval) = options.duration("interval")? {
        out.interval = interval;
    }
    Ok(out)
}

/// How many times `expect_healthy` looks before it throws, and how far apart.
const HEALTH_ATTEMPTS: u32 = 3;
const HEALTH_RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// How long `wait_healthy` waits by default, and how often it looks.
const WAIT_HEALTHY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
const WAIT_HEALTHY_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// `expect_healthy(#{hosts, except})`: the members to check, from the live members.
fn chosen_members(ctx: &RunContext, options: &Map) -> Result<Vec<EtcdMember>, Box<EvalAltResult>> {
    let options = Options::new("etcd.expect_healthy", options, &["hosts", "except"])?;
    let names = |key: &str| -> Result<Option<Vec<String>>, Box<EvalAltResult>> {
        options
            .array(key)?
            .map(|hosts| {
                hosts
                    .iter()
                    .map(|h| {
                        let name = args::host_name(h, &format!("an element of `{key}`"))?;
                        // Each must be a member of [etcd].
                        args::member_named(ctx, &name).map(|m| m.host_name().to_string())
                    })
                    .collect()
            })
            .transpose()
    };
    let only = names("hosts")?;
    let except = names("except")?.unwrap_or_default();
    let members = match &only {
        // Hosts named outright are asked even when the cluster does not list them.
        Some(only) => ctx
            .etcd_members()?
            .into_iter()
            .filter(|m| only.iter().any(|h| h == m.host_name()))
            .collect(),
        None => ctx.live_members()?,
    };
    Ok(members
        .into_iter()
        .filter(|m| !except.iter().any(|h| h == m.host_name()))
        .collect())
}

fn run_health(
    ctx: &RunContext,
    members: &[EtcdMember],
) -> Result<ClusterHealth, Box<EvalAltResult>> {
    ctx.block_on(health::check(&ctx.etcd, members))
}

fn run_hashkv(etcd: &ScriptEtcd) -> Result<ClusterHashKv, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let members = ctx.live_members()?;
    ctx.block_on(hashkv::collect(&ctx.etcd, &members))
}

fn run_wait(etcd: &ScriptEtcd, options: &Map) -> Result<StatusReport, Box<EvalAltResult>> {
    let options = converge_options(options)?;
    let ctx = &etcd.ctx;
    let members = ctx.live_members()?;
    let status = ctx.block_on(converge::wait_converged(
        &ctx.etcd,
        &members,
        options,
        |line| ctx.reporter.status(line),
    ))?;
    ctx.reporter.status(&format!(
        "etcd raft indexes converged: {}",
        status.raft_indexes_text()
    ));
    Ok(StatusReport(Arc::new(status), ctx.clone()))
}

/// `wait_converged`, or its place in a plan.
fn planned_wait(etcd: &ScriptEtcd, options: &Map) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    if ctx.planned_read(|| "wait until the raft indexes converge".into()) {
        converge_options(options)?;
        let planned = ClusterStatus::planned(&ctx.live_members()?);
        return Ok(Dynamic::from(StatusReport(Arc::new(planned), ctx.clone())));
    }
    run_wait(etcd, options).map(Dynamic::from)
}

/// `expect_healthy`, on `members`: looks up to [`HEALTH_ATTEMPTS`] times.
fn expect_members_healthy(
    ctx: &RunContext,
    members: &[EtcdMember],
    what: impl FnOnce() -> String,
) -> Result<Dynamic, Box<EvalAltResult>> {
    if ctx.planned_read(what) {
        return Ok(Dynamic::from(HealthReport(Arc::new(
            ClusterHealth::planned(members),
        ))));
    }
    // A member busy right after heavy writes (a snapshot, a slow disk) can miss one
    // check: look again, briefly, before calling it unhealthy.
    let mut report = run_health(ctx, members)?;
    for _ in 1..HEALTH_ATTEMPTS {
        if report.expect_healthy().is_ok() {
            break;
        }
        std::thread::sleep(HEALTH_RETRY_INTERVAL);
        report = run_health(ctx, members)?;
    }
    report.expect_healthy().map_err(to_rhai)?;
    Ok(Dynamic::from(HealthReport(Arc::new(report))))
}

/// `wait_healthy(host[, #{timeout}])`: the member's health map once it is healthy.
fn wait_member_healthy(
    etcd: &ScriptEtcd,
    host: &Dynamic,
    options: &Map,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let known = Options::new("etcd.wait_healthy", options, &["timeout"])?;
    let timeout = known.duration("timeout")?.unwrap_or(WAIT_HEALTHY_TIMEOUT);
    let (member, _) = args::member(ctx, host)?;
    let report =
        if ctx.planned_read(|| format!("wait until etcd on {} is healthy", member.host_name())) {
            ClusterHealth::planned(std::slice::from_ref(&member))
        } else {
            let health = ctx.block_on(wait_healthy::wait_healthy(
                &ctx.etcd,
                &member,
                timeout,
                WAIT_HEALTHY_INTERVAL,
            ))?;
            ClusterHealth {
                members: vec![health],
                planned: false,
            }
        };
    let mut members = health_members(&report)?;
    Ok(members.pop().unwrap_or(Dynamic::UNIT))
}

#[export_module]
pub mod cluster_api {
    use super::*;

    pub type Health = HealthReport;
    pub type Status = StatusReport;
    pub type HashKv = HashKvReport;

    /// Every member's v2 (`cluster-health`) and v3 (`endpoint health`) health.
    #[rhai_fn(pure, return_raw)]
    pub fn health(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        if ctx.planned_read(|| "etcd health of every member".into()) {
            let planned = ClusterHealth::planned(&ctx.live_members()?);
            return Ok(Dynamic::from(HealthReport(Arc::new(planned))));
        }
        let members = ctx.live_members()?;
        Ok(Dynamic::from(HealthReport(Arc::new(run_health(
            ctx, &members,
        )?))))
    }

    /// Like `health()`, but throws naming each unhealthy member and why.
    #[rhai_fn(pure, return_raw)]
    pub fn expect_healthy(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        let members = ctx.live_members()?;
        expect_members_healthy(ctx, &members, || "every member is healthy".into())
    }

    /// `expect_healthy(#{hosts: [..]})` checks only those members, `#{except: [..]}` all
    /// but those.
    #[rhai_fn(name = "expect_healthy", pure, return_raw)]
    pub fn expect_healthy_with(
        etcd: &mut ScriptEtcd,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        let members = chosen_members(ctx, &options)?;
        let names: Vec<String> = members.iter().map(|m| m.host_name().to_string()).collect();
        expect_members_healthy(ctx, &members, || {
            format!("etcd is healthy on {}", names.join(", "))
        })
    }

    /// Polls one member until it is healthy (default timeout 2 minutes); throws with its
    /// last error. Returns its health map.
    #[rhai_fn(pure, return_raw)]
    pub fn wait_healthy(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        wait_member_healthy(etcd, &host, &Map::new())
    }

    /// `wait_healthy(host, #{timeout: "5m"})`.
    #[rhai_fn(name = "wait_healthy", pure, return_raw)]
    pub fn wait_healthy_with(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        wait_member_healthy(etcd, &host, &options)
    }

    /// Every member's `endpoint status`: id, version, db size, leader, raft term and indexes.
    #[rhai_fn(pure, return_raw)]
    pub fn status(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        let members = ctx.live_members()?;
        if ctx.planned_read(|| "etcd status of every member".into()) {
            let planned = ClusterStatus::planned(&members);
            return Ok(Dynamic::from(StatusReport(Arc::new(planned), ctx.clone())));
        }
        let timeout = ctx.etcd.timeout();
        Ok(Dynamic::from(StatusReport(
            Arc::new(
                ctx.runtime
                    .block_on(status::collect(&ctx.etcd, &members, timeout)),
            ),
            ctx.clone(),
        )))
    }

    /// Waits until the members' raft indexes are within 1 of each other (up to 2 minutes).
    #[rhai_fn(pure, return_raw)]
    pub fn wait_converged(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        planned_wait(etcd, &Map::new())
    }

    /// `wait_converged(#{tolerance: 1, timeout: "2m", interval: "5s"})`.
    #[rhai_fn(name = "wait_converged", pure, return_raw)]
    pub fn wait_converged_with(
        etcd: &mut ScriptEtcd,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        planned_wait(etcd, &options)
    }

    /// Every member's hash of its key-value store at the cluster's current revision.
    #[rhai_fn(pure, return_raw)]
    pub fn hashkv(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        if ctx.planned_read(|| "hashkv of every member".into()) {
            let planned = ClusterHashKv::planned(&ctx.live_members()?);
            return Ok(Dynamic::from(HashKvReport(Arc::new(planned))));
        }
        Ok(Dynamic::from(HashKvReport(Arc::new(run_hashkv(etcd)?))))
    }

    /// Like `hashkv()`, but throws listing the members whose hash differs.
    #[rhai_fn(pure, return_raw)]
    pub fn expect_hashkv_agree(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        if ctx.planned_read(|| "every member's hashkv agrees".into()) {
            let planned = ClusterHashKv::planned(&ctx.live_members()?);
            return Ok(Dynamic::from(HashKvReport(Arc::new(planned))));
        }
        // Right after a compaction each member removes the old revisions on its own time,
        // and hashes what it still holds until then: look again before calling it a
        // difference.
        let mut report = run_hashkv(etcd)?;
        for _ in 1..HEALTH_ATTEMPTS {
            if report.agree() {
                break;
            }
            std::thread::sleep(HEALTH_RETRY_INTERVAL);
            report = run_hashkv(etcd)?;
        }
        report.expect_agree().map_err(to_rhai)?;
        Ok(Dynamic::from(HashKvReport(Arc::new(report))))
    }

    // Health report.

    #[rhai_fn(get = "members", pure, return_raw)]
    pub fn health_members_get(report: &mut HealthReport) -> Result<Array, Box<EvalAltResult>> {
        health_members(&report.0)
    }

    #[rhai_fn(get = "healthy", pure)]
    pub fn health_healthy(report: &mut HealthReport) -> bool {
        report.0.healthy()
    }

    /// Whether the report is only planned (`runbook check`): nobody was asked.
    #[rhai_fn(get = "planned", pure)]
    pub fn health_planned(report: &mut HealthReport) -> bool {
        report.0.planned
    }

    /// Names of the unhealthy members.
    #[rhai_fn(get = "unhealthy", pure)]
    pub fn health_unhealthy(report: &mut HealthReport) -> Array {
        report
            .0
            .unhealthy()
            .into_iter()
            .map(|m| m.member.clone().into())
            .collect()
    }

    #[rhai_fn(name = "to_string", pure)]
    pub fn health_to_string(report: &mut HealthReport) -> String {
        report.0.table()
    }

    #[rhai_fn(name = "to_debug", pure)]
    pub fn health_to_debug(report: &mut HealthReport) -> String {
        report.0.table()
    }

    // Status report.

    #[rhai_fn(get = "members", pure, return_raw)]
    pub fn status_members_get(report: &mut StatusReport) -> Result<Array, Box<EvalAltResult>> {
        status_members(&report.1, &report.0)
    }

    /// The inventory host of the leader, as the first answering member sees it, or ().
    #[rhai_fn(get = "leader_host", pure)]
    pub fn status_leader_host(report: &mut StatusReport) -> Dynamic {
        report
            .0
            .members
            .iter()
            .find_map(|m| m.status.as_ref().ok())
            .and_then(|s| leader_host(&report.1, &report.0, s.leader))
            .map(Dynamic::from)
            .unwrap_or(Dynamic::UNIT)
    }

    /// Whether the report is only planned (`runbook check`): nobody was asked.
    #[rhai_fn(get = "planned", pure)]
    pub fn status_planned(report: &mut StatusReport) -> bool {
        report.0.planned
    }

    /// Whether every member answered.
    #[rhai_fn(get = "reachable", pure)]
    pub fn status_reachable(report: &mut StatusReport) -> bool {
        report.0.all_reachable()
    }

    /// The leader's id (hex) as the first answering member sees it, or ().
    #[rhai_fn(get = "leader", pure)]
    pub fn status_leader(report: &mut StatusReport) -> Dynamic {
        report
            .0
            .members
            .iter()
            .find_map(|m| m.status.as_ref().ok())
            .map(|s| Dynamic::from(hex_id(s.leader)))
            .unwrap_or(Dynamic::UNIT)
    }

    #[rhai_fn(name = "to_string", pure)]
    pub fn status_to_string(report: &mut StatusReport) -> String {
        report.0.table()
    }

    #[rhai_fn(name = "to_debug", pure)]
    pub fn status_to_debug(report: &mut StatusReport) -> String {
        report.0.table()
    }

    // HashKV report.

    #[rhai_fn(get = "members", pure, return_raw)]
    pub fn hashkv_members_get(report: &mut HashKvReport) -> Result<Array, Box<EvalAltResult>> {
        hashkv_members(&report.0)
    }

    #[rhai_fn(get = "agree", pure)]
    pub fn hashkv_agree(report: &mut HashKvReport) -> bool {
        report.0.agree()
    }

    #[rhai_fn(get = "revision", pure)]
    pub fn hashkv_revision(report: &mut HashKvReport) -> i64 {
        report.0.revision
    }

    /// Whether the report is only planned (`runbook check`): nobody was asked.
    #[rhai_fn(get = "planned", pure)]
    pub fn hashkv_planned(report: &mut HashKvReport) -> bool {
        report.0.planned
    }

    #[rhai_fn(name = "to_string", pure)]
    pub fn hashkv_to_string(report: &mut HashKvReport) -> String {
        report.0.table()
    }

    #[rhai_fn(name = "to_debug", pure)]
    pub fn hashkv_to_debug(report: &mut HashKvReport) -> String {
        report.0.table()
    }
}
