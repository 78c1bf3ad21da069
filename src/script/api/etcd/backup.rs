//! Rhai methods of `etcd` for the pre-migration backups: taking them (`backup`, or only
//! checking they can be taken) and verifying them against their manifests. They convert
//! arguments and results and record the verified backups in the run's facts; the work is
//! in `ops::etcd::backup`.

use super::ScriptEtcd;
use crate::ops::etcd::backup::location::{self, BackupPlan};
use crate::ops::etcd::backup::stopped;
use crate::ops::etcd::backup::take as backup;
use crate::ops::etcd::backup::verify::{self as backup_verify, BackupSummary, VerifyError};
use crate::ops::etcd::migrate::facts::VerifiedBackup;
use crate::ops::etcd::EtcdMember;
use crate::script::api::args;
use crate::script::api::error::{to_rhai, ScriptError};
use crate::script::api::options::Options;
use crate::script::api::views::saturating_i64;
use crate::script::context::RunContext;
use crate::transport::files::FileError;
use crate::transport::Transport;
use chrono::Utc;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;
use std::sync::Arc;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

async fn connect(ctx: &RunContext, member: &EtcdMember) -> Result<Arc<Transport>, FileError> {
    Ok(ctx.transport(&member.host).await?)
}

/// One backup, as `etcd.backup` and `etcd.verify_backup` return it.
#[derive(Serialize)]
struct BackupView<'a> {
    host: &'a str,
    dir: &'a str,
    files: i64,
    bytes: i64,
    /// `etcdctl_backup`, `copy` or `move`.
    method: &'a str,
}

/// One member `etcd.backup(#{check: true})` checked, or where a planned backup would go.
#[derive(Serialize)]
struct BackupDirView<'a> {
    host: &'a str,
    dir: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    planned: Option<bool>,
}

fn summary_view(summary: &BackupSummary) -> RhaiResult<Dynamic> {
    rhai::serde::to_dynamic(BackupView {
        host: &summary.host,
        dir: &summary.dir,
        files: saturating_i64(summary.files),
        bytes: saturating_i64(summary.bytes),
        method: summary.method.as_str(),
    })
}

fn record_verified(ctx: &RunContext, summary: &BackupSummary) {
    ctx.facts().record_backup(VerifiedBackup {
        host: summary.host.clone(),
        dir: summary.dir.clone(),
        files: summary.files,
        bytes: summary.bytes,
        verified_at: Utc::now(),
        method: summary.method,
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
        return members
            .iter()
            .zip(dirs)
            .map(|(_, (host, dir))| {
                rhai::serde::to_dynamic(BackupDirView {
                    host,
                    dir,
                    planned: Some(true),
                })
            })
            .collect();
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
        checked.push(rhai::serde::to_dynamic(BackupDirView {
            host,
            dir,
            planned: None,
        })?);
    }
    Ok(checked)
}

/// How `backup` takes the backups: `etcdctl backup` of running members, or the stopped
/// members' data dirs themselves (moved, with a copy put back on the hosts in `keep`).
enum Taking {
    Running,
    Stopped { keep: Vec<String> },
}

/// The `#{hosts, dir, check, stopped, keep}` options of `backup`, and whether it only checks.
fn backup_options(
    ctx: &RunContext,
    options: &Map,
) -> RhaiResult<(Vec<EtcdMember>, BackupPlan, bool, Taking)> {
    let options = Options::new(
        "etcd.backup",
        options,
        &["hosts", "dir", "check", "stopped", "keep"],
    )?;
    let members = match options.array("hosts")? {
        None => ctx.etcd_members()?,
        Some(hosts) => {
            let mut members = Vec::with_capacity(hosts.len());
            for host in &hosts {
                members.push(args::member_or_embedded(ctx, host)?);
            }
            members
        }
    };
    let dir = options.string("dir")?;
    let check = options.bool("check")?.unwrap_or(false);
    let taking = if options.bool("stopped")?.unwrap_or(false) {
        let keep = match options.array("keep")? {
            Some(hosts) => hosts
                .iter()
                .map(|h| args::host_name(h, "each of `keep`"))
                .collect::<Result<Vec<_>, _>>()?,
            // The first member is the one migrated: its data must stay where etcd reads it.
            None => ctx
                .etcd_members()?
                .first()
                .map(|m| vec![m.host_name().to_string()])
                .unwrap_or_default(),
        };
        Taking::Stopped { keep }
    } else {
        if options.array("keep")?.is_some() {
            return Err(ScriptError::new(
                "etcd.backup: `keep` applies only with `stopped: true`".to_string(),
                crate::script::api::options::OPTION,
                Some("a running member's data is never moved: drop `keep`, or stop every member and pass `stopped: true`".into()),
            )
            .into_rhai());
        }
        Taking::Running
    };
    // Only a real backup fixes the run's stamp: a check made before it (preflight) must
    // not, or a resumed run would reuse the stamp of the attempt it resumes.
    let stamp = if check {
        ctx.facts().current_backup_stamp()
    } else {
        ctx.facts().backup_stamp()
    };
    Ok((members, BackupPlan { dir, stamp }, check, taking))
}

/// The plan with a stamp that names no existing backup directory on any member.
fn unused_stamp(
    ctx: &RunContext,
    members: &[EtcdMember],
    plan: BackupPlan,
) -> RhaiResult<BackupPlan> {
    ctx.block_on(async {
        let mut connected = Vec::with_capacity(members.len());
        for member in members {
            connected.push((member.clone(), connect(ctx, member).await?));
        }
        let mut renew = || ctx.facts().renew_backup_stamp();
        location::unused(plan, &connected, &mut renew, &ctx.cancel.token()).await
    })
}

fn run_backup(etcd: &ScriptEtcd, options: &Map) -> RhaiResult<Array> {
    let ctx = etcd.ctx.clone();
    let fresh_stamp = !ctx.facts().has_backup_stamp();
    let (members, plan, check, taking) = backup_options(&ctx, options)?;
    let plan = if fresh_stamp && plan.dir.is_none() && !check {
        unused_stamp(&ctx, &members, plan)?
    } else {
        plan
    };
    let dirs: Vec<(String, String)> = members
        .iter()
        .map(|m| (m.host_name().to_string(), plan.dir_for(m)))
        .collect();
    if check {
        return check_backup(&ctx, &members, &dirs);
    }
    let described = || {
        let each: Vec<String> = dirs
            .iter()
            .map(|(host, dir)| match &taking {
                Taking::Running => format!("{host}: {dir}"),
                Taking::Stopped { keep } if keep.contains(host) => {
                    format!("{host}: member moved into {dir}, a copy put back")
                }
                Taking::Stopped { .. } => format!("{host}: member moved into {dir}"),
            })
            .collect();
        let how = match &taking {
            Taking::Running => "etcdctl backup, db copy, sha256 manifest",
            Taking::Stopped { .. } => "the stopped data dirs, sha256 manifest",
        };
        format!("back up etcd ({how}) on {}", each.join(", "))
    };
    if ctx.planned_change("etcd.backup", described)? {
        return dirs
            .iter()
            .map(|(host, dir)| {
                rhai::serde::to_dynamic(BackupDirView {
                    host,
                    dir,
                    planned: Some(true),
                })
            })
            .collect();
    }
    let result = match &taking {
        Taking::Running => ctx.runtime.block_on(backup::backup_members(
            &members,
            ctx.transports.clone(),
            &plan,
            &ctx.cancel.token(),
        )),
        Taking::Stopped { keep } => ctx.runtime.block_on(stopped::backup_stopped_members(
            &members,
            keep,
            ctx.transports.clone(),
            &plan,
            &ctx.cancel.token(),
        )),
    };
    match result {
        Ok(summaries) => {
            for summary in &summaries {
                record_verified(&ctx, summary);
            }
            summaries.iter().map(summary_view).collect()
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
            return Err(ScriptError::new(
                "a backup map needs `host` and `dir`",
                args::NOT_A_HOST,
                Some("pass what etcd.backup() returned, or #{host: \"etcd-1\", dir: \"/var/lib/etcd/openshift-backup-...\"}".into()),
            )
            .into_rhai());
        };
        let member = args::member_or_embedded(ctx, host)?;
        return Ok((member, Some(dir.to_string())));
    }
    let name = args::host_name(value, "the backup")?;
    let member = args::member_or_embedded(ctx, value)?;
    let recorded = ctx.facts().backup_of(&name).map(|b| b.dir.clone());
    Ok((member, recorded))
}

/// Verifies one backup, recording the outcome in the run's facts.
fn verify_one(
    ctx: &RunContext,
    member: &EtcdMember,
    dir: Option<String>,
) -> Result<BackupSummary, VerifyError> {
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
            ctx.facts().forget_backup(member.host_name(), &dir);
        }
        verified.map(|(_, summary)| summary)
    });
    if let Ok(summary) = &result {
        record_verified(ctx, summary);
    }
    result
}

#[export_module]
pub mod backup_api {
    use super::*;

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
            let summary = verify_one(&ctx, &member, dir).map_err(to_rhai)?;
            return summary_view(&summary);
        };
        let mut outcomes = Vec::with_capacity(list.len());
        for item in &list {
            let (member, dir) = backup_target(&ctx, item)?;
            outcomes.push(verify_one(&ctx, &member, dir));
        }
        let verified = backup_verify::all_verified(outcomes).map_err(to_rhai)?;
        Ok(verified
            .iter()
            .map(summary_view)
            .collect::<RhaiResult<Array>>()?
            .into())
    }
}
