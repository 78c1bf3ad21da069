//! Rhai methods of `etcd`: v3 key count, v2 snapshot check, backup, backup
//! verification and the guarded migrate. They convert arguments and results
//! and record what the run learns in its `RunFacts`; the work is in `ops::etcd`.

use super::error::{to_rhai, ScriptError};
use super::etcd::ScriptEtcd;
use super::host::ScriptHost;
use crate::ops::etcd::backup::take::{self as backup, BackupPlan};
use crate::ops::etcd::backup::verify::{self as backup_verify, BackupSummary, VerifyError};
use crate::ops::etcd::migrate::facts::{RunFacts, VerifiedBackup};
use crate::ops::etcd::migrate::guards::GuardFacts;
use crate::ops::etcd::migrate::run::{self as migrate, MigrateError};
use crate::ops::etcd::{
    migrate::key_count, migrate::missing as migrate_missing, migrate::snapshot_check, EtcdMember,
};
use crate::script::context::RunContext;
use crate::transport::files::FileError;
use crate::transport::Transport;
use chrono::Utc;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use std::sync::{Arc, MutexGuard};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

fn facts(ctx: &RunContext) -> MutexGuard<'_, RunFacts> {
    // A panic elsewhere cannot leave the facts half-written: every update is one call.
    ctx.facts.lock().unwrap_or_else(|e| e.into_inner())
}

fn bad_argument(message: String, help: &str) -> Box<EvalAltResult> {
    ScriptError::new(message, "runbook::etcd::argument", Some(help.to_string())).into_rhai()
}

/// The host name in a Host or a string argument.
fn host_name(value: &Dynamic, what: &str) -> RhaiResult<String> {
    if let Some(host) = value.clone().try_cast::<ScriptHost>() {
        return Ok(host.name().to_string());
    }
    if value.is_string() {
        return Ok(value.to_string());
    }
    Err(bad_argument(
        format!(
            "{what} must be a host or a host name, not {}",
            value.type_name()
        ),
        "pass a member of inventory.group(\"etcd\"), or its name",
    ))
}

/// The `[etcd]` member running on the named host.
fn member_named(ctx: &RunContext, name: &str) -> RhaiResult<EtcdMember> {
    let members = ctx.etcd_members()?;
    let names: Vec<String> = members.iter().map(|m| m.host_name().to_string()).collect();
    members
        .into_iter()
        .find(|m| m.host_name() == name)
        .ok_or_else(|| {
            ScriptError::new(
                format!("{name} is not a member of the [etcd] group"),
                "runbook::etcd::not_a_member",
                Some(format!("the etcd members are: {}", names.join(", "))),
            )
            .into_rhai()
        })
}

async fn connect(ctx: &RunContext, member: &EtcdMember) -> Result<Arc<Transport>, FileError> {
    Ok(ctx.transport(&member.host).await?)
}

fn summary_map(summary: &BackupSummary) -> Map {
    let mut map = Map::new();
    map.insert("host".into(), summary.host.clone().into());
    map.insert("dir".into(), summary.dir.clone().into());
    map.insert("files".into(), (summary.files as i64).into());
    map.insert("bytes".into(), (summary.bytes as i64).into());
    map
}

fn record_verified(ctx: &RunContext, summary: &BackupSummary) {
    facts(ctx).record_backup(VerifiedBackup {
        host: summary.host.clone(),
        dir: summary.dir.clone(),
        files: summary.files,
        bytes: summary.bytes,
        verified_at: Utc::now(),
    });
}

/// `backup(#{check: true})`: everything a backup needs, checked on every member
/// (directory, data dir, `etcdctl`, free space) without writing; the first failure throws.
fn check_backup(
    ctx: &RunContext,
    members: &[EtcdMember],
    dirs: &[(String, String)],
) -> RhaiResult<Array> {
    if ctx.planned_read(|| "every member can be backed up (space, etcdctl)".to_string()) {
        return Ok(Array::new());
    }
    let mut checked = Array::new();
    for (member, (host, dir)) in members.iter().zip(dirs) {
        ctx.block_on(async {
            let transport = ctx
                .transport(&member.host)
                .await
                .map_err(crate::ops::etcd::host::step::StepError::from)
                .map_err(backup::BackupError::from)?;
            backup::check_member(&transport, member, dir, &ctx.cancel.token()).await
        })?;
        let mut map = Map::new();
        map.insert("host".into(), host.clone().into());
        map.insert("dir".into(), dir.clone().into());
        checked.push(map.into());
    }
    Ok(checked)
}

/// The `#{hosts, dir, check}` options of `backup`.
fn backup_options(ctx: &RunContext, options: &Map) -> RhaiResult<(Vec<EtcdMember>, BackupPlan)> {
    for key in options.keys() {
        if !matches!(key.as_str(), "hosts" | "dir" | "check") {
            return Err(bad_argument(
                format!("unknown option `{key}` for etcd.backup"),
                "the options are `hosts` (etcd members, default all), `dir` (default <data_dir>/openshift-backup-pre-migration<timestamp>; `{host}` is replaced by the host name) and `check` (true: only check that the backup can be made)",
            ));
        }
    }
    let members = match options.get("hosts") {
        None => ctx.etcd_members()?,
        Some(hosts) => {
            let Some(hosts) = hosts.clone().try_cast::<Array>() else {
                return Err(bad_argument(
                    "`hosts` must be an array of hosts or host names".into(),
                    "for example #{hosts: inventory.group(\"etcd\")}",
                ));
            };
            let mut members = Vec::with_capacity(hosts.len());
            for host in &hosts {
                members.push(member_named(ctx, &host_name(host, "each of `hosts`")?)?);
            }
            members
        }
    };
    let dir = match options.get("dir") {
        None => None,
        Some(dir) if dir.is_string() => Some(dir.to_string()),
        Some(other) => {
            return Err(bad_argument(
                format!("`dir` must be a string, not {}", other.type_name()),
                "for example #{dir: \"/var/backups/etcd-{host}\"}",
            ))
        }
    };
    // Only a real backup fixes the run's stamp: a check made before it (preflight) must
    // not, or a resumed run would reuse the stamp of the attempt it resumes.
    let stamp = if is_check(options) {
        facts(ctx).current_backup_stamp()
    } else {
        facts(ctx).backup_stamp()
    };
    Ok((members, BackupPlan { dir, stamp }))
}

/// `#{check: true}`: only check that the backup can be made.
fn is_check(options: &Map) -> bool {
    options
        .get("check")
        .is_some_and(|c| c.as_bool() == Ok(true))
}

/// A stamp has a one-second resolution: a run resumed within the second of the attempt
/// it resumes would find that attempt's backups under the same names. A fresh stamp that
/// names an existing directory on any member is taken again from the clock.
fn unused_stamp(
    ctx: &RunContext,
    members: &[EtcdMember],
    mut plan: BackupPlan,
) -> RhaiResult<BackupPlan> {
    for _ in 0..3 {
        let taken = ctx.block_on(async {
            for member in members {
                let transport = ctx.transport(&member.host).await?;
                if transport
                    .path_exists(&plan.dir_for(member), &ctx.cancel.token())
                    .await?
                {
                    return Ok::<bool, FileError>(true);
                }
            }
            Ok(false)
        })?;
        if !taken {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        plan.stamp = facts(ctx).renew_backup_stamp();
    }
    Ok(plan)
}

fn run_backup(etcd: &ScriptEtcd, options: &Map) -> RhaiResult<Array> {
    let ctx = etcd.ctx.clone();
    let fresh_stamp = !facts(&ctx).has_backup_stamp();
    let (members, plan) = backup_options(&ctx, options)?;
    let plan = if fresh_stamp && plan.dir.is_none() && !is_check(options) {
        unused_stamp(&ctx, &members, plan)?
    } else {
        plan
    };
    let dirs: Vec<(String, String)> = members
        .iter()
        .map(|m| (m.host_name().to_string(), plan.dir_for(m)))
        .collect();
    if is_check(options) {
        return check_backup(&ctx, &members, &dirs);
    }
    let described = || {
        let each: Vec<String> = dirs
            .iter()
            .map(|(host, dir)| format!("{host}: {dir}"))
            .collect();
        format!(
            "back up etcd (etcdctl backup, db copy, sha256 manifest) on {}",
            each.join(", ")
        )
    };
    if ctx.planned_change("etcd.backup", described)? {
        return Ok(dirs
            .iter()
            .map(|(host, dir)| {
                let mut map = Map::new();
                map.insert("host".into(), host.clone().into());
                map.insert("dir".into(), dir.clone().into());
                map.insert("planned".into(), true.into());
                map.into()
            })
            .collect());
    }
    let result = ctx.runtime.block_on(backup::backup_members(
        &members,
        ctx.transports.clone(),
        &plan,
        &ctx.cancel.token(),
    ));
    match result {
        Ok(summaries) => {
            for summary in &summaries {
                record_verified(&ctx, summary);
            }
            Ok(summaries.iter().map(|s| summary_map(s).into()).collect())
        }
        Err(gate) => {
            // The backups that succeeded are real and verified: the run knows them.
            for summary in &gate.succeeded {
                record_verified(&ctx, summary);
            }
            Err(to_rhai(gate))
        }
    }
}

/// Which backup a `verify_backup` argument means: `(member, dir or None for the latest)`.
fn backup_target(ctx: &RunContext, value: &Dynamic) -> RhaiResult<(EtcdMember, Option<String>)> {
    if let Some(map) = value.clone().try_cast::<Map>() {
        let (Some(host), Some(dir)) = (map.get("host"), map.get("dir")) else {
            return Err(bad_argument(
                "a backup map needs `host` and `dir`".into(),
                "pass what etcd.backup() returned, or #{host: \"etcd-1\", dir: \"/var/lib/etcd/openshift-backup-...\"}",
            ));
        };
        let member = member_named(ctx, &host_name(host, "`host`")?)?;
        return Ok((member, Some(dir.to_string())));
    }
    let name = host_name(value, "the backup")?;
    let member = member_named(ctx, &name)?;
    let recorded = facts(ctx).backup_of(&name).map(|b| b.dir.clone());
    Ok((member, recorded))
}

fn verify_one(ctx: &RunContext, member: &EtcdMember, dir: Option<String>) -> RhaiResult<Map> {
    let result = ctx.runtime.block_on(async {
        let transport = connect(ctx, member).await.map_err(VerifyError::from)?;
        let dir = match dir {
            Some(dir) => dir,
            None => {
                backup_verify::latest_backup_dir(&transport, &member.data_dir, &ctx.cancel.token())
                    .await?
            }
        };
        let verified = backup_verify::verify_backup(&transport, &dir, &ctx.cancel.token()).await;
        if verified.is_err() {
            // A backup that no longer verifies no longer counts for `migrate`.
            facts(ctx).forget_backup(member.host_name(), &dir);
        }
        verified.map(|(_, summary)| summary)
    });
    match result {
        Ok(summary) => {
            record_verified(ctx, &summary);
            Ok(summary_map(&summary))
        }
        Err(error) => Err(to_rhai(error)),
    }
}

/// The store `member` was migrated from (the copy `etcd.migrate` kept).
fn migrated_store(
    ctx: &RunContext,
    member: &EtcdMember,
) -> RhaiResult<Arc<crate::ops::etcd::v2store::V2Store>> {
    use crate::ops::etcd::migrate::migrated_store::{self, MigratedStoreError};
    use crate::ops::etcd::v2store::V2StoreError;
    ctx.block_on(async {
        let transport = connect(ctx, member)
            .await
            .map_err(|e| MigratedStoreError::from(V2StoreError::from(e)))?;
        migrated_store::migrated_store(&ctx.v2_stores, &transport, member, &ctx.cancel.token())
            .await
    })
}

fn run_migrate_missing(ctx: &RunContext, host: &Dynamic) -> RhaiResult<Map> {
    let member = member_named(ctx, &host_name(host, "the host")?)?;
    if ctx.planned_change("etcd.migrate_missing", || {
        format!(
            "write into v3 the v2 keys etcdctl migrate left out on {} (hidden keys), from the copy etcd.migrate kept",
            member.host_name()
        )
    })? {
        let mut map = Map::new();
        map.insert("host".into(), member.host_name().into());
        map.insert("planned".into(), true.into());
        for count in ["v2_keys", "missing", "written", "hidden", "expired", "appeared"] {
            map.insert(count.into(), Dynamic::from_int(0));
        }
        map.insert("first".into(), Array::new().into());
        return Ok(map);
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
    let int = |n: u64| Dynamic::from_int(i64::try_from(n).unwrap_or(i64::MAX));
    let mut map = Map::new();
    map.insert("host".into(), member.host_name().into());
    map.insert("v2_keys".into(), int(report.v2_keys));
    map.insert("missing".into(), int(report.missing));
    map.insert("written".into(), int(report.written));
    map.insert("hidden".into(), int(report.hidden));
    map.insert("expired".into(), int(report.expired));
    map.insert("appeared".into(), int(report.appeared));
    let first: Array = report.first.into_iter().map(Dynamic::from).collect();
    map.insert("first".into(), first.into());
    Ok(map)
}

#[export_module]
pub mod etcd_data_api {
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
        facts(&ctx).record_key_count(count);
        Ok(n)
    }

    /// Whether the member's data dir holds a v2 snapshot (`member/snap/*.snap`).
    #[rhai_fn(pure, return_raw)]
    pub fn has_v2_snapshot(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<bool> {
        let ctx = etcd.ctx.clone();
        if ctx.planned_read(|| format!("a v2 snapshot exists on {host}")) {
            return Ok(true);
        }
        let member = member_named(&ctx, &host_name(&host, "the host")?)?;
        ctx.block_on(async {
            let transport = ctx
                .transport(&member.host)
                .await
                .map_err(crate::ops::etcd::host::step::StepError::from)?;
            snapshot_check::has_v2_snapshot(&transport, &member.data_dir, &ctx.cancel.token()).await
        })
    }

    /// Backs up every etcd member concurrently into
    /// `<data_dir>/openshift-backup-pre-migration<YYYYmmddHHMMSS>` (one stamp per run):
    /// free-space check, `etcdctl backup`, copy of `member/snap/db`, sha256 manifest, mode 0700.
    /// Fails if any member fails, listing every host's outcome.
    /// Returns `[#{host, dir, files, bytes}]`.
    #[rhai_fn(pure, return_raw)]
    pub fn backup(etcd: &mut ScriptEtcd) -> RhaiResult<Array> {
        run_backup(etcd, &Map::new())
    }

    /// `backup` with options: `#{hosts: [..], dir: "/path/{host}"}`.
    #[rhai_fn(name = "backup", pure, return_raw)]
    pub fn backup_with(etcd: &mut ScriptEtcd, options: Map) -> RhaiResult<Array> {
        run_backup(etcd, &options)
    }

    /// Re-hashes a backup on its host against its manifest. Takes what `backup`
    /// returned (an array or one map), or a host (its backup in this run, else
    /// its newest `openshift-backup-pre-migration*`). Missing, extra or changed
    /// files are errors naming the file. Verified backups count for `migrate`.
    #[rhai_fn(pure, return_raw)]
    pub fn verify_backup(etcd: &mut ScriptEtcd, backups: Dynamic) -> RhaiResult<Dynamic> {
        let ctx = etcd.ctx.clone();
        if ctx.planned_read(|| "verify the backups against their manifests".into()) {
            return Ok(backups);
        }
        let Some(list) = backups.clone().try_cast::<Array>() else {
            let (member, dir) = backup_target(&ctx, &backups)?;
            return verify_one(&ctx, &member, dir).map(Dynamic::from);
        };
        let mut verified = Array::with_capacity(list.len());
        let mut failures = Vec::new();
        for item in &list {
            let (member, dir) = backup_target(&ctx, item)?;
            match verify_one(&ctx, &member, dir) {
                Ok(map) => verified.push(map.into()),
                Err(error) => failures.push(error),
            }
        }
        match failures.len() {
            0 => Ok(verified.into()),
            1 => Err(failures.remove(0)),
            n => {
                let messages: Vec<String> = failures
                    .iter()
                    .map(|e| match &**e {
                        EvalAltResult::ErrorRuntime(value, _) => value
                            .clone()
                            .try_cast::<ScriptError>()
                            .map(|s| s.message().to_string())
                            .unwrap_or_else(|| value.to_string()),
                        other => other.to_string(),
                    })
                    .collect();
                Err(ScriptError::new(
                    format!("{n} of {} backups do not verify:\n{}", list.len(), messages.join("\n")),
                    "runbook::etcd::backup::mismatch",
                    Some("those backups changed after they were taken and cannot be trusted for a restore: take new ones with etcd.backup() while etcd is running".into()),
                )
                .into_rhai())
            }
        }
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
    pub fn migrate(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Map> {
        let ctx = etcd.ctx.clone();
        let target = member_named(&ctx, &host_name(&host, "the host")?)?;
        if ctx.planned_change("etcd.migrate", || {
            format!(
                "etcdctl migrate --data-dir={} on {} (after its guards)",
                target.data_dir,
                target.host_name()
            )
        })? {
            let mut map = Map::new();
            map.insert("host".into(), target.host_name().into());
            map.insert("result".into(), "planned".into());
            map.insert("planned".into(), true.into());
            for count in ["v2_keys", "hidden_keys", "ttl_keys"] {
                map.insert(count.into(), Dynamic::from_int(0));
            }
            map.insert(
                "v2_store".into(),
                crate::ops::etcd::migrate::capture::capture_dir(&target).into(),
            );
            return Ok(map);
        }
        let members = ctx.etcd_members()?;
        let guard_facts = {
            let facts = facts(&ctx);
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
        facts(&ctx).record_migration(outcome.fact());
        let store = &outcome.v2_store;
        ctx.v2_stores.insert(
            &outcome.host,
            &crate::ops::etcd::migrate::capture::member_dir_of(&outcome.v2_store_dir),
            store.clone(),
        );
        let count = |n: usize| Dynamic::from_int(i64::try_from(n).unwrap_or(i64::MAX));
        let mut map = Map::new();
        map.insert("host".into(), outcome.host.clone().into());
        map.insert("result".into(), outcome.result.as_str().into());
        map.insert("v2_keys".into(), count(store.leaves.len()));
        map.insert("hidden_keys".into(), count(store.hidden()));
        map.insert("ttl_keys".into(), count(store.expiring()));
        map.insert("v2_store".into(), outcome.v2_store_dir.clone().into());
        map.insert("output".into(), outcome.output.into());
        Ok(map)
    }

    /// On the member `etcd.migrate` ran on, after it was started again (`force_new_cluster`):
    /// writes into v3 every v2 key that `etcdctl migrate` left out, with its value, from the
    /// copy of the v2 store `etcd.migrate` kept. `etcdctl migrate` exports through a v2
    /// listing, which hides keys with a `_` segment (OAuth tokens whose name begins with `_`).
    /// A key is written only where v3 has none; a key whose v2 expiry has passed is not.
    /// Returns `#{host, v2_keys, missing, written, hidden, expired, appeared, first}`.
    #[rhai_fn(pure, return_raw)]
    pub fn migrate_missing(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Map> {
        run_migrate_missing(&etcd.ctx, &host)
    }
}
