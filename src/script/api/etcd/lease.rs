//! Rhai methods of `lease`: `attach` (one lease per prefix) and `restore_ttls` (each v2
//! key its own expiry, from the v2 store a member was migrated from).

use super::ScriptLease;
use crate::ops::etcd::cluster::silent::silent_members;
use crate::ops::etcd::host::clock as host_clock;
use crate::ops::etcd::lease::attach::{attach, parse_ttl, AttachOptions, AttachReport};
use crate::ops::etcd::lease::plan::{self as ttl_plan, TtlPrefix};
use crate::ops::etcd::lease::restore::{restore, RestoreOptions, RestoreReport};
use crate::ops::etcd::migrate::migrated_store::{migrated_store, MigratedStoreError};
use crate::ops::etcd::v2store::V2StoreError;
use crate::script::api::args;
use crate::script::api::error::{to_rhai, ScriptError};
use crate::script::api::options::Options;
use crate::script::context::RunContext;
use crate::transport::files::FileError;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};

/// The paging and batching options both take.
const TUNING: [&str; 3] = ["page_size", "batch_size", "concurrency"];

/// `#{page_size, batch_size, concurrency}` onto `out`.
fn tuning(options: &Options, out: &mut AttachOptions) -> Result<(), Box<EvalAltResult>> {
    let size = |name| -> Result<Option<usize>, Box<EvalAltResult>> {
        Ok(options.count(name, 1)?.map(|n| n as usize))
    };
    if let Some(n) = size("page_size")? {
        out.page_size = n;
    }
    if let Some(n) = size("batch_size")? {
        out.batch_size = n;
    }
    if let Some(n) = size("concurrency")? {
        out.concurrency = n;
    }
    Ok(())
}

/// Reads `#{re_lease, page_size, batch_size, concurrency}`; anything else is refused.
fn attach_options(options: &Map) -> Result<AttachOptions, Box<EvalAltResult>> {
    let mut known = vec!["re_lease"];
    known.extend(TUNING);
    let options = Options::new("lease.attach", options, &known)?;
    let mut out = AttachOptions::default();
    if let Some(re_lease) = options.bool("re_lease")? {
        out.re_lease = re_lease;
    }
    tuning(&options, &mut out)?;
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
    error: &crate::ops::etcd::lease::attach::LeaseError,
    members: &[crate::ops::etcd::EtcdMember],
) -> Option<Box<EvalAltResult>> {
    let silent = ctx.runtime.block_on(silent_members(
        &ctx.etcd,
        members,
        std::time::Duration::from_secs(5),
    ));
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

/// The documented prefixes as `master.ttl_durations()` gives them: `#{prefix, seconds}`.
fn ttl_prefixes(prefixes: &Array) -> Result<Vec<TtlPrefix>, Box<EvalAltResult>> {
    let bad = |what: String| {
        ScriptError::new(
            what,
            crate::script::api::options::OPTION,
            Some("pass master.ttl_durations(), or an array of #{prefix: \"/kubernetes.io/events\", seconds: 3600}".into()),
        )
        .into_rhai()
    };
    prefixes
        .iter()
        .map(|item| {
            let Some(map) = item.clone().try_cast::<Map>() else {
                return Err(bad(format!(
                    "each prefix must be a map, not {}",
                    item.type_name()
                )));
            };
            let prefix = map
                .get("prefix")
                .filter(|p| p.is_string())
                .map(|p| p.to_string())
                .ok_or_else(|| bad("a prefix map needs `prefix`, a string".into()))?;
            let seconds = match map.get("seconds").and_then(|s| s.as_int().ok()) {
                Some(seconds) if seconds >= 1 => seconds as u64,
                _ => match map.get("duration").filter(|d| d.is_string()) {
                    Some(duration) => parse_ttl(&duration.to_string()).map_err(to_rhai)? as u64,
                    None => {
                        return Err(bad(format!(
                            "{prefix}: needs `seconds` (at least 1) or `duration`"
                        )))
                    }
                },
            };
            if prefix.trim_matches('/').is_empty() {
                return Err(to_rhai(
                    crate::ops::etcd::lease::attach::LeaseError::Prefix { prefix },
                ));
            }
            Ok(TtlPrefix { prefix, seconds })
        })
        .collect()
}

fn restore_map(report: &RestoreReport, offset: Option<i64>) -> Map {
    let int = |n: u64| Dynamic::from_int(i64::try_from(n).unwrap_or(i64::MAX));
    let optional = |n: Option<i64>| n.map_or(Dynamic::UNIT, Dynamic::from_int);
    let groups: Array = report
        .groups
        .iter()
        .map(|g| {
            let mut map = Map::new();
            map.insert("prefix".into(), g.prefix.clone().into());
            map.insert(
                "documented".into(),
                g.documented_seconds.map_or(Dynamic::UNIT, int),
            );
            map.insert("keys".into(), int(g.keys));
            map.insert("without_expiry".into(), int(g.without_expiry));
            map.insert("hidden".into(), int(g.hidden));
            map.insert("leases".into(), int(g.leases));
            map.insert("attached".into(), int(g.attached));
            map.insert("skipped".into(), int(g.skipped));
            map.insert("conflicts".into(), int(g.conflicts));
            map.insert("gone".into(), int(g.gone));
            map.insert("rewritten".into(), int(g.rewritten));
            map.insert("expired_deleted".into(), int(g.expired_deleted));
            map.insert("expired_kept".into(), int(g.expired_kept));
            map.insert("min_ttl".into(), optional(g.min_ttl));
            map.insert("max_ttl".into(), optional(g.max_ttl));
            map.insert("tolerance".into(), Dynamic::from_int(g.tolerance_seconds));
            Dynamic::from(map)
        })
        .collect();
    let mut map = Map::new();
    map.insert("revision".into(), Dynamic::from_int(report.revision));
    map.insert("leases".into(), int(report.leases()));
    map.insert("expired_deleted".into(), int(report.expired_deleted()));
    map.insert(
        "clock_offset_ms".into(),
        optional(offset.map(|o| o / 1_000_000)),
    );
    map.insert("groups".into(), groups.into());
    map
}

fn run_restore_ttls(
    ctx: &RunContext,
    host: &Dynamic,
    prefixes: &Array,
    options: &Map,
) -> Result<Map, Box<EvalAltResult>> {
    let (member, _) = args::member(ctx, host)?;
    let prefixes = ttl_prefixes(prefixes)?;
    let mut attach = AttachOptions::default();
    tuning(
        &Options::new("lease.restore_ttls", options, &TUNING)?,
        &mut attach,
    )?;
    let options = RestoreOptions {
        page_size: attach.page_size,
        batch_size: attach.batch_size,
        concurrency: attach.concurrency,
    };
    let shown: Vec<&str> = prefixes.iter().map(|p| p.prefix.as_str()).collect();
    if ctx.planned_change("lease.restore_ttls", || {
        format!(
            "put every v2 key with a TTL on a lease ending when v2 would have deleted it, the keys under {} without one on their documented durations, and delete the keys whose TTL ran out (from the v2 store {} was migrated from)",
            shown.join(", "),
            member.host_name()
        )
    })? {
        let mut map = Map::new();
        map.insert("planned".into(), true.into());
        map.insert("leases".into(), Dynamic::from_int(0));
        map.insert("expired_deleted".into(), Dynamic::from_int(0));
        map.insert("groups".into(), Array::new().into());
        return Ok(map);
    }
    let transport = ctx.block_on(async {
        ctx.transport(&member.host)
            .await
            .map_err(|e| MigratedStoreError::from(V2StoreError::from(FileError::from(e))))
    })?;
    let store = ctx.block_on(migrated_store(
        &ctx.v2_stores,
        &transport,
        &member,
        &ctx.cancel.token(),
    ))?;
    let offset = ctx.block_on(host_clock::offset(&transport, &ctx.cancel.token()))?;
    let skew = offset.unwrap_or(0);
    if skew.abs() > 5_000_000_000 {
        ctx.reporter.status(&format!(
            "warning: the clock of {} is {:+.1} s from this machine's: TTLs are restored on {}'s clock, which set the v2 expiries",
            member.host_name(),
            skew as f64 / 1e9,
            member.host_name()
        ));
    }
    let now = move || host_clock::now() + skew;
    let plan = ttl_plan::plan(&store.leaves, &prefixes, now());
    let members = ctx.etcd_members()?;
    let client = ctx.block_on(ctx.etcd.v3_cluster(&members))?;
    let reporter = ctx.reporter.clone();
    let mut progress = |done: u64, total: u64| reporter.progress("lease.restore_ttls", done, total);
    let report = ctx
        .runtime
        .block_on(restore(
            &client,
            &plan,
            &now,
            &options,
            &ctx.cancel.token(),
            &mut progress,
        ))
        .map_err(|error| {
            naming_the_member(ctx, &error, &members).unwrap_or_else(|| to_rhai(error))
        })?;
    Ok(restore_map(&report, offset))
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

    /// The migration's TTL step: from the v2 store `host` was migrated from (the copy
    /// `etcd.migrate` kept, hidden keys included), every key with a v2 expiry goes on a
    /// lease that ends at most max(60 s, 2% of its prefix's TTL) after v2 would have deleted
    /// it; keys under `prefixes` (`master.ttl_durations()`) without an expiry get the
    /// documented duration; keys whose expiry has passed are deleted (if unchanged since).
    /// Leases are shared by keys expiring close together, at most 5% of a prefix's keys
    /// (100 to 10,000) each. Keys already on a lease are left alone. Returns
    /// `#{leases, expired_deleted, revision, clock_offset_ms, groups: [#{prefix, keys,
    /// leases, attached, min_ttl, max_ttl, expired_deleted, hidden, ...}]}`.
    #[rhai_fn(pure, return_raw)]
    pub fn restore_ttls(
        lease: &mut ScriptLease,
        host: Dynamic,
        prefixes: Array,
    ) -> Result<Map, Box<EvalAltResult>> {
        run_restore_ttls(&lease.ctx, &host, &prefixes, &Map::new())
    }

    /// `restore_ttls` with options: `page_size`, `batch_size` (at most 128), `concurrency`.
    #[rhai_fn(name = "restore_ttls", pure, return_raw)]
    pub fn restore_ttls_with(
        lease: &mut ScriptLease,
        host: Dynamic,
        prefixes: Array,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        run_restore_ttls(&lease.ctx, &host, &prefixes, &options)
    }
}
