//! Reading the etcd member a script passes to a primitive (a host of `[etcd]` or its name,
//! or a master for the etcd embedded in it), or the master (a host of `[masters]`): one
//! reader, so that the same mistake gets the same message and code everywhere. Options maps
//! have theirs in `options`.

use super::error::ScriptError;
use super::host::ScriptHost;
use crate::inventory::Host;
use crate::ops::etcd::EtcdMember;
use crate::script::context::RunContext;
use rhai::{Dynamic, EvalAltResult};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// The code of an argument that is not a host (or host name) at all.
pub const NOT_A_HOST: &str = "runbook::etcd::not_a_host";
/// The code of a host that is not in the `[etcd]` group.
pub const NOT_A_MEMBER: &str = "runbook::etcd::not_a_member";
/// The code of a host that is not in the `[masters]` group.
pub const NOT_A_MASTER: &str = "runbook::master::not_a_master";

/// The host name in a host or host-name argument; `what` names the argument in the error.
pub fn host_name(value: &Dynamic, what: &str) -> RhaiResult<String> {
    if let Some(host) = value.clone().try_cast::<ScriptHost>() {
        return Ok(host.name().to_string());
    }
    if value.is_string() {
        return Ok(value.to_string());
    }
    Err(ScriptError::new(
        format!(
            "{what} must be an etcd host or its name, not {}",
            value.type_name()
        ),
        NOT_A_HOST,
        Some("pass a host from `inventory.group(\"etcd\")` or its name".into()),
    )
    .into_rhai())
}

/// The `[etcd]` member running on the host named `name`.
pub fn member_named(ctx: &RunContext, name: &str) -> RhaiResult<EtcdMember> {
    let members = ctx.etcd_members()?;
    let names: Vec<String> = members.iter().map(|m| m.host_name().to_string()).collect();
    members
        .into_iter()
        .find(|m| m.host_name() == name)
        .ok_or_else(|| {
            ScriptError::new(
                format!("{name} is not in the inventory's [etcd] group"),
                NOT_A_MEMBER,
                Some(format!("the etcd members are: {}", names.join(", "))),
            )
            .into_rhai()
        })
}

/// The etcd member a script names (a host of `[etcd]` or its name), and the other members.
pub fn member(ctx: &RunContext, value: &Dynamic) -> RhaiResult<(EtcdMember, Vec<EtcdMember>)> {
    let member = member_named(ctx, &host_name(value, "the host")?)?;
    let others = ctx
        .etcd_members()?
        .into_iter()
        .filter(|m| m.host_name() != member.host_name())
        .collect();
    Ok((member, others))
}

/// The etcd a primitive for embedded etcd names: the `[etcd]` member on that host, or, for
/// a master outside `[etcd]`, the etcd embedded in it (`Inventory::as_embedded_etcd`), so
/// that a runbook moving that etcd out can reach it while `[etcd]` lists the new member.
pub fn member_or_embedded(ctx: &RunContext, value: &Dynamic) -> RhaiResult<EtcdMember> {
    let name = host_name(value, "the host")?;
    let members = ctx.etcd_members()?;
    if let Some(member) = members.iter().find(|m| m.host_name() == name) {
        return Ok(member.clone());
    }
    let is_master = ctx
        .inventory
        .group("masters")
        .unwrap_or_default()
        .iter()
        .any(|h| h.name == name);
    let host = is_master
        .then(|| ctx.inventory.as_embedded_etcd(&name))
        .flatten();
    let Some(host) = host else {
        return member_named(ctx, &name).map_err(|_| {
            ScriptError::new(
                format!("{name} is neither in the inventory's [etcd] group nor a master"),
                NOT_A_MEMBER,
                Some("name an etcd member, or the master whose etcd is embedded in it".into()),
            )
            .into_rhai()
        });
    };
    EtcdMember::from_host(&host).map_err(super::error::to_rhai)
}

/// The `[masters]` host a script names (a host or its name); `what` names the argument.
pub fn master(ctx: &RunContext, value: &Dynamic, what: &str) -> RhaiResult<Host> {
    let name = match value.clone().try_cast::<ScriptHost>() {
        Some(host) => host.name().to_string(),
        None if value.is_string() => value.to_string(),
        None => {
            return Err(ScriptError::new(
                format!(
                    "{what} must be a master or its name, not {}",
                    value.type_name()
                ),
                NOT_A_HOST,
                Some("pass a host from `inventory.group(\"masters\")` or its name".into()),
            )
            .into_rhai())
        }
    };
    let masters = ctx.inventory.group("masters").unwrap_or_default();
    if let Some(host) = masters.iter().find(|h| h.name == name) {
        return Ok((*host).clone());
    }
    let names: Vec<&str> = masters.iter().map(|h| h.name.as_str()).collect();
    Err(ScriptError::new(
        format!("{what} {name} is not in the inventory's [masters] group"),
        NOT_A_MASTER,
        Some(if names.is_empty() {
            "list the OpenShift masters under [masters]".to_string()
        } else {
            format!("the masters are: {}", names.join(", "))
        }),
    )
    .into_rhai())
}
