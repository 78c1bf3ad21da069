//! Rhai method of `etcd` for the certificates of an external member and its master:
//! `etcd.issue_certificates(member, #{master})`.

use super::ScriptEtcd;
use crate::inventory::Host;
use crate::ops::etcd::certs::layout::{CaLayout, MasterFiles, MemberFiles};
use crate::ops::etcd::certs::{self, FileAction, Issued, Target};
use crate::script::api::args;
use crate::script::api::error::ScriptError;
use crate::script::api::options::Options;
use crate::script::api::views::PlannedOnHost;
use crate::script::context::RunContext;
use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult, Map};

/// The code of a member whose etcd runs inside its master: its certificates are the master's.
const EMBEDDED_MEMBER: &str = "runbook::etcd::certs::embedded_member";

fn issue(etcd: &ScriptEtcd, host: &Dynamic, options: &Map) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = &etcd.ctx;
    let known = Options::new("etcd.issue_certificates", options, &["master"])?;
    let (member, _) = args::member(ctx, host)?;
    let master = known
        .value("master")
        .map(|m| args::master(ctx, m, "the master"))
        .transpose()?;
    if member.host.var_str("runbook_etcd_layout").as_deref() == Some("embedded") {
        return Err(ScriptError::new(
            format!(
                "{} runs etcd embedded in its master: etcd.issue_certificates is for an external member",
                member.host_name()
            ),
            EMBEDDED_MEMBER,
            Some("list the external etcd host under [etcd] and pass it; embedded etcd serves with the master's own certificates".into()),
        )
        .into_rhai());
    }
    if ctx.planned_change("etcd.issue_certificates", || {
        plan(&member.host, master.as_ref())
    })? {
        return rhai::serde::to_dynamic(PlannedOnHost::new(member.host_name()));
    }
    let issued = ctx.block_on(async {
        let on = ctx.transport(&member.host).await?;
        let to = match &master {
            Some(master) => Some((master, ctx.transport(master).await?)),
            None => None,
        };
        certs::issue_certificates(
            Target {
                host: &member.host,
                transport: &on,
            },
            to.as_ref()
                .map(|(host, transport)| Target { host, transport }),
            &ctx.cancel.token(),
        )
        .await
    })?;
    report(ctx, &issued);
    rhai::serde::to_dynamic(&issued)
}

/// What a planned call would do.
fn plan(member: &Host, master: Option<&Host>) -> String {
    let ca = CaLayout::of(member);
    let files = MemberFiles::of(member);
    let mut text = format!(
        "on {member}: keep the etcd CA in {ca_dir} if it is sound, else create it (a broken one is refused); \
         keep or issue {server}, {server_key}, {peer}, {peer_key} and {ca_file}",
        member = member.name,
        ca_dir = ca.dir,
        server = files.server_cert,
        server_key = files.server_key,
        peer = files.peer_cert,
        peer_key = files.peer_key,
        ca_file = files.ca_file,
    );
    if let Some(master) = master {
        let client = MasterFiles::of(master);
        text.push_str(&format!(
            "; on {master}: keep or issue {cert}, {key} and {master_ca}",
            master = master.name,
            cert = client.client_cert,
            key = client.client_key,
            master_ca = client.ca,
        ));
    }
    text.push_str(" (replaced files kept as copies)");
    text
}

fn report(ctx: &RunContext, issued: &Issued) {
    let ca = match issued.ca {
        certs::ca::CaAction::Created => "created",
        certs::ca::CaAction::Kept => "kept",
    };
    ctx.reporter.status(&format!(
        "{}: etcd CA in {} {ca}",
        issued.host, issued.ca_dir
    ));
    for file in &issued.files {
        let line = match file.action {
            FileAction::Created => format!("{}: {} created", file.host, file.path),
            FileAction::Kept => format!("{}: {} kept", file.host, file.path),
            FileAction::Replaced => format!(
                "{}: {} replaced{} (the old one is kept as {})",
                file.host,
                file.path,
                file.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default(),
                file.copy.as_deref().unwrap_or("?")
            ),
        };
        ctx.reporter.status(&line);
    }
    if !issued.changed() {
        ctx.reporter.status(&format!(
            "{}: the etcd CA and every certificate were already in place: nothing changed",
            issued.host
        ));
    }
}

#[export_module]
pub mod certs_api {
    use super::*;

    /// Creates (or keeps) the etcd CA on the member's host and the member's server and peer
    /// certificates, as openshift-ansible's embedded2external does.
    #[rhai_fn(pure, return_raw)]
    pub fn issue_certificates(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        issue(etcd, &host, &Map::new())
    }

    /// `issue_certificates` with options: `#{master: host}` also issues that master's etcd
    /// client certificate (and `master.etcd-ca.crt`), its earlier files kept as copies.
    #[rhai_fn(name = "issue_certificates", pure, return_raw)]
    pub fn issue_certificates_with(
        etcd: &mut ScriptEtcd,
        host: Dynamic,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        issue(etcd, &host, &options)
    }
}
