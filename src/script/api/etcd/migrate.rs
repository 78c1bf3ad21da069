//! Rhai methods of `etcd` for the migration itself: the v3 key count and the v2 snapshot
//! check its guards need, the guarded `etcd.migrate`, the keys `etcdctl migrate` leaves
//! out (`migrate_missing`) and the verification against the v2 store it was migrated
//! from. They convert arguments and results and record what the run learns in its facts;
//! the work is in `ops::etcd::migrate`.

use super::ScriptEtcd;
use crate::ops::etcd::migrate::guards::GuardFacts;
use crate::ops::etcd::migrate::migrated_store::{self, MigratedStoreError};
use crate::ops::etcd::migrate::run::{self as migrate, MigrateError};
use crate::ops::etcd::migrate::verify::{verify, VerifyReport, VERIFY_PAGE_SIZE};
use crate::ops::etcd::migrate::{key_count, missing as migrate_missing, snapshot_check};
use crate::ops::etcd::v2store::{V2Store, V2StoreError};
use crate::ops::etcd::EtcdMember;
use crate::script::api::args;
use crate::script::api::error::ScriptError;
use crate::script::api::views::saturating_i64;
use crate::script::context::RunContext;
use chrono::Utc;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;
use std::sync::Arc;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// What `etcd.migrate` returns; a planned call's has `planned` and no `output`.
#[derive(Serialize)]
struct MigrateView<'a> {
    host: &'a str,
    result: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    planned: Option<bool>,
    v2_keys: i64,
    hidden_keys: i64,
    ttl_keys: i64,
    v2_store: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a str>,
}

/// What `etcd.migrate_missing` returns; a planned call's has `planned` and counts nothing.
#[derive(Serialize, Default)]
struct MissingView<'a> {
    host: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    planned: Option<bool>,
    v2_keys: i64,
    missing: i64,
    written: i64,
    hidden: i64,
    expired: i64,
    appeared: i64,
    first: &'a [String],
}

/// What `etcd.verify` returns.
#[derive(Serialize)]
struct VerifyView<'a> {
    member: &'a str,
    v2_keys: i64,
    hidden: i64,
    v3_checked: i64,
    expired: i64,
    missing: i64,
    different_value: i64,
    different_revision: i64,
    mismatches: Vec<String>,
}

/// The store `member` was migrated from (the copy `etcd.migrate` kept).
fn migrated_store(ctx: &RunContext, member: &EtcdMember) -> RhaiResult<Arc<V2Store>> {
    ctx.block_on(async {
        let transport = ctx.transport(&member.host).await.map_err(|e| {
            MigratedStoreError::from(V2StoreError::from(
                crate::transport::files::FileError::from(e),
            ))
        })?;
        migrated_store::migrated_store(&ctx.v2_stores, &transport, member, &ctx.cancel.token())
            .await
    })
}

fn run_migrate_missing(ctx: &RunContext, host: &Dynamic) -> RhaiResult<Dynamic> {
    let member = args::member_named(ctx, &args::host_name(host, "the host")?)?;
    if ctx.planned_change("etcd.migrate_missing", || {
        format!(
            "write into v3 the v2 keys etcdctl migrate left out on {} (hidden keys), from the copy etcd.migrate kept",
            member.host_name()
        )
    })? {
        return rhai::serde::to_dynamic(MissingView {
            host: member.host_name(),
            planned: Some(true),
            ..MissingView::default()
        });
    }
    let store = migrated_store(ctx, &member)?;
    let v3 = ctx.block_on(ctx.etcd.v3_member(&member))?;
    let now = Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let report = ctx.block_on(migrate_missing::migrate_missing(
        &store,
        &v3,
        now,
        &ctx.cancel.token(),
    ))?;
    rhai::serde::to_dynamic(MissingView {
        host: member.host_name(),
        planned: None,
        v2_keys: saturating_i64(report.v2_keys),
        missing: saturating_i64(report.missing),
        written: saturating_i64(report.written),
        hidden: saturating_i64(report.hidden),
        expired: saturating_i64(report.expired),
        appeared: saturating_i64(report.appeared),
        first: &report.first,
    })
}

fn verify_view<'a>(member: &'a str, report: &VerifyReport) -> VerifyView<'a> {
    VerifyView {
        member,
        v2_keys: saturating_i64(report.v2_keys),
        hidden: saturating_i64(report.hidden),
        v3_checked: saturating_i64(report.v3_checked),
        expired: saturating_i64(report.expired),
        missing: saturating_i64(report.missing),
        different_value: saturating_i64(report.different_value),
        different_revision: saturating_i64(report.different_revision),
        mismatches: report.mismatches.iter().map(|m| m.to_string()).collect(),
    }
}

fn run_verify(ctx: &RunContext, host: &Dynamic) -> RhaiResult<Dynamic> {
    let (member, _) = args::member(ctx, host)?;
    let store = migrated_store(ctx, &member)?;
    let v3 = ctx.block_on(ctx.etcd.v3_member(&member))?;
    let name = member.host_name();
    let now = Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let reporter = ctx.reporter.clone();
    let label = format!("verify {name}");
    let mut progress = move |done: u64, total: u64| reporter.progress(&label, done, total);
    let report = ctx.block_on(verify(
        name,
        &store,
        &v3,
        VERIFY_PAGE_SIZE,
        now,
        &ctx.cancel.token(),
        &mut progress,
    ))?;
    ctx.facts().record_verified_migration(name);
    rhai::serde::to_dynamic(verify_view(name, &report))
}

fn run_drop_v2_copies(ctx: &RunContext, host: &Dynamic, prefixes: Array) -> RhaiResult<Dynamic> {
    let (member, _) = args::member(ctx, host)?;
    let prefixes: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
    if ctx.planned_change("etcd.drop_v2_copies", || {
        format!(
            "drop the v2 copies under {} on {} (v3 and the backups keep the data)",
            prefixes.join(", "),
            member.host_name()
        )
    })? {
        return Ok(Map::new().into());
    }
    if !ctx.facts().migration_verified(member.host_name()) {
        return Err(ScriptError::new(
            format!(
                "{}: no migration verified in this run: the v2 copies stay",
                member.host_name()
            ),
            "runbook::etcd::v2_drop::unverified",
            Some("run etcd.migrate and etcd.verify on this member first; the v2 data is dropped only once every key is known to be in v3".into()),
        )
        .into_rhai());
    }
    let store = migrated_store(ctx, &member)?;
    let v2 = ctx.block_on(ctx.etcd.v2_member(&member))?;
    let v3 = ctx.block_on(ctx.etcd.v3_member(&member))?;
    let dropped = ctx.block_on(crate::ops::etcd::migrate::v2_drop::drop_v2_copies(
        member.host_name(),
        &store,
        &v2,
        &v3,
        &prefixes,
    ))?;
    rhai::serde::to_dynamic(dropped)
}

#[export_module]
pub mod migrate_api {
    use super::*;

    /// Number of keys in the cluster's v3 keyspace (counted, not fetched).
    /// Recorded for this run: `etcd.migrate` refuses unless the last count was 0.
    #[rhai_fn(pure, return_raw)]
    pub fn v3_key_count(etcd: &mut ScriptEtcd) -> RhaiResult<i64> {
        let ctx = etcd.ctx.clone();
        if ctx.planned_read(|| "count the v3 keys".into()) {
            return Ok(0);
        }
        let members = ctx.etcd_members()?;
        let count = ctx.block_on(key_count::v3_key_count(&ctx.etcd, &members))?;
        let n = i64::try_from(count.count).unwrap_or(i64::MAX);
        ctx.facts().record_key_count(count);
        Ok(n)
    }

    /// Whether the member's data dir holds a v2 snapshot (`member/snap/*.snap`).
    #[rhai_fn(pure, return_raw)]
    pub fn has_v2_snapshot(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<bool> {
        let ctx = etcd.ctx.clone();
        if ctx.planned_read(|| format!("a v2 snapshot exists on {host}")) {
            return Ok(true);
        }
        let member = args::member_named(&ctx, &args::host_name(&host, "the host")?)?;
        ctx.block_on(async {
            let transport = ctx
                .transport(&member.host)
                .await
                .map_err(crate::ops::etcd::host::step::StepError::from)?;
            snapshot_check::has_v2_snapshot(&transport, &member.data_dir, &ctx.cancel.token()).await
        })
    }

    /// Runs `ETCDCTL_API=3 etcdctl migrate --data-dir=<data_dir>` on ONE member,
    /// only if: no migration is recorded on any member; etcd is stopped; a v2
    /// snapshot exists; the last v3 key count of this run was 0; a backup of
    /// that member was verified in this run. First it reads the member's v2 store from
    /// its files (hidden keys included) and keeps a copy in `<data_dir>/runbook-v2-store`
    /// for `etcd.migrate_missing`, `etcd.verify` and `lease.restore_ttls`. Returns
    /// `#{host, result, v2_keys, hidden_keys, ttl_keys, v2_store, output}` with result
    /// `"migrated"` or `"no_v2_keys"`.
    #[rhai_fn(pure, return_raw)]
    pub fn migrate(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        let ctx = etcd.ctx.clone();
        let target = args::member_named(&ctx, &args::host_name(&host, "the host")?)?;
        if ctx.planned_change("etcd.migrate", || {
            format!(
                "etcdctl migrate --data-dir={} on {} (after its guards)",
                target.data_dir,
                target.host_name()
            )
        })? {
            return rhai::serde::to_dynamic(MigrateView {
                host: target.host_name(),
                result: "planned",
                planned: Some(true),
                v2_keys: 0,
                hidden_keys: 0,
                ttl_keys: 0,
                v2_store: &crate::ops::etcd::migrate::capture::capture_dir(&target),
                output: None,
            });
        }
        let members = ctx.etcd_members()?;
        let guard_facts = {
            let facts = ctx.facts();
            GuardFacts {
                key_count: facts.last_key_count().cloned(),
                backup: facts.backup_of(target.host_name()).cloned(),
            }
        };
        let outcome = ctx.block_on(async {
            let mut connected = Vec::with_capacity(members.len());
            for member in members {
                let transport = ctx.transport(&member.host).await.map_err(|e| {
                    MigrateError::from(crate::ops::etcd::host::step::StepError::from(e))
                })?;
                connected.push((member, transport));
            }
            migrate::migrate_member(&connected, &target, &guard_facts, &ctx.cancel.token()).await
        })?;
        ctx.facts().record_migration(outcome.fact());
        let store = &outcome.v2_store;
        ctx.v2_stores.insert(
            &outcome.host,
            &crate::ops::etcd::migrate::capture::member_dir_of(&outcome.v2_store_dir),
            store.clone(),
        );
        rhai::serde::to_dynamic(MigrateView {
            host: &outcome.host,
            result: outcome.result.as_str(),
            planned: None,
            v2_keys: saturating_i64(store.leaves.len()),
            hidden_keys: saturating_i64(store.hidden()),
            ttl_keys: saturating_i64(store.expiring()),
            v2_store: &outcome.v2_store_dir,
            output: Some(&outcome.output),
        })
    }

    /// On the member `etcd.migrate` ran on, after it was started again (`force_new_cluster`):
    /// writes into v3 every v2 key that `etcdctl migrate` left out, with its value, from the
    /// copy of the v2 store `etcd.migrate` kept. `etcdctl migrate` exports through a v2
    /// listing, which hides keys with a `_` segment (OAuth tokens whose name begins with `_`).
    /// A key is written only where v3 has none; a key whose v2 expiry has passed is not.
    /// Returns `#{host, v2_keys, missing, written, hidden, expired, appeared, first}`.
    #[rhai_fn(pure, return_raw)]
    pub fn migrate_missing(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        run_migrate_missing(&etcd.ctx, &host)
    }

    /// On the member `etcd.migrate` ran on (`host`: an etcd host or its name), compares every
    /// leaf of the v2 store it was migrated from (the copy `etcd.migrate` keeps, hidden keys
    /// included) with v3: present (unless its v2 expiry has passed), same value, same create
    /// and mod revisions (hidden keys, which `etcd.migrate_missing` writes anew: the value
    /// only). Throws, naming the first mismatches, if any key is missing or different; else
    /// returns `#{member, v2_keys, hidden, v3_checked, expired, missing, different_value,
    /// different_revision, mismatches}`.
    /// After `etcd.migrate` and `etcd.verify` on `host` in this run: drops the v2 directories
    /// `prefixes` (the masters' storage prefixes) there, each only if v3 holds keys under it.
    /// The backups keep the v2 data; a joining member's snapshot and etcd's memory no longer
    /// carry it. Returns `[#{prefix, v2_keys, v3_keys, dropped}]`.
    #[rhai_fn(pure, return_raw)]
    pub fn drop_v2_copies(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        prefixes: Array,
    ) -> RhaiResult<Dynamic> {
        run_drop_v2_copies(&etcd.ctx, &host, prefixes)
    }

    #[rhai_fn(pure, return_raw)]
    pub fn verify(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        let shown = host
            .clone()
            .try_cast::<crate::script::api::host::ScriptHost>()
            .map(|h| h.name().to_string())
            .unwrap_or_else(|| host.to_string());
        if etcd
            .ctx
            .planned_read(|| format!("compare every v2 key with v3 on {shown}"))
        {
            // The report's shape, every count 0.
            let name = args::host_name(&host, "the host")?;
            return rhai::serde::to_dynamic(verify_view(&name, &VerifyReport::default()));
        }
        run_verify(&etcd.ctx, &host)
    }
}
