//! Rhai methods of `etcd` that read the cluster: health, status, convergence, hashkv.
//!
//! Reports print as tables (`print(etcd.status())`) and expose their data:
//! `.members` (an array of maps, one per member) and a verdict (`.healthy`, `.agree`).

use super::ScriptEtcd;
use crate::ops::etcd::cluster::converge::{self, ConvergeOptions};
use crate::ops::etcd::cluster::health::{self, ClusterHealth};
use crate::ops::etcd::cluster::status::{self, hex_id, ClusterStatus};
use crate::ops::etcd::EtcdMember;
use crate::ops::etcd::{cluster::hashkv, cluster::hashkv::ClusterHashKv};
use crate::script::api::args;
use crate::script::api::error::{to_rhai, ScriptError};
use crate::script::api::options::{Options, OPTION};
use crate::script::api::views::saturating_i64;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;
use std::sync::Arc;

/// What `etcd.health()` returns.
#[derive(Clone)]
pub struct HealthReport(pub Arc<ClusterHealth>);

/// What `etcd.status()` and `etcd.wait_converged()` return.
#[derive(Clone)]
pub struct StatusReport(pub Arc<ClusterStatus>);

/// What `etcd.hashkv()` returns.
#[derive(Clone)]
pub struct HashKvReport(pub Arc<ClusterHashKv>);

/// Who a member is: the keys every report's member maps share.
#[derive(Serialize)]
struct MemberIdentity<'a> {
    member: &'a str,
    host: &'a str,
    endpoint: &'a str,
}

/// One member of `etcd.health().members`.
#[derive(Serialize)]
struct MemberHealthView<'a> {
    #[serde(flatten)]
    identity: MemberIdentity<'a>,
    v2_healthy: bool,
    v3_healthy: bool,
    healthy: bool,
    took: String,
    took_ms: i64,
    error: Option<&'a str>,
}

/// One member of `etcd.status().members`. A member that did not answer has the same keys:
/// `error` set and its status fields `()`.
#[derive(Serialize)]
struct MemberStatusView<'a> {
    #[serde(flatten)]
    identity: MemberIdentity<'a>,
    #[serde(flatten)]
    status: EndpointStatusView<'a>,
    error: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct EndpointStatusView<'a> {
    // Ids in hex, as etcdctl prints them.
    id: Option<String>,
    version: Option<&'a str>,
    db_size: Option<i64>,
    db_size_in_use: Option<i64>,
    is_leader: Option<bool>,
    leader: Option<String>,
    /// The inventory host of the member this one follows.
    leader_host: Option<&'a str>,
    raft_term: Option<i64>,
    raft_index: Option<i64>,
    raft_applied_index: Option<i64>,
    revision: Option<i64>,
}

/// One member of `etcd.hashkv().members`: its hash, or the same keys with `error` set and
/// the others `()`.
#[derive(Serialize)]
struct MemberHashKvView<'a> {
    #[serde(flatten)]
    identity: MemberIdentity<'a>,
    #[serde(flatten)]
    hash: MemberHashView,
    error: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct MemberHashView {
    hash: Option<i64>,
    revision: Option<i64>,
    compact_revision: Option<i64>,
}

fn identity<'a>(member: &'a str, host: &'a str, endpoint: &'a str) -> MemberIdentity<'a> {
    MemberIdentity {
        member,
        host,
        endpoint,
    }
}

fn health_members(report: &ClusterHealth) -> Result<Array, Box<EvalAltResult>> {
    report
        .members
        .iter()
        .map(|m| {
            rhai::serde::to_dynamic(MemberHealthView {
                identity: identity(&m.member, &m.host, &m.endpoint),
                v2_healthy: m.v2_healthy,
                v3_healthy: m.v3_healthy,
                healthy: m.healthy(),
                took: crate::duration::format_duration(m.took),
                took_ms: saturating_i64(m.took.as_millis()),
                error: m.error.as_deref(),
            })
        })
        .collect()
}

fn status_members(report: &ClusterStatus) -> Result<Array, Box<EvalAltResult>> {
    report
        .members
        .iter()
        .map(|m| {
            let status = m
                .status
                .as_ref()
                .ok()
                .map(|s| EndpointStatusView {
                    id: Some(hex_id(s.id)),
                    version: Some(&s.version),
                    db_size: Some(s.db_size),
                    db_size_in_use: Some(s.db_size_in_use),
                    is_leader: Some(s.is_leader()),
                    leader: Some(hex_id(s.leader)),
                    leader_host: host_of(report, s.leader),
                    raft_term: Some(saturating_i64(s.raft_term)),
                    raft_index: Some(saturating_i64(s.raft_index)),
                    raft_applied_index: Some(saturating_i64(s.raft_applied_index)),
                    revision: Some(s.revision),
                })
                .unwrap_or_default();
            rhai::serde::to_dynamic(MemberStatusView {
                identity: identity(&m.member, &m.host, &m.endpoint),
                status,
                error: m.status.as_ref().err().map(String::as_str),
            })
        })
        .collect()
}

/// The inventory host of the member with that id, among those that answered.
fn host_of(report: &ClusterStatus, id: u64) -> Option<&str> {
    report
        .members
        .iter()
        .find(|m| m.status.as_ref().is_ok_and(|s| s.id == id))
        .map(|m| m.host.as_str())
}

fn hashkv_members(report: &ClusterHashKv) -> Result<Array, Box<EvalAltResult>> {
    report
        .members
        .iter()
        .map(|m| {
            let hash = m
                .result
                .as_ref()
                .ok()
                .map(|h| MemberHashView {
                    hash: Some(i64::from(h.hash)),
                    revision: Some(h.revision),
                    compact_revision: Some(h.compact_revision),
                })
                .unwrap_or_default();
            rhai::serde::to_dynamic(MemberHashKvView {
                identity: identity(&m.member, &m.host, &m.endpoint),
                hash,
                error: m.result.as_ref().err().map(String::as_str),
            })
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
/// How long `wait_healthy` waits by default.
const WAIT_HEALTHY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

fn run_health(
    etcd: &ScriptEtcd,
    members: &[EtcdMember],
) -> Result<ClusterHealth, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    ctx.block_on(health::check(&ctx.etcd, members))
}

/// The members `expect_healthy(#{hosts, except})` looks at: those of `hosts` (every live
/// member without it), less those of `except`.
fn health_scope(etcd: &ScriptEtcd, options: &Map) -> Result<Vec<EtcdMember>, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let options = Options::new("etcd.expect_healthy", options, &["hosts", "except"])?;
    let names = |key: &str| -> Result<Option<Vec<String>>, Box<EvalAltResult>> {
        options
            .array(key)?
            .map(|hosts| {
                hosts
                    .iter()
                    .map(|h| {
                        let name = args::host_name(h, &format!("each of `{key}`"))?;
                        // The same error as every primitive for a host that is no member.
                        args::member_named(ctx, &name)?;
                        Ok(name)
                    })
                    .collect()
            })
            .transpose()
    };
    let only = names("hosts")?;
    let except = names("except")?.unwrap_or_default();
    let members = match &only {
        Some(_) => ctx.etcd_members()?,
        None => ctx.live_members()?,
    };
    let chosen: Vec<EtcdMember> = members
        .into_iter()
        .filter(|m| {
            only.as_ref()
                .is_none_or(|o| o.iter().any(|h| h == m.host_name()))
        })
        .filter(|m| !except.iter().any(|h| h == m.host_name()))
        .collect();
    if chosen.is_empty() {
        return Err(ScriptError::new(
            "etcd.expect_healthy has no member left to look at",
            OPTION,
            Some("`hosts` and `except` leave out every member: name at least one".into()),
        )
        .into_rhai());
    }
    Ok(chosen)
}

/// `expect_healthy` on `members`: looks again briefly before it throws.
fn expect_healthy_among(
    etcd: &ScriptEtcd,
    members: &[EtcdMember],
) -> Result<Dynamic, Box<EvalAltResult>> {
    // A member busy right after heavy writes (a snapshot, a slow disk) can miss one
    // check: look again, briefly, before calling it unhealthy.
    let mut report = run_health(etcd, members)?;
    for _ in 1..HEALTH_ATTEMPTS {
        if report.expect_healthy().is_ok() {
            break;
        }
        std::thread::sleep(HEALTH_RETRY_INTERVAL);
        report = run_health(etcd, members)?;
    }
    report.expect_healthy().map_err(to_rhai)?;
    Ok(Dynamic::from(HealthReport(Arc::new(report))))
}

/// `wait_healthy(host[, #{timeout, interval}])`: polls one member until both its APIs answer.
fn run_wait_healthy(
    etcd: &ScriptEtcd,
    host: &Dynamic,
    options: &Map,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let (member, _) = args::member(ctx, host)?;
    let options = Options::new("etcd.wait_healthy", options, &["timeout", "interval"])?;
    let timeout = options.duration("timeout")?.unwrap_or(WAIT_HEALTHY_TIMEOUT);
    let interval = options
        .duration("interval")?
        .unwrap_or(HEALTH_RETRY_INTERVAL);
    if ctx.planned_read(|| format!("wait until {} is healthy", member.host_name())) {
        return Ok(Dynamic::from(HealthReport(Arc::new(health::planned(
            std::slice::from_ref(&member),
        )))));
    }
    let started = std::time::Instant::now();
    let members = [member];
    loop {
        let report = run_health(etcd, &members)?;
        match report.expect_healthy() {
            Ok(()) => {
                ctx.reporter.status(&format!(
                    "{} is healthy after {:.1}s",
                    members[0].host_name(),
                    started.elapsed().as_secs_f64()
                ));
                return Ok(Dynamic::from(HealthReport(Arc::new(report))));
            }
            Err(error) if started.elapsed() + interval > timeout => {
                return Err(ScriptError::new(
                    format!(
                        "{} was not healthy within {}: {error}",
                        members[0].host_name(),
                        crate::duration::format_duration(timeout)
                    ),
                    "runbook::etcd::not_healthy",
                    Some(format!(
                        "check etcd on {} (`systemctl status {}`, its log); give more time with #{{timeout: \"5m\"}}",
                        members[0].host_name(),
                        members[0].service
                    )),
                )
                .into_rhai());
            }
            Err(_) => {}
        }
        let token = ctx.cancel.token();
        let interrupted = ctx.runtime.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(interval) => false,
                _ = token.cancelled() => true,
            }
        });
        if interrupted {
            return Err(Box::new(EvalAltResult::ErrorTerminated(
                Dynamic::UNIT,
                rhai::Position::NONE,
            )));
        }
    }
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
    Ok(StatusReport(Arc::new(status)))
}

/// `wait_converged`, or its place in a plan.
fn planned_wait(etcd: &ScriptEtcd, options: &Map) -> Result<Dynamic, Box<EvalAltResult>> {
    if etcd
        .ctx
        .planned_read(|| "wait until the raft indexes converge".into())
    {
        return Ok(Dynamic::UNIT);
    }
    run_wait(etcd, options).map(Dynamic::from)
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
        if etcd
            .ctx
            .planned_read(|| "etcd health of every member".into())
        {
            return Ok(Dynamic::UNIT);
        }
        let members = etcd.ctx.live_members()?;
        Ok(Dynamic::from(HealthReport(Arc::new(run_health(
            etcd, &members,
        )?))))
    }

    /// Like `health()`, but throws naming each unhealthy member and why.
    #[rhai_fn(pure, return_raw)]
    pub fn expect_healthy(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        if etcd.ctx.planned_read(|| "every member is healthy".into()) {
            return Ok(Dynamic::UNIT);
        }
        let members = etcd.ctx.live_members()?;
        expect_healthy_among(etcd, &members)
    }

    /// `expect_healthy(#{hosts, except})`: only the members of `hosts`, or all but `except`.
    #[rhai_fn(name = "expect_healthy", pure, return_raw)]
    pub fn expect_healthy_with(
        etcd: &mut ScriptEtcd,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let members = health_scope(etcd, &options)?;
        let names: Vec<&str> = members.iter().map(|m| m.host_name()).collect();
        if etcd
            .ctx
            .planned_read(|| format!("{} healthy", names.join(", ")))
        {
            return Ok(Dynamic::UNIT);
        }
        expect_healthy_among(etcd, &members)
    }

    /// Waits until one member is healthy (up to 2 minutes).
    #[rhai_fn(pure, return_raw)]
    pub fn wait_healthy(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        run_wait_healthy(etcd, &host, &Map::new())
    }

    /// `wait_healthy(host, #{timeout: "2m", interval: "1s"})`.
    #[rhai_fn(name = "wait_healthy", pure, return_raw)]
    pub fn wait_healthy_with(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        run_wait_healthy(etcd, &host, &options)
    }

    /// Every member's `endpoint status`: id, version, db size, leader, raft term and indexes.
    #[rhai_fn(pure, return_raw)]
    pub fn status(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        if ctx.planned_read(|| "etcd status of every member".into()) {
            return Ok(Dynamic::UNIT);
        }
        let members = ctx.live_members()?;
        let timeout = ctx.etcd.timeout();
        Ok(Dynamic::from(StatusReport(Arc::new(
            ctx.runtime
                .block_on(status::collect(&ctx.etcd, &members, timeout)),
        ))))
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
        if etcd.ctx.planned_read(|| "hashkv of every member".into()) {
            return Ok(Dynamic::UNIT);
        }
        Ok(Dynamic::from(HashKvReport(Arc::new(run_hashkv(etcd)?))))
    }

    /// Like `hashkv()`, but throws listing the members whose hash differs.
    #[rhai_fn(pure, return_raw)]
    pub fn expect_hashkv_agree(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        if etcd
            .ctx
            .planned_read(|| "every member's hashkv agrees".into())
        {
            return Ok(Dynamic::UNIT);
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
        status_members(&report.0)
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

    #[rhai_fn(name = "to_string", pure)]
    pub fn hashkv_to_string(report: &mut HashKvReport) -> String {
        report.0.table()
    }

    #[rhai_fn(name = "to_debug", pure)]
    pub fn hashkv_to_debug(report: &mut HashKvReport) -> String {
        report.0.table()
    }
}
