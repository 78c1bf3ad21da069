//! Rhai methods of `etcd`/`lease`: lease.attach and etcd.verify.

use super::error::{to_rhai, ScriptError};
use super::etcd::{ScriptEtcd, ScriptLease};
use super::etcd_membership::find_member;
use crate::ops::etcd::lease_attach::{attach, parse_ttl, AttachOptions, AttachReport};
use crate::ops::etcd::verify::{verify, VerifyReport, VERIFY_PAGE_SIZE};
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};

/// Reads `#{re_lease, page_size, batch_size, concurrency}`; anything else is refused.
fn attach_options(options: &Map) -> Result<AttachOptions, Box<EvalAltResult>> {
    let mut out = AttachOptions::default();
    for (name, value) in options {
        let count = |value: &Dynamic| -> Result<usize, Box<EvalAltResult>> {
            value
                .as_int()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    ScriptError::new(
                        format!("lease.attach option `{name}` must be a positive integer, not `{value}`"),
                        "runbook::lease::option",
                        Some(format!("for example #{{{name}: 100}}")),
                    )
                    .into_rhai()
                })
        };
        match name.as_str() {
            "re_lease" => {
                out.re_lease = value.as_bool().map_err(|_| {
                    ScriptError::new(
                        format!(
                            "lease.attach option `re_lease` must be true or false, not `{value}`"
                        ),
                        "runbook::lease::option",
                        Some("#{re_lease: true} also moves keys already on a lease".into()),
                    )
                    .into_rhai()
                })?
            }
            "page_size" => out.page_size = count(value)?,
            "batch_size" => out.batch_size = count(value)?,
            "concurrency" => out.concurrency = count(value)?,
            other => {
                return Err(ScriptError::new(
                    format!("lease.attach has no option `{other}`"),
                    "runbook::lease::option",
                    Some("options: re_lease, page_size, batch_size, concurrency".into()),
                )
                .into_rhai())
            }
        }
    }
    Ok(out)
}

fn attach_map(prefix: &str, report: &AttachReport) -> Map {
    let int = |n: u64| Dynamic::from_int(i64::try_from(n).unwrap_or(i64::MAX));
    let mut map = Map::new();
    map.insert("prefix".into(), prefix.into());
    // Hex, as etcdctl prints and takes lease IDs.
    map.insert("lease".into(), format!("{:x}", report.lease).into());
    map.insert("lease_id".into(), Dynamic::from_int(report.lease));
    map.insert("ttl".into(), Dynamic::from_int(report.ttl));
    map.insert("revision".into(), Dynamic::from_int(report.revision));
    map.insert("keys".into(), int(report.keys));
    map.insert("attached".into(), int(report.attached));
    map.insert("skipped".into(), int(report.skipped));
    map.insert("conflicts".into(), int(report.conflicts));
    map.insert("deleted".into(), int(report.deleted));
    map
}

fn run_attach(
    ctx: &RunContext,
    prefix: &str,
    duration: &str,
    options: &Map,
) -> Result<Map, Box<EvalAltResult>> {
    let ttl = parse_ttl(duration).map_err(to_rhai)?;
    let options = attach_options(options)?;
    let members = ctx.etcd_members()?;
    let client = ctx.block_on(ctx.etcd.v3_cluster(&members))?;
    let label = format!("lease.attach {prefix}");
    let reporter = ctx.reporter.clone();
    let mut progress = |done: u64, total: u64| reporter.progress(&label, done, total);
    let report = ctx
        .runtime
        .block_on(attach(
            &client,
            prefix,
            ttl,
            &options,
            &ctx.cancel.token(),
            &mut progress,
        ))
        .map_err(|error| {
            naming_the_member(ctx, &error, &members).unwrap_or_else(|| to_rhai(error))
        })?;
    Ok(attach_map(prefix, &report))
}

/// The error, naming the members that do not answer now, if any: the client spreads
/// requests over every member, so a dead one shows up only as a failed request.
fn naming_the_member(
    ctx: &RunContext,
    error: &crate::ops::etcd::lease_attach::LeaseError,
    members: &[crate::ops::etcd::EtcdMember],
) -> Option<Box<EvalAltResult>> {
    let silent: Vec<String> = ctx.runtime.block_on(async {
        let mut silent = Vec::new();
        for member in members {
            let answer = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                let mut client = ctx
                    .etcd
                    .v3_member(member)
                    .await
                    .map_err(|e| e.to_string())?;
                client.status().await.map_err(|e| e.to_string())
            })
            .await;
            if !matches!(answer, Ok(Ok(_))) {
                silent.push(member.host.name.clone());
            }
        }
        silent
    });
    if silent.is_empty() {
        return None;
    }
    let wrapped = ScriptError::from_diagnostic(error);
    let service = members
        .first()
        .map(|m| m.service.clone())
        .unwrap_or_else(|| "etcd".into());
    Some(
        ScriptError::new(
            format!(
                "{} ({} does not answer)",
                wrapped.message(),
                silent.join(", ")
            ),
            wrapped.code(),
            Some(format!(
                "is etcd running on {hosts}? start it again (`systemctl start {service}`; `etcd.health()` shows every member), then run the step again: keys attached so far keep their lease, the rest are attached",
                hosts = silent.join(", "),
            )),
        )
        .into_rhai(),
    )
}

fn verify_map(member: &str, report: &VerifyReport) -> Map {
    let int = |n: u64| Dynamic::from_int(i64::try_from(n).unwrap_or(i64::MAX));
    let mut map = Map::new();
    map.insert("member".into(), member.into());
    map.insert("v2_keys".into(), int(report.v2_keys));
    map.insert("v3_checked".into(), int(report.v3_checked));
    map.insert("missing".into(), int(report.missing));
    map.insert("different_value".into(), int(report.different_value));
    map.insert("different_revision".into(), int(report.different_revision));
    let shown: Array = report
        .mismatches
        .iter()
        .map(|m| Dynamic::from(m.to_string()))
        .collect();
    map.insert("mismatches".into(), shown.into());
    map
}

fn run_verify(ctx: &RunContext, host: &Dynamic) -> Result<Map, Box<EvalAltResult>> {
    let (member, _) = find_member(ctx, host)?;
    let v2 = ctx.block_on(ctx.etcd.v2_member(&member))?;
    let v3 = ctx.block_on(ctx.etcd.v3_member(&member))?;
    let name = member.host_name();
    let report = ctx.block_on(verify(name, &v2, &v3, VERIFY_PAGE_SIZE))?;
    Ok(verify_map(name, &report))
}

/// `attach`, or its place in a plan.
fn planned_attach(
    ctx: &RunContext,
    prefix: &str,
    duration: &str,
    options: &Map,
) -> Result<Map, Box<EvalAltResult>> {
    let shown = prefix.trim_end_matches('/');
    if ctx.planned_change("lease.attach", || {
        format!("attach every key under {shown}/ to one lease of {duration}")
    })? {
        let mut map = Map::new();
        map.insert("prefix".into(), prefix.into());
        map.insert("planned".into(), true.into());
        return Ok(map);
    }
    run_attach(ctx, prefix, duration, options)
}

#[export_module]
pub mod lease_api {
    use super::*;

    /// Grants one lease of `duration` (`"1h"`, `"10s"`, `"86400s"`; at least 1s) and
    /// attaches every key under `prefix/` to it, never rewriting a value. Keys already on a
    /// lease are skipped. Returns `#{lease, lease_id, ttl, keys, attached, skipped, conflicts, deleted, ...}`.
    #[rhai_fn(pure, return_raw)]
    pub fn attach(
        lease: &mut ScriptLease,
        prefix: &str,
        duration: &str,
    ) -> Result<Map, Box<EvalAltResult>> {
        planned_attach(&lease.ctx, prefix, duration, &Map::new())
    }

    /// `attach` with options: `#{re_lease: true}` also moves keys already on a lease;
    /// `page_size`, `batch_size` (at most 128) and `concurrency` tune the work.
    #[rhai_fn(name = "attach", pure, return_raw)]
    pub fn attach_with(
        lease: &mut ScriptLease,
        prefix: &str,
        duration: &str,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        planned_attach(&lease.ctx, prefix, duration, &options)
    }

    /// On a member migrated in place (it still holds its v2 store), compares every v2 leaf
    /// key with v3 (`host`: an etcd host or its name): present, same value, same create and mod revisions. Throws, naming the
    /// first mismatches, if any key is missing or different; else returns the counts.
    #[rhai_fn(pure, return_raw)]
    pub fn verify(etcd: &mut ScriptEtcd, host: Dynamic) -> Result<Map, Box<EvalAltResult>> {
        let shown = host
            .clone()
            .try_cast::<crate::script::api::host::ScriptHost>()
            .map(|h| h.name().to_string())
            .unwrap_or_else(|| host.to_string());
        if etcd
            .ctx
            .planned_read(|| format!("compare every v2 key with v3 on {shown}"))
        {
            return Ok(Map::new());
        }
        run_verify(&etcd.ctx, &host)
    }
}
