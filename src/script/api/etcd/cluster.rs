//! Rhai methods of `etcd` that read the cluster: health, status, convergence, hashkv.
//!
//! Reports print as tables (`print(etcd.status())`) and expose their data:
//! `.members` (an array of maps, one per member) and a verdict (`.healthy`, `.agree`).

use super::ScriptEtcd;
use crate::ops::etcd::cluster::converge::{self, ConvergeOptions};
use crate::ops::etcd::cluster::health::{self, ClusterHealth};
use crate::ops::etcd::cluster::status::{self, hex_id, ClusterStatus};
use crate::ops::etcd::{cluster::hashkv, cluster::hashkv::ClusterHashKv};
use crate::script::api::error::to_rhai;
use crate::script::api::options::Options;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
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

fn optional_text(value: &Option<String>) -> Dynamic {
    value.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT)
}

fn int(value: u64) -> Dynamic {
    Dynamic::from(i64::try_from(value).unwrap_or(i64::MAX))
}

/// A member's map with the fields every report shares.
fn member_map(member: &str, host: &str, endpoint: &str) -> Map {
    let mut map = Map::new();
    map.insert("member".into(), member.into());
    map.insert("host".into(), host.into());
    map.insert("endpoint".into(), endpoint.into());
    map
}

fn health_members(report: &ClusterHealth) -> Array {
    report
        .members
        .iter()
        .map(|m| {
            let mut map = member_map(&m.member, &m.host, &m.endpoint);
            map.insert("v2_healthy".into(), m.v2_healthy.into());
            map.insert("v3_healthy".into(), m.v3_healthy.into());
            map.insert("healthy".into(), m.healthy().into());
            map.insert(
                "took".into(),
                crate::duration::format_duration(m.took).into(),
            );
            map.insert(
                "took_ms".into(),
                int(u64::try_from(m.took.as_millis()).unwrap_or(u64::MAX)),
            );
            map.insert("error".into(), optional_text(&m.error));
            map.into()
        })
        .collect()
}

fn status_members(report: &ClusterStatus) -> Array {
    report
        .members
        .iter()
        .map(|m| {
            let mut map = member_map(&m.member, &m.host, &m.endpoint);
            match &m.status {
                Ok(s) => {
                    map.insert("id".into(), hex_id(s.id).into());
                    map.insert("version".into(), s.version.clone().into());
                    map.insert("db_size".into(), s.db_size.into());
                    map.insert("is_leader".into(), s.is_leader().into());
                    map.insert("leader".into(), hex_id(s.leader).into());
                    map.insert("raft_term".into(), int(s.raft_term));
                    map.insert("raft_index".into(), int(s.raft_index));
                    map.insert("raft_applied_index".into(), int(s.raft_applied_index));
                    map.insert("revision".into(), s.revision.into());
                    map.insert("error".into(), Dynamic::UNIT);
                }
                Err(e) => {
                    map.insert("error".into(), e.clone().into());
                }
            }
            map.into()
        })
        .collect()
}

fn hashkv_members(report: &ClusterHashKv) -> Array {
    report
        .members
        .iter()
        .map(|m| {
            let mut map = member_map(&m.member, &m.host, &m.endpoint);
            match &m.result {
                Ok(h) => {
                    map.insert("hash".into(), int(u64::from(h.hash)));
                    map.insert("revision".into(), h.revision.into());
                    map.insert("compact_revision".into(), h.compact_revision.into());
                    map.insert("error".into(), Dynamic::UNIT);
                }
                Err(e) => {
                    map.insert("error".into(), e.clone().into());
                }
            }
            map.into()
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

fn run_health(etcd: &ScriptEtcd) -> Result<ClusterHealth, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let members = ctx.etcd_members()?;
    Ok(ctx.runtime.block_on(health::check(&ctx.etcd, &members)))
}

fn run_hashkv(etcd: &ScriptEtcd) -> Result<ClusterHashKv, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let members = ctx.etcd_members()?;
    ctx.block_on(hashkv::collect(&ctx.etcd, &members))
}

fn run_wait(etcd: &ScriptEtcd, options: &Map) -> Result<StatusReport, Box<EvalAltResult>> {
    let options = converge_options(options)?;
    let ctx = &etcd.ctx;
    let members = ctx.etcd_members()?;
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
        Ok(Dynamic::from(HealthReport(Arc::new(run_health(etcd)?))))
    }

    /// Like `health()`, but throws naming each unhealthy member and why.
    #[rhai_fn(pure, return_raw)]
    pub fn expect_healthy(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        if etcd.ctx.planned_read(|| "every member is healthy".into()) {
            return Ok(Dynamic::UNIT);
        }
        // A member busy right after heavy writes (a snapshot, a slow disk) can miss one
        // check: look again, briefly, before calling it unhealthy.
        let mut report = run_health(etcd)?;
        for _ in 1..HEALTH_ATTEMPTS {
            if report.expect_healthy().is_ok() {
                break;
            }
            std::thread::sleep(HEALTH_RETRY_INTERVAL);
            report = run_health(etcd)?;
        }
        report.expect_healthy().map_err(to_rhai)?;
        Ok(Dynamic::from(HealthReport(Arc::new(report))))
    }

    /// Every member's `endpoint status`: id, version, db size, leader, raft term and indexes.
    #[rhai_fn(pure, return_raw)]
    pub fn status(etcd: &mut ScriptEtcd) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        if ctx.planned_read(|| "etcd status of every member".into()) {
            return Ok(Dynamic::UNIT);
        }
        let members = ctx.etcd_members()?;
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
        let report = run_hashkv(etcd)?;
        report.expect_agree().map_err(to_rhai)?;
        Ok(Dynamic::from(HashKvReport(Arc::new(report))))
    }

    // Health report.

    #[rhai_fn(get = "members", pure)]
    pub fn health_members_get(report: &mut HealthReport) -> Array {
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

    #[rhai_fn(get = "members", pure)]
    pub fn status_members_get(report: &mut StatusReport) -> Array {
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

    #[rhai_fn(get = "members", pure)]
    pub fn hashkv_members_get(report: &mut HashKvReport) -> Array {
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
