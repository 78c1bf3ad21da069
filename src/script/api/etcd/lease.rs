//! Rhai methods of `lease`: `attach` (one lease per prefix) and `restore_ttls` (each v2
//! key its own expiry, from the v2 store a member was migrated from).

use super::ScriptLease;
use crate::ops::etcd::cluster::silent::silent_members;
use crate::ops::etcd::host::clock as host_clock;
use crate::ops::etcd::lease::attach::{attach, parse_ttl, AttachOptions, AttachReport};
use crate::ops::etcd::lease::plan::{self as ttl_plan, TtlPrefix};
use crate::ops::etcd::lease::restore::{restore, GroupReport, RestoreOptions, RestoreReport};
use crate::ops::etcd::migrate::migrated_store::{migrated_store, MigratedStoreError};
use crate::ops::etcd::v2store::V2StoreError;
use crate::script::api::args;
use crate::script::api::error::{to_rhai, ScriptError};
use crate::script::api::options::Options;
use crate::script::api::views::saturating_i64;
use crate::script::context::RunContext;
use crate::transport::files::FileError;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;

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

/// What `lease.attach` returns.
#[derive(Serialize)]
struct AttachView<'a> {
    prefix: &'a str,
    // Hex, as etcdctl prints and takes lease IDs.
    lease: String,
    lease_id: i64,
    ttl: i64,
    revision: i64,
    keys: i64,
    attached: i64,
    skipped: i64,
    conflicts: i64,
    deleted: i64,
}

/// What a planned `lease.attach` returns.
#[derive(Serialize)]
struct PlannedAttachView<'a> {
    prefix: &'a str,
    planned: bool,
}

fn attach_view<'a>(prefix: &'a str, report: &AttachReport) -> AttachView<'a> {
    AttachView {
        prefix,
        lease: format!("{:x}", report.lease),
        lease_id: report.lease,
        ttl: report.ttl,
        revision: report.revision,
        keys: saturating_i64(report.keys),
        attached: saturating_i64(report.attached),
        skipped: saturating_i64(report.skipped),
        conflicts: saturating_i64(report.conflicts),
        deleted: saturating_i64(report.deleted),
    }
}

fn run_attach(
    ctx: &RunContext,
    prefix: &str,
    duration: &str,
    options: &Map,
) -> Result<Dynamic, Box<EvalAltResult>> {
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
    rhai::serde::to_dynamic(attach_view(prefix, &report))
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

/// What `lease.restore_ttls` returns.
#[derive(Serialize)]
struct RestoreView<'a> {
    revision: i64,
    leases: i64,
    expired_deleted: i64,
    /// The member host's clock minus this machine's; `()` if the host's could not be read
    /// to the nanosecond.
    clock_offset_ms: Option<i64>,
    groups: Vec<GroupView<'a>>,
}

/// One group of `lease.restore_ttls().groups`.
#[derive(Serialize)]
struct GroupView<'a> {
    prefix: &'a str,
    documented: Option<i64>,
    keys: i64,
    without_expiry: i64,
    hidden: i64,
    leases: i64,
    attached: i64,
    skipped: i64,
    conflicts: i64,
    gone: i64,
    rewritten: i64,
    expired_deleted: i64,
    expired_kept: i64,
    min_ttl: Option<i64>,
    max_ttl: Option<i64>,
    tolerance: i64,
}

/// What a planned `lease.restore_ttls` returns: nothing counted yet.
#[derive(Serialize)]
struct PlannedRestoreView {
    planned: bool,
    leases: i64,
    expired_deleted: i64,
    groups: Vec<GroupView<'static>>,
}

fn group_view(group: &GroupReport) -> GroupView<'_> {
    GroupView {
        prefix: &group.prefix,
        documented: group.documented_seconds.map(saturating_i64),
        keys: saturating_i64(group.keys),
        without_expiry: saturating_i64(group.without_expiry),
        hidden: saturating_i64(group.hidden),
        leases: saturating_i64(group.leases),
        attached: saturating_i64(group.attached),
        skipped: saturating_i64(group.skipped),
        conflicts: saturating_i64(group.conflicts),
        gone: saturating_i64(group.gone),
        rewritten: saturating_i64(group.rewritten),
        expired_deleted: saturating_i64(group.expired_deleted),
        expired_kept: saturating_i64(group.expired_kept),
        min_ttl: group.min_ttl,
        max_ttl: group.max_ttl,
        tolerance: group.tolerance_seconds,
    }
}

/// The report, with the clock offset (nanoseconds) in milliseconds.
fn restore_view(report: &RestoreReport, offset: Option<i64>) -> RestoreView<'_> {
    RestoreView {
        revision: report.revision,
        leases: saturating_i64(report.leases()),
        expired_deleted: saturating_i64(report.expired_deleted()),
        clock_offset_ms: offset.map(|o| o / 1_000_000),
        groups: report.groups.iter().map(group_view).collect(),
    }
}

fn run_restore_ttls(
    ctx: &RunContext,
    host: &Dynamic,
    prefixes: &Array,
    options: &Map,
) -> Result<Dynamic, Box<EvalAltResult>> {
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
        return rhai::serde::to_dynamic(PlannedRestoreView {
            planned: true,
            leases: 0,
            expired_deleted: 0,
            groups: Vec::new(),
        });
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
    rhai::serde::to_dynamic(restore_view(&report, offset))
}

/// `attach`, or its place in a plan.
fn planned_attach(
    ctx: &RunContext,
    prefix: &str,
    duration: &str,
    options: &Map,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let shown = prefix.trim_end_matches('/');
    if ctx.planned_change("lease.attach", || {
        format!("attach every key under {shown}/ to one lease of {duration}")
    })? {
        return rhai::serde::to_dynamic(PlannedAttachView {
            prefix,
            planned: true,
        });
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
    ) -> Result<Dynamic, Box<EvalAltResult>> {
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
    ) -> Result<Dynamic, Box<EvalAltResult>> {
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
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        run_restore_ttls(&lease.ctx, &host, &prefixes, &Map::new())
    }

    /// `restore_ttls` with options: `page_size`, `batch_size` (at most 128), `concurrency`.
    #[rhai_fn(name = "restore_ttls", pure, return_raw)]
    pub fn restore_ttls_with(
        lease: &mut ScriptLease,
        host: Dynamic,
        prefixes: Array,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        run_restore_ttls(&lease.ctx, &host, &prefixes, &options)
    }
}
