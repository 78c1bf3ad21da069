//! Rhai methods of `etcd` for moving etcd's data to a new member: the verified backup
//! copied across hosts, the new member's etcd.conf, and the check that the new member
//! serves the v3 data of the etcd it came from (fingerprints compared).

use super::ScriptEtcd;
use crate::ops::etcd::backup::verify as backup_verify;
use crate::ops::etcd::host::member_host::{stamp, MemberHost};
use crate::ops::etcd::membership::error::MembershipError;
use crate::ops::etcd::relocate::fingerprint;
use crate::ops::etcd::relocate::new_conf;
use crate::ops::etcd::relocate::transfer::{self, TransferError};
use crate::script::api::args;
use crate::script::api::options::Options;
use crate::script::api::views::PlannedOnHost;
use crate::transport::files::FileError;
use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult};
use serde::Serialize;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// What `etcd.write_new_conf` returns.
#[derive(Serialize)]
struct ConfView<'a> {
    host: &'a str,
    path: &'a str,
    /// `created`, `kept` (it already said the same) or `replaced`; `planned` in check mode.
    action: &'a str,
    /// The copy of the file it replaced.
    copy: Option<String>,
    name: &'a str,
    client_url: &'a str,
    peer_url: &'a str,
}

/// `etcd.copy_backup(from, to[, options])`.
fn copy(
    etcd: &ScriptEtcd,
    from: &Dynamic,
    to: &Dynamic,
    options: &rhai::Map,
) -> RhaiResult<Dynamic> {
    let ctx = &etcd.ctx;
    let known = Options::new("etcd.copy_backup", options, &["aside"])?;
    let aside = known.bool("aside")?.unwrap_or(false).then(stamp);
    let source = args::member_or_embedded(ctx, from)?;
    let target = args::member_or_embedded(ctx, to)?;
    if ctx.planned_change("etcd.copy_backup", || {
        format!(
            "copy the newest verified backup of {} into {} on {}",
            source.host_name(),
            target.data_dir,
            target.host_name()
        )
    })? {
        return rhai::serde::to_dynamic(PlannedOnHost::new(target.host_name()));
    }
    let recorded = ctx
        .facts()
        .backup_of(source.host_name())
        .map(|b| b.dir.clone());
    let copied = ctx.block_on(async {
        let from = ctx
            .transport(&source.host)
            .await
            .map_err(|e| TransferError::from(FileError::from(e)))?;
        let to = ctx
            .transport(&target.host)
            .await
            .map_err(|e| TransferError::from(FileError::from(e)))?;
        let backup = match recorded {
            Some(dir) => dir,
            None => backup_verify::latest_backup_dir(&from, &source.data_dir, &ctx.cancel.token())
                .await
                .map_err(TransferError::from)?,
        };
        transfer::transfer_backup(
            &from,
            &backup,
            &to,
            &target.data_dir,
            aside.as_deref(),
            &ctx.reporter,
            &ctx.cancel.token(),
        )
        .await
    })?;
    ctx.reporter.status(&if copied.already {
        format!(
            "{}: {} already holds {}",
            copied.host, copied.member_dir, copied.backup
        )
    } else {
        format!(
            "{}: {} files ({} bytes) of {} on {} copied into {}, checksums matching",
            copied.host,
            copied.files,
            copied.bytes,
            copied.backup,
            copied.from_host,
            copied.member_dir
        )
    });
    rhai::serde::to_dynamic(&copied)
}

/// A fingerprint argument: one `v3_fingerprint` returned, or taken now of a host.
fn fingerprint_of(
    ctx: &crate::script::context::RunContext,
    value: &Dynamic,
) -> RhaiResult<fingerprint::Fingerprint> {
    if value.is_map() {
        return rhai::serde::from_dynamic(value).map_err(|e| {
            crate::script::api::error::ScriptError::new(
                format!("not a v3 fingerprint: {e}"),
                args::NOT_A_HOST,
                Some("pass a host, or what etcd.v3_fingerprint(host) returned".into()),
            )
            .into_rhai()
        });
    }
    let member = args::member_or_embedded(ctx, value)?;
    ctx.block_on(fingerprint::fingerprint(&ctx.etcd, &member))
}

#[export_module]
pub mod relocate_api {
    use super::*;

    /// Copies the newest verified backup of `from` (the one `etcd.backup` recorded, else
    /// the newest in its data dir) into the data dir of `to`, which must hold no
    /// `member` directory yet: through runbook, file by file in chunks, the backup
    /// re-hashed against its manifest first and the copy hashed on `to` before it is
    /// renamed to `member`. A second call finds the copy in place. Returns `#{from_host,
    /// backup, host, member_dir, files, bytes, already}`.
    #[rhai_fn(pure, return_raw)]
    pub fn copy_backup(etcd: &mut ScriptEtcd, from: Dynamic, to: Dynamic) -> RhaiResult<Dynamic> {
        copy(etcd, &from, &to, &rhai::Map::new())
    }

    /// `copy_backup` with options: `#{aside: true}` moves other data in the data dir of
    /// `to` aside (`member.old.<stamp>`, never deleted) instead of refusing.
    #[rhai_fn(name = "copy_backup", pure, return_raw)]
    pub fn copy_backup_with(
        etcd: &mut ScriptEtcd,
        from: Dynamic,
        to: Dynamic,
        options: rhai::Map,
    ) -> RhaiResult<Dynamic> {
        copy(etcd, &from, &to, &options)
    }

    /// Writes the etcd.conf of a member that has none yet, as openshift-ansible's
    /// `etcd.conf.j2` does from the inventory (name, URLs, data dir, TLS files), for a
    /// cluster of that one member. A file that already says the same is kept; another is
    /// kept as a copy (`etcd.conf.runbook-<stamp>`) and replaced. Returns `#{host, path,
    /// action, copy, name, client_url, peer_url}`.
    #[rhai_fn(pure, return_raw)]
    pub fn write_new_conf(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        let ctx = &etcd.ctx;
        let (member, _) = args::member(ctx, &host)?;
        let text = new_conf::render(&member);
        let view = |action, copy| ConfView {
            host: member.host_name(),
            path: &member.conf_file,
            action,
            copy,
            name: &member.name,
            client_url: &member.endpoint.client_url,
            peer_url: &member.peer_url,
        };
        if ctx.planned_change("etcd.write_new_conf", || {
            format!("write {} on {}", member.conf_file, member.host_name())
        })? {
            // What the file will say is known from the inventory already.
            return rhai::serde::to_dynamic(view("planned", None));
        }
        let (action, copy) = ctx.block_on(async {
            let on = MemberHost::new(
                member.clone(),
                ctx.transport(&member.host)
                    .await
                    .map_err(MembershipError::from)?,
            );
            let cancel = ctx.cancel.token();
            let found = on
                .transport
                .read_existing(&member.conf_file, &cancel)
                .await?;
            let found = found.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
            let (action, copy) = match &found {
                Some(found) if new_conf::says_the_same(found, &member) => {
                    return Ok(("kept", None))
                }
                Some(found) => (
                    "replaced",
                    Some(on.backup_conf(found, &stamp(), &cancel).await?),
                ),
                None => ("created", None),
            };
            on.write_conf(&text, &cancel).await?;
            Ok::<_, MembershipError>((action, copy))
        })?;
        ctx.reporter.status(&format!(
            "{}: {} {action}{}",
            member.host_name(),
            member.conf_file,
            copy.as_deref()
                .map(|c| format!(" (the old one kept as {c})"))
                .unwrap_or_default()
        ));
        rhai::serde::to_dynamic(view(action, copy))
    }

    /// The revision, number of keys and `HashKV` of the v3 data a member serves (or a
    /// master whose embedded etcd runs on its own): taken while nothing writes, it tells
    /// whether a copy holds the same data (`etcd.compare_v3`). Returns `#{host, revision,
    /// keys, hash, compact_revision}`.
    #[rhai_fn(pure, return_raw)]
    pub fn v3_fingerprint(etcd: &mut ScriptEtcd, host: Dynamic) -> RhaiResult<Dynamic> {
        let ctx = &etcd.ctx;
        let member = args::member_or_embedded(ctx, &host)?;
        if ctx.planned_read(|| {
            format!(
                "read the v3 revision, key count and hashkv of {}",
                member.host_name()
            )
        }) {
            return rhai::serde::to_dynamic(PlannedOnHost::new(member.host_name()));
        }
        let print = ctx.block_on(fingerprint::fingerprint(&ctx.etcd, &member))?;
        rhai::serde::to_dynamic(&print)
    }

    /// Checks that `copy` holds the v3 data `origin` held: each a host that serves now (a
    /// member, or a master whose embedded etcd runs on its own) or what `v3_fingerprint`
    /// returned earlier. The same revision, key count and `HashKV` cover every key, value
    /// and revision. Throws naming what differs; returns `#{origin, copy}`, the two
    /// fingerprints.
    #[rhai_fn(pure, return_raw)]
    pub fn compare_v3(
        etcd: &mut ScriptEtcd,
        origin: Dynamic,
        copy: Dynamic,
    ) -> RhaiResult<Dynamic> {
        let ctx = &etcd.ctx;
        let name = |value: &Dynamic| match value.clone().try_cast::<rhai::Map>() {
            Some(map) => map.get("host").map(|h| h.to_string()).unwrap_or_default(),
            None => args::host_name(value, "each side").unwrap_or_default(),
        };
        if ctx.planned_read(|| {
            format!(
                "compare the v3 data of {} and {} (revision, key count, hashkv)",
                name(&origin),
                name(&copy)
            )
        }) {
            let mut planned = rhai::Map::new();
            for (side, value) in [("origin", &origin), ("copy", &copy)] {
                planned.insert(
                    side.into(),
                    rhai::serde::to_dynamic(PlannedOnHost::new(&name(value)))?,
                );
            }
            planned.insert("planned".into(), true.into());
            return Ok(planned.into());
        }
        let origin = fingerprint_of(ctx, &origin)?;
        let copy = fingerprint_of(ctx, &copy)?;
        fingerprint::compare(&origin, &copy).map_err(crate::script::api::error::to_rhai)?;
        ctx.reporter.status(&format!(
            "{}: the same v3 data as {} ({} keys at revision {}, hash {})",
            copy.host, origin.host, copy.keys, copy.revision, copy.hash
        ));
        let mut both = rhai::Map::new();
        both.insert("origin".into(), rhai::serde::to_dynamic(&origin)?);
        both.insert("copy".into(), rhai::serde::to_dynamic(&copy)?);
        Ok(both.into())
    }
}
