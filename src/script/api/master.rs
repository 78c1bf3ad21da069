//! The `master` global: the OpenShift masters' config (etcd3 storage on or off,
//! the TTLs it implies) and their services.

use super::error::{to_rhai, ScriptError};
use super::options::Options;
use super::views::saturating_i64;
use crate::duration::format_duration;
use crate::inventory::Host;
use crate::ops::etcd::host::member_host::stamp;
use crate::ops::master::config_file::{
    config_path, embedded_original, switch, ConfigFileError, Switch,
};
use crate::ops::master::etcd_client_config::EXTERNAL_ETCD_CA;
use crate::ops::master::services::{self, MasterServiceError};
use crate::ops::master::ttl_durations;
use crate::ops::service::ServiceError;
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// The `master` global.
#[derive(Clone)]
pub struct ScriptMaster {
    pub ctx: Arc<RunContext>,
}

impl ScriptMaster {
    fn hosts(&self) -> Result<Vec<Host>, Box<EvalAltResult>> {
        match self.ctx.inventory.group("masters") {
            Some(hosts) if !hosts.is_empty() => Ok(hosts.into_iter().cloned().collect()),
            _ => Err(ScriptError::new(
                "the inventory has no hosts in [masters]",
                "runbook::master::no_masters",
                Some("list the OpenShift masters under [masters]".into()),
            )
            .into_rhai()),
        }
    }

    fn switch_all(&self, direction: Switch) -> Result<Array, Box<EvalAltResult>> {
        let ctx = &self.ctx;
        let hosts = self.hosts()?;
        let what = match &direction {
            Switch::Etcd3 => "set storage-backend: [etcd3] and storage-media-type in".to_string(),
            Switch::Default => "remove storage-backend and storage-media-type from".to_string(),
            Switch::ExternalEtcd { urls, ca } => format!(
                "set etcdClientInfo to urls {} and ca {ca}, and remove etcdConfig, in",
                urls.join(", ")
            ),
            Switch::EmbeddedEtcd => {
                "put back the copy with the embedded etcdConfig taken before the move to external etcd of"
                    .to_string()
            }
        };
        if ctx.planned_change(switch_primitive(&direction), || {
            let files: Vec<String> = hosts
                .iter()
                .map(|h| format!("{}:{}", h.name, config_path(h)))
                .collect();
            format!("{what} {}", files.join(", "))
        })? {
            return Ok(Array::new());
        }
        let stamp = stamp();
        let mut results = Array::new();
        for host in hosts {
            let change = ctx.block_on(async {
                let transport = ctx
                    .transport(&host)
                    .await
                    .map_err(|e| ConfigFileError::File(e.into()))?;
                switch(
                    &host,
                    &transport,
                    direction.clone(),
                    &stamp,
                    &ctx.cancel.token(),
                )
                .await
            })?;
            if change.changed {
                ctx.reporter.status(&format!(
                    "{}: {} changed (copy: {})",
                    host.name,
                    change.path,
                    change.backup.as_deref().unwrap_or("")
                ));
                ctx.reporter.status(change.diff.trim_end());
            } else {
                ctx.reporter
                    .status(&format!("{}: {} already as wanted", host.name, change.path));
            }
            results.push(rhai::serde::to_dynamic(&change)?);
        }
        Ok(results)
    }

    fn use_external(&self, urls: Array, options: &Map) -> Result<Array, Box<EvalAltResult>> {
        let options = Options::new("master.use_external_etcd", options, &["ca"])?;
        let ca = options
            .string("ca")?
            .unwrap_or_else(|| EXTERNAL_ETCD_CA.to_string());
        let urls: Vec<String> = urls.into_iter().map(|u| u.to_string()).collect();
        if urls.is_empty() || urls.iter().any(|u| !u.contains("://")) {
            return Err(ScriptError::new(
                format!("master.use_external_etcd needs the members' client URLs, got {urls:?}"),
                "runbook::master::etcd_urls",
                Some(
                    "pass them as scheme://host:port, e.g. [\"https://etcd1.example.com:2379\"]"
                        .into(),
                ),
            )
            .into_rhai());
        }
        self.switch_all(Switch::ExternalEtcd { urls, ca })
    }

    fn restart_all(&self, wait: Duration) -> Result<Array, Box<EvalAltResult>> {
        let ctx = &self.ctx;
        let hosts = self.hosts()?;
        let masters = hosts.len();
        if ctx.planned_change("master.restart", || {
            describe_services("restart", &hosts, false)
        })? {
            return planned_services(&hosts, false);
        }
        let mut results = Array::new();
        for host in hosts {
            let restarted = ctx.block_on(async {
                let transport = ctx.transport(&host).await.map_err(ServiceError::from)?;
                services::restart(&host, masters, &transport, wait, &ctx.cancel.token()).await
            })?;
            results.push(services_view(&host, restarted)?);
        }
        let now = chrono::Utc::now();
        if let Some(outage) = ctx.facts().record_masters_restarted(now) {
            ctx.reporter.api_up(outage.stopped_at, now);
        }
        Ok(results)
    }
}

/// What a planned stop or restart returns: each master's services, as the real one does.
fn planned_services(hosts: &[Host], reverse: bool) -> Result<Array, Box<EvalAltResult>> {
    hosts
        .iter()
        .map(|h| {
            let mut names = services::master_services(h, hosts.len());
            if reverse {
                names.reverse();
            }
            services_view(h, names)
        })
        .collect()
}

/// "stop a, b on m1; ..." in the order the services are acted on.
fn describe_services(verb: &str, hosts: &[Host], reverse: bool) -> String {
    let each: Vec<String> = hosts
        .iter()
        .map(|h| {
            let mut names = services::master_services(h, hosts.len());
            if reverse {
                names.reverse();
            }
            format!("{} on {}", names.join(", "), h.name)
        })
        .collect();
    format!("{verb} {}", each.join("; "))
}

/// What `master.stop` and `master.restart` return per master.
#[derive(Serialize)]
struct ServicesView<'a> {
    host: &'a str,
    services: Vec<String>,
}

/// One prefix of `master.ttl_durations()`.
#[derive(Serialize)]
struct TtlDurationView<'a> {
    prefix: &'a str,
    duration: String,
    seconds: i64,
    source: String,
}

fn services_view(host: &Host, services: Vec<String>) -> Result<Dynamic, Box<EvalAltResult>> {
    rhai::serde::to_dynamic(ServicesView {
        host: &host.name,
        services,
    })
}

#[export_module]
pub mod master_api {
    use super::*;

    pub type Master = ScriptMaster;

    /// The masters, in inventory order.
    #[rhai_fn(pure, return_raw)]
    pub fn hosts(master: &mut ScriptMaster) -> Result<Array, Box<EvalAltResult>> {
        let ctx = master.ctx.clone();
        Ok(master
            .hosts()?
            .into_iter()
            .map(|h| Dynamic::from(super::super::host::ScriptHost::new(h, ctx.clone())))
            .collect())
    }

    /// Sets `storage-backend: [etcd3]` and `storage-media-type: [application/vnd.kubernetes.protobuf]`
    /// in every master's master-config.yaml (idempotent; a timestamped copy of the original is kept
    /// beside it; the diff is shown). Returns `#{host, path, changed, backup, diff}` per master.
    #[rhai_fn(pure, return_raw)]
    pub fn patch(master: &mut ScriptMaster) -> Result<Array, Box<EvalAltResult>> {
        master.switch_all(Switch::Etcd3)
    }

    /// Removes the two storage arguments again, restoring the original file's exact
    /// bytes when a copy of it says the same.
    #[rhai_fn(pure, return_raw)]
    pub fn unpatch(master: &mut ScriptMaster) -> Result<Array, Box<EvalAltResult>> {
        master.switch_all(Switch::Default)
    }

    /// Points every master's etcdClientInfo at external etcd members (`urls`, the CA
    /// `master.etcd-ca.crt`) and removes etcdConfig, the embedded etcd's section; a copy of
    /// the original is kept, the diff shown.
    #[rhai_fn(pure, return_raw)]
    pub fn use_external_etcd(
        master: &mut ScriptMaster,
        urls: Array,
    ) -> Result<Array, Box<EvalAltResult>> {
        master.use_external(urls, &Map::new())
    }

    /// `use_external_etcd` with options: `#{ca: "file"}` for another CA file name.
    #[rhai_fn(name = "use_external_etcd", pure, return_raw)]
    pub fn use_external_etcd_with(
        master: &mut ScriptMaster,
        urls: Array,
        options: Map,
    ) -> Result<Array, Box<EvalAltResult>> {
        master.use_external(urls, &options)
    }

    /// Puts back, byte for byte, the copy of every master's config taken before
    /// `use_external_etcd`: the embedded etcd's etcdConfig and etcdClientInfo; and the
    /// master's certificates for it, from the copies kept when they were replaced.
    #[rhai_fn(pure, return_raw)]
    pub fn use_embedded_etcd(master: &mut ScriptMaster) -> Result<Array, Box<EvalAltResult>> {
        master.switch_all(Switch::EmbeddedEtcd)
    }

    /// Checks, changing nothing, that every master's config is one `use_external_etcd`
    /// moved an embedded etcd out of, and that the copy `use_embedded_etcd` puts back is
    /// there. Returns `#{host, path, copy}` per master.
    #[rhai_fn(pure, return_raw)]
    pub fn expect_moved_etcd(master: &mut ScriptMaster) -> Result<Array, Box<EvalAltResult>> {
        let ctx = &master.ctx;
        let hosts = master.hosts()?;
        if ctx.planned_read(|| {
            "find the copy of each master's config from before its etcd moved out".into()
        }) {
            return Ok(hosts
                .iter()
                .map(|host| {
                    let mut view = Map::new();
                    view.insert("host".into(), host.name.clone().into());
                    view.insert("path".into(), config_path(host).into());
                    view.insert("copy".into(), String::new().into());
                    view.into()
                })
                .collect());
        }
        let mut found = Array::new();
        for host in hosts {
            let path = config_path(&host);
            let copy = ctx.block_on(async {
                let transport = ctx
                    .transport(&host)
                    .await
                    .map_err(crate::transport::files::FileError::from)
                    .map_err(ConfigFileError::from)?;
                let text = transport.read_file(&path, &ctx.cancel.token()).await?;
                let text = String::from_utf8_lossy(&text);
                embedded_original(&host, &transport, &path, &text, &ctx.cancel.token()).await
            })?;
            let mut view = Map::new();
            view.insert("host".into(), host.name.clone().into());
            view.insert("path".into(), path.into());
            view.insert("copy".into(), copy.0.into());
            found.push(view.into());
        }
        Ok(found)
    }

    /// The lease duration of each TTL prefix, from the first master's config:
    /// `[#{prefix, duration, source}, ...]` in the procedure's order.
    #[rhai_fn(pure, return_raw)]
    pub fn ttl_durations(master: &mut ScriptMaster) -> Result<Array, Box<EvalAltResult>> {
        let ctx = &master.ctx;
        let host = master.hosts()?.remove(0);
        let path = config_path(&host);
        let text = ctx.block_on(async {
            let transport = ctx
                .transport(&host)
                .await
                .map_err(crate::transport::files::FileError::from)?;
            transport.read_file(&path, &ctx.cancel.token()).await
        })?;
        let prefixes = ttl_durations::ttl_durations(&path, &String::from_utf8_lossy(&text))
            .map_err(to_rhai)?;
        prefixes
            .into_iter()
            .map(|p| {
                rhai::serde::to_dynamic(TtlDurationView {
                    prefix: p.prefix,
                    duration: format_duration(p.duration),
                    seconds: saturating_i64(p.duration.as_secs()),
                    source: p.source,
                })
            })
            .collect()
    }

    /// Stops every master's services, controllers before the API.
    #[rhai_fn(pure, return_raw)]
    pub fn stop(master: &mut ScriptMaster) -> Result<Array, Box<EvalAltResult>> {
        let ctx = &master.ctx;
        let hosts = master.hosts()?;
        let masters = hosts.len();
        if ctx.planned_change("master.stop", || describe_services("stop", &hosts, true))? {
            return planned_services(&hosts, true);
        }
        // The API goes down with the first service stopped.
        let stopped_at = ctx
            .facts()
            .record_masters_stopped(chrono::Utc::now())
            .stopped_at;
        ctx.reporter.api_down(stopped_at);
        let mut results = Array::new();
        for host in hosts {
            let stopped = ctx.block_on(async {
                let transport = ctx
                    .transport(&host)
                    .await
                    .map_err(|e| MasterServiceError::Service(e.into()))?;
                services::stop(&host, masters, &transport, &ctx.cancel.token()).await
            })?;
            results.push(services_view(&host, stopped)?);
        }
        Ok(results)
    }

    /// Restarts every master's services, API before controllers, and waits until each is active.
    #[rhai_fn(pure, return_raw)]
    pub fn restart(master: &mut ScriptMaster) -> Result<Array, Box<EvalAltResult>> {
        master.restart_all(Duration::from_secs(120))
    }

    /// `restart` with options: `#{timeout: "5m"}` to wait for each service.
    #[rhai_fn(name = "restart", pure, return_raw)]
    pub fn restart_with(
        master: &mut ScriptMaster,
        options: Map,
    ) -> Result<Array, Box<EvalAltResult>> {
        let options = Options::new("master.restart", &options, &["timeout"])?;
        let wait = options
            .duration("timeout")?
            .unwrap_or(Duration::from_secs(120));
        master.restart_all(wait)
    }
}

/// The registry's name of the primitive that makes this switch.
fn switch_primitive(direction: &Switch) -> &'static str {
    match direction {
        Switch::Etcd3 => "master.patch",
        Switch::Default => "master.unpatch",
        Switch::ExternalEtcd { .. } => "master.use_external_etcd",
        Switch::EmbeddedEtcd => "master.use_embedded_etcd",
    }
}
