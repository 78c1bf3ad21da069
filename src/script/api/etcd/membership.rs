//! Rhai methods of `etcd`: identify, members, member add/remove/update, force-new-cluster, join.

use super::ScriptEtcd;
use crate::ops::etcd::host::member_host::MemberHost;
use crate::ops::etcd::membership::error::MembershipError;
use crate::ops::etcd::membership::force_new_cluster::{force_new_cluster, ForceOptions};
use crate::ops::etcd::membership::join::join;
use crate::ops::etcd::membership::members::{self as membership, client_through, ClusterMember};
use crate::ops::etcd::membership::ready::Readiness;
use crate::ops::etcd::migrate::migrated_store::{migrated_store, MigratedStoreError};
use crate::ops::etcd::EtcdMember;
use crate::script::api::args;
use crate::script::api::error::to_rhai;
use crate::script::api::options::Options;
use crate::script::api::views::{saturating_i64, PlannedOnHost};
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;

pub(super) async fn on_host(
    ctx: &RunContext,
    member: &EtcdMember,
) -> Result<MemberHost, MembershipError> {
    Ok(MemberHost::new(
        member.clone(),
        ctx.transport(&member.host).await?,
    ))
}

/// The readiness wait, with the `timeout` of a function's options.
pub(super) fn readiness(options: &Options) -> Result<Readiness, Box<EvalAltResult>> {
    let mut readiness = Readiness::default();
    if let Some(timeout) = options.duration("timeout")? {
        readiness.timeout = timeout;
    }
    Ok(readiness)
}

fn to_map<T: Serialize>(value: &T) -> Result<Dynamic, Box<EvalAltResult>> {
    rhai::serde::to_dynamic(value)
}

/// A member as `member list` would show it, in a plan: from what the run knows of it.
fn planned_member(ctx: &RunContext, member: &EtcdMember) -> ClusterMember {
    let id = ctx
        .facts()
        .identities()
        .and_then(|i| i.of(member.host_name()).and_then(|i| i.id.clone()))
        .unwrap_or_default();
    ClusterMember {
        id,
        name: member.name.clone(),
        peer_urls: vec![member.peer_url.clone()],
        client_urls: vec![member.endpoint.client_url.clone()],
        is_learner: false,
    }
}

/// What `etcd.force_new_cluster` returns.
#[derive(Serialize)]
struct ForcedView<'a> {
    host: &'a str,
    member_id: &'a str,
    /// The first of `peer_urls`.
    peer_url: &'a str,
    peer_urls: &'a [String],
    /// The data held etcd's default peer URL (restored by `etcdctl backup`) and the member's
    /// own was set back.
    peer_url_restored: bool,
    conf_backup: &'a str,
    resumed: bool,
}

/// What a planned `etcd.member_update` returns: the member as it is known now.
#[derive(Serialize)]
struct PlannedUpdateView<'a> {
    name: &'a str,
    peer_urls: [&'a str; 1],
    planned: bool,
}

/// What `etcd.join` returns.
#[derive(Serialize)]
struct JoinedView<'a> {
    host: &'a str,
    member_id: &'a str,
    moved_to: Option<&'a str>,
    initial_cluster: &'a str,
    conf_backup: &'a str,
    raft_index: i64,
    already_joined: bool,
    /// It joined as a learner (etcd 3.4 and later) and was promoted once caught up.
    promoted: bool,
}

/// What `etcd.member_add` returns.
#[derive(Serialize)]
struct AddedView<'a> {
    id: &'a str,
    initial_cluster: &'a str,
    already_present: bool,
}

fn force(etcd: &ScriptEtcd, host: &Dynamic, options: &Map) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let known = Options::new("etcd.force_new_cluster", options, &["timeout", "restart"])?;
    let restart = known.bool("restart")?.unwrap_or(true);
    let readiness = readiness(&known)?;
    let (member, others) = args::member(ctx, host)?;
    if ctx.planned_change("etcd.force_new_cluster", || {
        format!(
            "start {} as a new one-member cluster (ETCD_FORCE_NEW_CLUSTER=true, then {})",
            member.host_name(),
            if restart {
                "restarted without it"
            } else {
                "taken out of etcd.conf"
            }
        )
    })? {
        return to_map(&PlannedOnHost::new(member.host_name()));
    }
    let forced = ctx.block_on(async {
        let first = on_host(ctx, &member).await?;
        let migrated_index = migrated_index(ctx, &first).await?;
        let mut rest = Vec::new();
        for other in &others {
            rest.push(on_host(ctx, other).await?);
        }
        force_new_cluster(
            &ctx.etcd,
            &first,
            &rest,
            ForceOptions {
                restart,
                migrated_index,
                readiness,
            },
            &ctx.reporter,
            &ctx.cancel.token(),
        )
        .await
    })?;
    to_map(&ForcedView {
        host: &forced.host,
        member_id: &forced.member_id,
        peer_url: forced.peer_urls.first().map_or("", String::as_str),
        peer_urls: &forced.peer_urls,
        peer_url_restored: forced.peer_url_restored,
        conf_backup: &forced.conf_backup,
        resumed: forced.resumed,
    })
}

/// The consistent index `etcdctl migrate` gave the member's backend (the last entry of the
/// WAL it migrated), if this member was migrated by `etcd.migrate`.
pub(super) async fn migrated_index(
    ctx: &RunContext,
    first: &MemberHost,
) -> Result<Option<u64>, MembershipError> {
    let found = migrated_store(
        &ctx.v2_stores,
        &first.transport,
        &first.member,
        &ctx.cancel.token(),
    )
    .await;
    match found {
        Ok(store) => Ok(Some(store.last_index)),
        Err(MigratedStoreError::NotMigrated { .. } | MigratedStoreError::OtherMember { .. }) => {
            Ok(None)
        }
        Err(error) => Err(MembershipError::Request {
            operation: "reading the migrated v2 store",
            endpoints: first.member.host_name().to_string(),
            reason: crate::ops::etcd::host::step::error_chain(&error),
        }),
    }
}

fn join_member(
    etcd: &ScriptEtcd,
    host: &Dynamic,
    options: &Map,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let known = Options::new("etcd.join", options, &["timeout", "learner"])?;
    let learner = known.bool("learner")?;
    let readiness = readiness(&known)?;
    let (member, others) = args::member(ctx, host)?;
    if ctx.planned_change("etcd.join", || format!("join {} to the cluster (its member dir moved aside, member add, etcd.conf rewritten, started)", member.host_name()))? {
        ctx.member_added(member.host_name());
        return to_map(&PlannedOnHost::new(member.host_name()));
    }
    let joined = ctx.block_on(async {
        let joining = on_host(ctx, &member).await?;
        let running: Vec<&EtcdMember> = others.iter().collect();
        join(
            &ctx.etcd,
            &joining,
            &running,
            learner,
            readiness,
            &ctx.reporter,
            &ctx.cancel.token(),
        )
        .await
    })?;
    ctx.member_added(member.host_name());
    to_map(&JoinedView {
        host: &joined.host,
        member_id: &joined.member_id,
        moved_to: joined.moved_to.as_deref(),
        initial_cluster: &joined.initial_cluster,
        conf_backup: &joined.conf_backup,
        raft_index: saturating_i64(joined.raft_index),
        already_joined: joined.already_joined,
        promoted: joined.promoted,
    })
}

/// Identifies the members afresh, records who they are for the rest of the run, prints the
/// mapping, and refuses when the cluster and the inventory disagree about who is a member.
fn identify_members(etcd: &ScriptEtcd) -> Result<Array, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let listed = ctx.inventory.group("etcd").unwrap_or_default();
    if listed.is_empty() {
        // The same refusal as every other etcd primitive (embedded etcd, no [etcd]).
        ctx.etcd_members()?;
    }
    let members = listed
        .into_iter()
        .map(EtcdMember::from_host)
        .collect::<Result<Vec<_>, _>>()
        .map_err(to_rhai)?;
    let found = ctx.identify(&members, true)?;
    let tried: Vec<String> = members
        .iter()
        .map(|m| format!("{} at {}", m.host_name(), m.endpoint.client_url))
        .collect();
    found.expect_matched(&tried).map_err(to_rhai)?;
    for identity in &found.members {
        let Some(member) = members.iter().find(|m| m.host_name() == identity.host) else {
            continue;
        };
        for note in identity.differences_from(member) {
            ctx.reporter.status(&note);
        }
    }
    ctx.reporter
        .status(&format!("etcd members:\n{}", found.table()));
    let maps = found.members.iter().map(to_map).collect();
    ctx.facts().record_identities(found);
    maps
}

#[export_module]
pub mod membership_api {
    use super::*;

    /// Matches every host of [etcd] with a member of the running cluster (`member list`, each
    /// host's etcd.conf) and records who they are for the rest of the run; refuses when a
    /// host is no member or a member no host. `#{host, name, id, peer_urls, client_urls,
    /// data_dir, source}` each.
    #[rhai_fn(pure, return_raw)]
    pub fn identify(etcd: &mut ScriptEtcd) -> Result<Array, Box<EvalAltResult>> {
        identify_members(etcd)
    }

    /// `member update`: gives the host's member the peer URL `peer_url`. Nothing else changes
    /// a member's peer URL.
    #[rhai_fn(pure, return_raw)]
    pub fn member_update(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        peer_url: &str,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        // A master outside [etcd] names the etcd embedded in it, a cluster of one.
        let member = args::member_or_embedded(ctx, &host)?;
        let others: Vec<EtcdMember> =
            if member.host.var_str("runbook_etcd_layout").as_deref() == Some("embedded") {
                Vec::new()
            } else {
                args::member(ctx, &host)?.1
            };
        if ctx.planned_change("etcd.member_update", || {
            format!(
                "member update {}: peer URL {} -> {peer_url}",
                member.host_name(),
                member.peer_url
            )
        })? {
            return to_map(&PlannedUpdateView {
                name: &member.name,
                peer_urls: [&member.peer_url],
                planned: true,
            });
        }
        let before = ctx.block_on(async {
            let mut through: Vec<&EtcdMember> = vec![&member];
            through.extend(others.iter());
            let (mut client, via) = client_through(&ctx.etcd, &through, "update a member").await?;
            membership::update(
                &mut client,
                &via.endpoint.client_url,
                &member,
                vec![peer_url.to_string()],
            )
            .await
        })?;
        ctx.reporter.status(&format!(
            "{}: peer URL {} -> {peer_url}",
            member.host_name(),
            before.peer_urls.join(",")
        ));
        // Later steps must know the member by its new URL.
        let known = ctx.facts().identities().cloned();
        if let Some(mut known) = known {
            if let Some(identity) = known
                .members
                .iter_mut()
                .find(|i| i.host == member.host_name())
            {
                identity.peer_urls = vec![peer_url.to_string()];
            }
            ctx.facts().record_identities(known);
        }
        to_map(&before)
    }

    /// The members the cluster knows: `#{id, name, peer_urls, client_urls, is_learner}` each.
    #[rhai_fn(pure, return_raw)]
    pub fn members(etcd: &mut ScriptEtcd) -> Result<Array, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        if ctx.planned_read(|| "list the cluster's members".into()) {
            return ctx
                .live_members()?
                .iter()
                .map(|m| to_map(&planned_member(ctx, m)))
                .collect();
        }
        let all = ctx.etcd_members()?;
        let listed = ctx.block_on(async {
            let refs: Vec<&EtcdMember> = all.iter().collect();
            let (mut client, through) = client_through(&ctx.etcd, &refs, "list members").await?;
            membership::list(&mut client, &through.endpoint.client_url).await
        })?;
        listed.iter().map(to_map).collect()
    }

    /// Adds a host of the [etcd] group to the running cluster (`member add`, retried; an
    /// earlier add of the same peer URL counts). Returns `#{id, initial_cluster, already_present}`.
    #[rhai_fn(pure, return_raw)]
    pub fn member_add(etcd: &mut ScriptEtcd, host: Dynamic) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        let (member, others) = args::member(ctx, &host)?;
        if ctx.planned_change("etcd.member_add", || {
            format!("member add {} ({})", member.host_name(), member.peer_url)
        })? {
            ctx.member_added(member.host_name());
            return to_map(&AddedView {
                id: "",
                initial_cluster: "",
                already_present: false,
            });
        }
        let added = ctx.block_on(async {
            let running: Vec<&EtcdMember> = others.iter().collect();
            let (mut client, through) = client_through(&ctx.etcd, &running, "add a member").await?;
            membership::add(&mut client, &through.endpoint.client_url, &member, false).await
        })?;
        ctx.member_added(member.host_name());
        to_map(&AddedView {
            id: &added.id,
            initial_cluster: &added.initial_cluster,
            already_present: added.already_present,
        })
    }

    /// Removes a host's member from the cluster. Returns the removed member.
    #[rhai_fn(pure, return_raw)]
    pub fn member_remove(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = &etcd.ctx;
        let (member, others) = args::member(ctx, &host)?;
        if ctx.planned_change("etcd.member_remove", || {
            format!("member remove {}", member.host_name())
        })? {
            ctx.member_removed(member.host_name());
            return to_map(&planned_member(ctx, &member));
        }
        let removed = ctx.block_on(async {
            let through: Vec<&EtcdMember> = others.iter().collect();
            let (mut client, via) = client_through(&ctx.etcd, &through, "remove a member").await?;
            membership::remove(&mut client, &via.endpoint.client_url, &member).await
        })?;
        ctx.member_removed(member.host_name());
        to_map(&removed)
    }

    /// Starts a stopped member as a new one-member cluster with its data
    /// (`ETCD_FORCE_NEW_CLUSTER=true`, then without it), every other member stopped.
    #[rhai_fn(pure, return_raw)]
    pub fn force_new_cluster(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        force(etcd, &host, &Map::new())
    }

    /// `force_new_cluster` with options: `#{timeout: "2m"}` for each wait; `restart: false`
    /// takes the flag out of etcd.conf once etcd serves without restarting it (the flag acts
    /// only at boot; the restart costs a second load of the store).
    #[rhai_fn(name = "force_new_cluster", pure, return_raw)]
    pub fn force_new_cluster_with(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        force(etcd, &host, &options)
    }

    /// Joins a stopped member to the running cluster: its old data moved to
    /// `member.old.<stamp>`, `member add` (a learner on etcd 3.4 and later), etcd.conf
    /// rewritten, started, caught up, then promoted.
    #[rhai_fn(pure, return_raw)]
    pub fn join(etcd: &mut ScriptEtcd, host: Dynamic) -> Result<Dynamic, Box<EvalAltResult>> {
        join_member(etcd, &host, &Map::new())
    }

    /// `join` with options: `#{timeout: "2m"}`, and `learner: false` to join as a voting
    /// member even where etcd has learners (a v2 cluster that `etcdctl migrate` will read:
    /// etcd 3.4's migrate cannot replay a learner's addition and panics).
    #[rhai_fn(name = "join", pure, return_raw)]
    pub fn join_with(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        join_member(etcd, &host, &options)
    }
}
