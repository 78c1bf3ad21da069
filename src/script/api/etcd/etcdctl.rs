//! `etcd.etcdctl(host, args[, #{api, json, read_only}])`: etcdctl run on the member's host,
//! pointed at that member (its client URL and TLS files there); the work is in
//! `ops::etcd::etcdctl`.

use super::ScriptEtcd;
use crate::ops::etcd::etcdctl::command::{self as etcdctl, Api, EtcdctlCall};
use crate::script::api::args;
use crate::script::api::error::{to_rhai, ScriptError};
use crate::script::api::options::{Options, OPTION};
use crate::transport::shell_quote;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// The code of `args` that is neither a string nor an array of strings.
pub const BAD_ARGS: &str = "runbook::etcd::etcdctl::args";

/// `args` as shell text: an array's strings each quoted, or one string as it is.
fn args_text(args: &Dynamic) -> RhaiResult<String> {
    let bad = |what: String| {
        ScriptError::new(
            format!("etcd.etcdctl: args must be a string or an array of strings, {what}"),
            BAD_ARGS,
            Some("for example [\"get\", \"/a\", \"--prefix\"] or \"member list\"".into()),
        )
        .into_rhai()
    };
    if args.is_string() {
        return Ok(args.to_string());
    }
    let Some(array) = args.clone().try_cast::<Array>() else {
        return Err(bad(format!("not {}", args.type_name())));
    };
    let mut words = Vec::with_capacity(array.len());
    for word in &array {
        if !word.is_string() {
            return Err(bad(format!("not an array holding {}", word.type_name())));
        }
        words.push(shell_quote(&word.to_string()));
    }
    Ok(words.join(" "))
}

fn run(etcd: &ScriptEtcd, host: &Dynamic, args: &Dynamic, options: &Map) -> RhaiResult<Dynamic> {
    let ctx = &etcd.ctx;
    let (member, _) = args::member(ctx, host)?;
    let text = args_text(args)?;
    let options = Options::new("etcd.etcdctl", options, &["api", "json", "read_only"])?;
    let api = match options.count("api", 2)? {
        None | Some(3) => Api::V3,
        Some(2) => Api::V2,
        Some(other) => {
            return Err(ScriptError::new(
                format!("etcd.etcdctl option `api` must be 2 or 3, not {other}"),
                OPTION,
                Some("for example #{api: 2} for etcdctl's v2 commands".into()),
            )
            .into_rhai())
        }
    };
    let json = options.bool("json")?.unwrap_or(false);
    let read_only = options.bool("read_only")?.unwrap_or(false);
    let action = || {
        format!(
            "etcdctl {text} on {} (API {})",
            member.host_name(),
            api.number()
        )
    };
    let planned = if read_only {
        ctx.planned_read(action)
    } else {
        ctx.planned_change("etcd.etcdctl", action)?
    };
    if planned {
        return Ok(if json {
            Dynamic::from_map(Map::new())
        } else {
            Dynamic::from(String::new())
        });
    }
    let call = EtcdctlCall {
        api,
        args: text,
        json,
        timeout: None,
    };
    let output = ctx.block_on(async {
        let transport = ctx
            .transport(&member.host)
            .await
            .map_err(etcdctl::EtcdctlError::from)?;
        etcdctl::run(&transport, &member, &call, &ctx.cancel.token()).await
    })?;
    if json {
        let value = etcdctl::stdout_json(&member, &call, &output).map_err(to_rhai)?;
        return rhai::serde::to_dynamic(value);
    }
    Ok(etcdctl::stdout_text(&output).into())
}

#[export_module]
pub mod etcdctl_api {
    use super::*;

    /// Runs etcdctl on the member's host against that member; returns its stdout.
    #[rhai_fn(pure, return_raw)]
    pub fn etcdctl(etcd: &mut ScriptEtcd, host: Dynamic, args: Dynamic) -> RhaiResult<Dynamic> {
        run(etcd, &host, &args, &Map::new())
    }

    /// `etcdctl(host, args, #{api: 2|3, json, read_only})`.
    #[rhai_fn(name = "etcdctl", pure, return_raw)]
    pub fn etcdctl_with(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        args: Dynamic,
        options: Map,
    ) -> RhaiResult<Dynamic> {
        run(etcd, &host, &args, &options)
    }
}
