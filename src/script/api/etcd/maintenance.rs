//! Rhai methods of `etcd` that keep a cluster in shape: `alarms`, `disarm`, `defrag`,
//! `compact`, `snapshot_save` and `snapshot_status`; the work is in `ops::etcd::maintenance`.

use super::ScriptEtcd;
use crate::ops::etcd::maintenance::alarms::{self, Alarm};
use crate::ops::etcd::maintenance::compact;
use crate::ops::etcd::maintenance::defrag::{self, Defragmented};
use crate::ops::etcd::maintenance::error::MaintenanceError;
use crate::ops::etcd::maintenance::snapshot::{self, SnapshotFile};
use crate::ops::etcd::EtcdMember;
use crate::script::api::args;
use crate::script::api::error::to_rhai;
use crate::script::api::options::Options;
use crate::script::api::row::Row;
use crate::script::api::views::saturating_i64;
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// One alarm of `etcd.alarms()`.
#[derive(Serialize)]
struct AlarmView<'a> {
    /// The member's name, or its id in hex when the cluster does not list it.
    member: String,
    host: Option<&'a str>,
    alarm: &'a str,
}

fn alarm_views(alarms: &[Alarm]) -> RhaiResult<Array> {
    alarms
        .iter()
        .map(|a| {
            Row::from_view(
                "an etcd.alarms() entry",
                AlarmView {
                    member: a
                        .member
                        .clone()
                        .unwrap_or_else(|| format!("{:x}", a.member_id)),
                    host: a.host.as_deref(),
                    alarm: a.alarm,
                },
            )
        })
        .collect()
}

#[derive(Serialize)]
struct DefragView<'a> {
    host: &'a str,
    member: &'a str,
    db_size_before: i64,
    db_size_after: i64,
    seconds: f64,
}

fn defrag_view(d: &Defragmented) -> RhaiResult<Dynamic> {
    rhai::serde::to_dynamic(DefragView {
        host: &d.host,
        member: &d.member,
        db_size_before: d.db_size_before,
        db_size_after: d.db_size_after,
        seconds: d.seconds,
    })
}

#[derive(Serialize)]
struct SnapshotView<'a> {
    host: &'a str,
    path: &'a str,
    revision: i64,
    keys: i64,
    bytes: i64,
    sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<i64>,
}

fn snapshot_view(file: &SnapshotFile, with_hash: bool) -> RhaiResult<Dynamic> {
    rhai::serde::to_dynamic(SnapshotView {
        host: &file.host,
        path: &file.path,
        revision: file.revision,
        keys: file.keys,
        bytes: saturating_i64(file.bytes),
        sha256: &file.sha256,
        hash: with_hash.then_some(i64::from(file.hash)),
    })
}

/// A snapshot file's stand-in in a plan: the same keys, nothing read.
fn planned_snapshot(member: &EtcdMember, path: &str) -> SnapshotFile {
    SnapshotFile {
        host: member.host_name().to_string(),
        path: path.to_string(),
        revision: 0,
        keys: 0,
        bytes: 0,
        sha256: String::new(),
        hash: 0,
    }
}

fn cluster_client(ctx: &RunContext) -> RhaiResult<(etcd_client::Client, Vec<EtcdMember>)> {
    let members = ctx.etcd_members()?;
    let client = ctx.block_on(ctx.etcd.v3_cluster(&members))?;
    Ok((client, members))
}

fn run_disarm(etcd: &ScriptEtcd, kind: Option<&str>) -> RhaiResult<Array> {
    let ctx = &etcd.ctx;
    let kind = kind.map(alarms::alarm_type).transpose().map_err(to_rhai)?;
    if ctx.planned_change("etcd.disarm", || match kind {
        Some(kind) => format!("disarm every {} alarm", kind.as_str_name()),
        None => "disarm every alarm".to_string(),
    })? {
        return Ok(Array::new());
    }
    let (client, members) = cluster_client(ctx)?;
    let disarmed = ctx.block_on(alarms::disarm(&client, &members, kind))?;
    alarm_views(&disarmed)
}

fn run_defrag(etcd: &ScriptEtcd, host: &Dynamic, options: &Map) -> RhaiResult<Dynamic> {
    let ctx = &etcd.ctx;
    let (member, _) = args::member(ctx, host)?;
    let options = Options::new("etcd.defrag", options, &["timeout"])?;
    let timeout = options
        .duration("timeout")?
        .unwrap_or(defrag::DEFAULT_TIMEOUT);
    if ctx.planned_change("etcd.defrag", || {
        format!(
            "defragment etcd on {} (it blocks while it does)",
            member.host_name()
        )
    })? {
        return defrag_view(&Defragmented {
            host: member.host_name().to_string(),
            member: member.name.clone(),
            db_size_before: 0,
            db_size_after: 0,
            seconds: 0.0,
        });
    }
    ctx.reporter.status(&format!(
        "defragmenting etcd on {} (up to {})",
        member.host_name(),
        crate::duration::format_duration(timeout)
    ));
    let done = ctx.block_on(defrag::defrag(
        &ctx.etcd,
        &member,
        timeout,
        &ctx.cancel.token(),
    ))?;
    defrag_view(&done)
}

fn run_compact(etcd: &ScriptEtcd, revision: i64, options: &Map) -> RhaiResult<Map> {
    let ctx = &etcd.ctx;
    let options = Options::new("etcd.compact", options, &["physical"])?;
    let physical = options.bool("physical")?.unwrap_or(false);
    if revision < 1 {
        return Err(to_rhai(MaintenanceError::AlreadyCompacted {
            revision,
            compacted: 1,
        }));
    }
    let mut out = Map::new();
    out.insert("revision".into(), revision.into());
    if ctx.planned_change("etcd.compact", || {
        let how = if physical { " (physically)" } else { "" };
        format!("compact the etcd history up to revision {revision}{how}")
    })? {
        out.insert("compacted_from".into(), 0_i64.into());
        return Ok(out);
    }
    let (client, _) = cluster_client(ctx)?;
    let done = ctx.block_on(compact::compact(&client, revision, physical))?;
    out.insert("compacted_from".into(), done.compacted_from.into());
    Ok(out)
}

#[export_module]
pub mod maintenance_api {
    use super::*;

    /// The raised alarms: `[#{member, host, alarm}]`.
    #[rhai_fn(pure, return_raw)]
    pub fn alarms(etcd: &mut ScriptEtcd) -> RhaiResult<Array> {
        let ctx = &etcd.ctx;
        if ctx.planned_read(|| "the etcd alarms".into()) {
            return Ok(Array::new());
        }
        let (client, members) = cluster_client(ctx)?;
        let raised = ctx.block_on(alarms::list(&client, &members))?;
        alarm_views(&raised)
    }

    /// Disarms every alarm; returns those disarmed.
    #[rhai_fn(pure, return_raw)]
    pub fn disarm(etcd: &mut ScriptEtcd) -> RhaiResult<Array> {
        run_disarm(etcd, None)
    }

    /// Disarms the alarms of one kind (`"NOSPACE"`, `"CORRUPT"`).
    #[rhai_fn(name = "disarm", pure, return_raw)]
    pub fn disarm_kind(etcd: &mut ScriptEtcd, alarm: &str) -> RhaiResult<Array> {
        run_disarm(etcd, Some(alarm))
    }

    /// Defragments one member.
    #[rhai_fn(pure, return_raw)]
    pub fn defrag(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        run_defrag(etcd, &host, &Map::new())
    }

    /// `defrag(host, #{timeout})`.
    #[rhai_fn(name = "defrag", pure, return_raw)]
    pub fn defrag_with(etcd: &mut ScriptEtcd, host: Dynamic, options: Map) -> RhaiResult<Dynamic> {
        run_defrag(etcd, &host, &options)
    }

    /// Compacts the history up to `revision`.
    #[rhai_fn(pure, return_raw)]
    pub fn compact(etcd: &mut ScriptEtcd, revision: i64) -> RhaiResult<Map> {
        run_compact(etcd, revision, &Map::new())
    }

    /// `compact(revision, #{physical})`.
    #[rhai_fn(name = "compact", pure, return_raw)]
    pub fn compact_with(etcd: &mut ScriptEtcd, revision: i64, options: Map) -> RhaiResult<Map> {
        run_compact(etcd, revision, &options)
    }

    /// Saves a v3 snapshot of the member to `path` on its host.
    #[rhai_fn(pure, return_raw)]
    pub fn snapshot_save(etcd: &mut ScriptEtcd, host: Dynamic, path: &str) -> RhaiResult<Dynamic> {
        let ctx = &etcd.ctx;
        let (member, _) = args::member(ctx, &host)?;
        if ctx.planned_change("etcd.snapshot_save", || {
            format!(
                "save a v3 snapshot of etcd on {} to {path}",
                member.host_name()
            )
        })? {
            return snapshot_view(&planned_snapshot(&member, path), false);
        }
        let file = ctx.block_on(async {
            let transport = ctx.transport(&member.host).await?;
            snapshot::save(&transport, &member, path, &ctx.cancel.token()).await
        })?;
        snapshot_view(&file, false)
    }

    /// What a snapshot file on the member's host holds.
    #[rhai_fn(pure, return_raw)]
    pub fn snapshot_status(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        path: &str,
    ) -> RhaiResult<Dynamic> {
        let ctx = &etcd.ctx;
        let (member, _) = args::member(ctx, &host)?;
        if ctx.planned_read(|| format!("the snapshot {path} on {}", member.host_name())) {
            return snapshot_view(&planned_snapshot(&member, path), true);
        }
        let file = ctx.block_on(async {
            let transport = ctx.transport(&member.host).await?;
            snapshot::status(&transport, &member, path, &ctx.cancel.token()).await
        })?;
        snapshot_view(&file, true)
    }
}
