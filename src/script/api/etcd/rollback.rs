//! Rhai methods of `etcd` for going back to the pre-migration backups: restore a
//! stopped member, move a member's migration record aside, compare the live v2 data
//! with a backup. The work is in `ops::etcd::{restore, record_clear, backup_compare}`.

use super::ScriptEtcd;
use crate::ops::etcd::backup::verify::VerifyError;
use crate::ops::etcd::host::step::StepError;
use crate::ops::etcd::migrate::record::RecordError;
use crate::ops::etcd::rollback::compare::{compare_with_backup, CompareError};
use crate::ops::etcd::rollback::conf_restore;
use crate::ops::etcd::rollback::record_clear::{clear_record, ClearError};
use crate::ops::etcd::rollback::restore::{restore_member, RestoreError};
use crate::ops::etcd::EtcdMember;
use crate::script::api::args;
use crate::script::api::options::Options;
use crate::script::api::views::PlannedOnHost;
use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult, Map};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// The `#{dir}` option: which backup directory, instead of the newest pre-migration one.
fn dir_option(options: &Map, function: &str) -> RhaiResult<Option<String>> {
    Options::new(function, options, &["dir"])?.string("dir")
}

/// What a planned (not applied) call returns.
fn planned(member: &EtcdMember) -> RhaiResult<Dynamic> {
    rhai::serde::to_dynamic(PlannedOnHost::new(member.host_name()))
}

fn restore(etcd: &ScriptEtcd, host: &Dynamic, options: &Map) -> RhaiResult<Dynamic> {
    let ctx = &etcd.ctx;
    let dir = dir_option(options, "etcd.restore")?;
    let (member, _) = args::member(ctx, host)?;
    if ctx.planned_change("etcd.restore", || {
        format!(
            "restore {} from {} ({}/member moved to member.migrated.<stamp>, migration record moved aside)",
            member.host_name(),
            dir.as_deref().unwrap_or("its newest pre-migration backup"),
            member.data_dir
        )
    })? {
        return planned(&member);
    }
    let restored = ctx.block_on(async {
        let transport = ctx
            .transport(&member.host)
            .await
            .map_err(|e| RestoreError::from(StepError::from(e)))?;
        restore_member(&transport, &member, dir.as_deref(), &ctx.cancel.token()).await
    })?;
    if let Some(moved) = &restored.moved_to {
        ctx.reporter.status(&format!(
            "{}: migrated data moved to {moved}",
            restored.host
        ));
    }
    ctx.reporter.status(&format!(
        "{}: restored {} (taken {})",
        restored.host, restored.backup, restored.backup_created
    ));
    rhai::serde::to_dynamic(&restored)
}

fn compare(etcd: &ScriptEtcd, host: &Dynamic, options: &Map) -> RhaiResult<Dynamic> {
    let ctx = &etcd.ctx;
    let known = Options::new("etcd.compare_with_backup", options, &["dir", "live"])?;
    let dir = known.string("dir")?;
    let member = args::member_or_embedded(ctx, host)?;
    let members = match known.array("live")? {
        None => ctx.etcd_members()?,
        Some(hosts) => hosts
            .iter()
            .map(|h| args::member_or_embedded(ctx, h))
            .collect::<RhaiResult<Vec<_>>>()?,
    };
    if ctx.planned_read(|| {
        format!(
            "compare the live v2 data with {} of {} (both read from etcd's files)",
            dir.as_deref().unwrap_or("the newest pre-migration backup"),
            member.host_name()
        )
    }) {
        return planned(&member);
    }
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let comparison = ctx.block_on(async {
        let connect = |m: &EtcdMember| {
            let host = m.host.clone();
            async move {
                ctx.transport(&host)
                    .await
                    .map_err(|e| CompareError::from(VerifyError::from(StepError::from(e))))
            }
        };
        let transport = connect(&member).await?;
        let mut live = Vec::with_capacity(members.len());
        for other in &members {
            live.push((other.clone(), connect(other).await?));
        }
        compare_with_backup(
            &transport,
            &member,
            &live,
            dir.as_deref(),
            now,
            &ctx.cancel.token(),
        )
        .await
    })?;
    for result in &comparison.members {
        ctx.reporter.status(&format!(
            "{}: {} of {} backup keys match ({} expired TTL keys apart)",
            result.member, result.matched, comparison.backup_keys, result.expired
        ));
    }
    rhai::serde::to_dynamic(&comparison)
}

#[export_module]
pub mod rollback_api {
    use super::*;

    /// Restores a member whose etcd is stopped from its newest verified
    /// `openshift-backup-pre-migration*` backup: the backup is re-hashed against its
    /// manifest, `<data_dir>/member` moves to `member.migrated.<stamp>` (kept), a copy
    /// of the backup's `member` (`cp -a`) takes its place, and the member's migration
    /// record moves to `runbook-v2-to-v3-migration.json.rolled-back.<stamp>`. Start it
    /// next with `etcd.force_new_cluster(host)`. Returns
    /// `#{host, backup, backup_created, files, bytes, moved_to, record_moved_to}`.
    #[rhai_fn(pure, return_raw)]
    pub fn restore(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        super::restore(etcd, &host, &Map::new())
    }

    /// `restore` with options: `#{dir: "/path/to/backup"}`.
    #[rhai_fn(name = "restore", pure, return_raw)]
    pub fn restore_with(etcd: &mut ScriptEtcd, host: Dynamic, options: Map) -> RhaiResult<Dynamic> {
        super::restore(etcd, &host, &options)
    }

    /// Puts a member's etcd.conf back as its newest verified pre-migration backup holds it
    /// (the replaced file kept as `etcd.conf.runbook-<stamp>`). For after the restored
    /// cluster runs: rebuilding it rewrote the ETCD_INITIAL_* settings. Returns
    /// `#{host, backup, restored, copy, note}`.
    #[rhai_fn(pure, return_raw)]
    pub fn restore_conf(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        let ctx = &etcd.ctx;
        let (member, _) = args::member(ctx, &host)?;
        if ctx.planned_change("etcd.restore_conf", || {
            format!(
                "put {}'s {} back as its pre-migration backup holds it",
                member.host_name(),
                member.conf_file
            )
        })? {
            return planned(&member);
        }
        let restored = ctx.block_on(async {
            let transport = ctx
                .transport(&member.host)
                .await
                .map_err(|e| VerifyError::from(StepError::from(e)))?;
            conf_restore::restore_conf(&transport, &member, &ctx.cancel.token()).await
        })?;
        match (&restored.copy, &restored.note) {
            (Some(copy), _) => ctx.reporter.status(&format!(
                "{}: {} put back from {} (the replaced one kept as {copy})",
                restored.host, member.conf_file, restored.backup
            )),
            (None, Some(note)) => ctx.reporter.status(&format!("{}: {note}", restored.host)),
            (None, None) => {}
        }
        rhai::serde::to_dynamic(&restored)
    }

    /// Moves a member's migration record aside (`.rolled-back.<stamp>`), only if the
    /// cluster, counted through that member's running etcd, holds no v3 keys.
    /// Returns where the record went, or `()` if there was none.
    #[rhai_fn(pure, return_raw)]
    pub fn clear_migration_record(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        let ctx = &etcd.ctx;
        let (member, _) = args::member(ctx, &host)?;
        if ctx.planned_change("etcd.clear_migration_record", || {
            format!(
                "move the migration record aside on {} (if the cluster holds no v3 keys)",
                member.host_name()
            )
        })? {
            return Ok(Dynamic::UNIT);
        }
        let moved = ctx.block_on(async {
            let transport = ctx
                .transport(&member.host)
                .await
                .map_err(|e| ClearError::from(RecordError::from(StepError::from(e))))?;
            clear_record(&ctx.etcd, &transport, &member, &ctx.cancel.token()).await
        })?;
        Ok(moved.map(Dynamic::from).unwrap_or(Dynamic::UNIT))
    }

    /// Compares the live v2 data of every member with a member's newest verified
    /// pre-migration backup, served by a throwaway etcd on that host (stopped by its
    /// PID and its copy removed afterwards): every leaf's value, createdIndex and
    /// modifiedIndex. Keys whose TTL ran out are counted apart. Throws naming the
    /// first differences. Returns `#{host, backup, backup_created, backup_keys,
    /// members: [#{member, live_keys, matched, expired, missing, extra, changed}], differences}`.
    #[rhai_fn(pure, return_raw)]
    pub fn compare_with_backup(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        super::compare(etcd, &host, &Map::new())
    }

    /// `compare_with_backup` with options: `#{dir: "/path/to/backup"}`, and `#{live:
    /// [hosts]}` for the etcds whose files are compared (default: every member; a master
    /// names the etcd embedded in it).
    #[rhai_fn(name = "compare_with_backup", pure, return_raw)]
    pub fn compare_with_backup_with(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        options: Map,
    ) -> RhaiResult<Dynamic> {
        super::compare(etcd, &host, &options)
    }
}
