//! What every primitive of a run shares: the runtime, the inventory, open
//! connections, the reporter and the cancellation token, and which members the run
//! took out of the cluster (the cluster views follow the live membership).

use super::api::error::to_rhai;
use super::changes::Changes;
use super::step_prompt::StepPrompt;
use crate::interrupt::Interrupt;
use crate::inventory::{Host, Inventory};
use crate::journal::Steps;
use crate::ops::etcd::membership::identity::{self, Identities};
use crate::ops::etcd::migrate::facts::RunFacts;
use crate::ops::etcd::v2store::V2StoreCache;
use crate::ops::etcd::{EndpointError, EtcdAccess, EtcdMember};
use crate::report::Reporter;
use crate::transport::hosts_failed::HostsFailed;
use crate::transport::{ConnectionTarget, Transport, TransportError, TransportPool};
use futures_util::future::join_all;
use rhai::EvalAltResult;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The hosts already said to be left out of the cluster views (which members this run
/// removed is in its facts, journaled with each step).
#[derive(Debug, Default)]
pub struct MembershipChanges {
    said: BTreeSet<String>,
}

/// The state of one run, shared by all primitives.
pub struct RunContext {
    pub runtime: tokio::runtime::Handle,
    pub cancel: Interrupt,
    pub inventory: Arc<Inventory>,
    pub transports: Arc<TransportPool>,
    pub etcd: EtcdAccess,
    pub facts: Mutex<RunFacts>,
    /// v2 stores read from members' files in this run (the copies migrations keep).
    pub v2_stores: V2StoreCache,
    pub reporter: Reporter,
    /// The run's steps and their journal.
    pub steps: Steps,
    /// Whether changes are applied (after a confirmation) or only planned.
    pub changes: Changes,
    /// Whether each step is confirmed first (`run --step`).
    pub step_prompt: StepPrompt,
    /// Who the cluster views were said to leave out.
    pub membership: Mutex<MembershipChanges>,
}

impl RunContext {
    pub fn new(
        runtime: tokio::runtime::Handle,
        cancel: Interrupt,
        inventory: Inventory,
        reporter: Reporter,
    ) -> Arc<RunContext> {
        RunContext::with_steps(
            runtime,
            cancel,
            inventory,
            reporter,
            Steps::unrecorded(),
            Changes::unattended(),
            StepPrompt::off(),
        )
    }

    /// A context whose steps are journaled (or skipped on resume) by `steps`.
    pub fn with_steps(
        runtime: tokio::runtime::Handle,
        cancel: Interrupt,
        inventory: Inventory,
        reporter: Reporter,
        steps: Steps,
        changes: Changes,
        step_prompt: StepPrompt,
    ) -> Arc<RunContext> {
        let transports = Arc::new(TransportPool::new());
        Arc::new(RunContext {
            runtime,
            etcd: EtcdAccess::new(transports.clone(), cancel.clone()),
            cancel,
            inventory: Arc::new(inventory),
            transports,
            facts: Mutex::new(RunFacts::default()),
            v2_stores: V2StoreCache::default(),
            reporter,
            steps,
            changes,
            step_prompt,
            membership: Mutex::new(MembershipChanges::default()),
        })
    }

    /// Runs an operation to completion from the script's thread, turning its
    /// error into a Rhai error that keeps the diagnostic's code and help.
    pub fn block_on<T, E, F>(&self, operation: F) -> Result<T, Box<EvalAltResult>>
    where
        F: Future<Output = Result<T, E>>,
        E: miette::Diagnostic,
    {
        self.runtime.block_on(operation).map_err(to_rhai)
    }

    /// Call before a change made by `primitive` (its registry name, e.g. `etcd.backup`):
    /// `Ok(true)` when the run only plans (the caller returns a placeholder and changes
    /// nothing); may ask the operator before the first change.
    pub fn planned_change(
        &self,
        primitive: &'static str,
        action: impl FnOnce() -> String,
    ) -> Result<bool, Box<EvalAltResult>> {
        self.changes
            .before_change(primitive, action)
            .map_err(to_rhai)
    }

    /// Call before a read of cluster state: `true` when it depends on a change that
    /// was only planned (the caller returns a placeholder).
    pub fn planned_read(&self, action: impl FnOnce() -> String) -> bool {
        self.changes.before_read(action)
    }

    /// The transport to a host, connecting on first use.
    pub async fn transport(&self, host: &Host) -> Result<Arc<Transport>, TransportError> {
        self.steps.touch(&host.name);
        let target = ConnectionTarget::from_host(host)?;
        self.transports
            .get(&host.name, &target, &self.cancel.token())
            .await
    }

    /// What the run has established so far (a panic elsewhere cannot leave the facts
    /// half-written: every update is one call).
    pub fn facts(&self) -> std::sync::MutexGuard<'_, RunFacts> {
        self.facts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The members of the inventory's `[etcd]` group, in inventory order. No hosts there
    /// but one master is how openshift-ansible reads embedded etcd: that master is the one
    /// member (its layout `embedded`).
    pub fn etcd_members(&self) -> Result<Vec<EtcdMember>, Box<EvalAltResult>> {
        let mut hosts = self.inventory.group("etcd").unwrap_or_default();
        if hosts.is_empty() {
            let masters = self.inventory.group("masters").unwrap_or_default();
            let error = match masters.as_slice() {
                [master] => {
                    hosts = masters.clone();
                    let layout = master.var_str("runbook_etcd_layout");
                    (layout.as_deref() != Some("embedded")).then(|| super::api::error::ScriptError::new(
                        format!("the inventory has no hosts in [etcd], and its master {} says runbook_etcd_layout={}", master.name, layout.unwrap_or_default()),
                        "runbook::inventory::no_etcd",
                        Some("list the etcd members under [etcd], or leave runbook_etcd_layout unset on the master for etcd embedded in it".into()),
                    ))
                }
                [] => Some(super::api::error::ScriptError::new(
                    "the inventory has no hosts in [etcd]",
                    "runbook::inventory::no_etcd",
                    Some("list the etcd members under [etcd]".into()),
                )),
                several => Some(super::api::error::ScriptError::new(
                    format!("the inventory has no hosts in [etcd] and {} masters: etcd embedded in the master serves one master only", several.len()),
                    "runbook::inventory::embedded_etcd",
                    Some("list the etcd members under [etcd]; openshift-ansible installs embedded etcd only for a single master".into()),
                )),
            };
            if let Some(error) = error {
                return Err(error.into_rhai());
            }
        }
        let members = hosts
            .into_iter()
            .map(EtcdMember::from_host)
            .collect::<Result<Vec<_>, EndpointError>>()
            .map_err(to_rhai)?;
        let known = self.facts().identities().cloned();
        let identities = match known {
            Some(known) => known,
            None => {
                let found = self.identify(&members, false)?;
                self.facts().record_identities(found.clone());
                found
            }
        };
        Ok(members
            .into_iter()
            .map(|member| match identities.of(member.host_name()) {
                Some(identity) => member.with_identity(identity),
                None => member,
            })
            .collect())
    }

    fn membership(&self) -> std::sync::MutexGuard<'_, MembershipChanges> {
        self.membership.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `host`'s member was removed from the cluster in this run (or, under `runbook check`,
    /// its removal planned).
    pub fn member_removed(&self, host: &str) {
        // In the facts, so that a resumed run leaves it out too.
        self.facts().record_removed(host);
        self.membership().said.remove(host);
    }

    /// `host`'s member was added to the cluster (again) in this run.
    pub fn member_added(&self, host: &str) {
        self.facts().record_added(host);
        self.membership().said.remove(host);
        // Identified before it was a member: the cluster lists it now.
        let known = self.facts().identities().cloned();
        if let Some(mut known) = known {
            if known.not_members.iter().any(|h| h == host) {
                known.not_members.retain(|h| h != host);
                self.facts().record_identities(known);
            }
        }
    }

    /// The members health, status, hashkv and convergence look at: [`Self::etcd_members`]
    /// without the hosts whose member this run removed (each said once on stderr). A host
    /// the cluster does not list for any other reason stays in: a member that left or never
    /// joined is what these checks are there to show.
    pub fn live_members(&self) -> Result<Vec<EtcdMember>, Box<EvalAltResult>> {
        let members = self.etcd_members()?;
        let removed = self.facts().removed().to_vec();
        let mut membership = self.membership();
        let mut live = Vec::with_capacity(members.len());
        for member in members {
            let host = member.host_name().to_string();
            if !removed.contains(&host) {
                live.push(member);
                continue;
            }
            if membership.said.insert(host.clone()) {
                self.reporter.status(&format!(
                    "{host} is left out of etcd health, status, hashkv and convergence: its member was removed in this run"
                ));
            }
        }
        Ok(live)
    }

    /// The inventory's members (as the inventory alone describes them) matched with the
    /// cluster and their etcd.conf. A host that cannot be reached is an error when
    /// `reach_all`, else it keeps the inventory's values.
    pub fn identify(
        &self,
        members: &[EtcdMember],
        reach_all: bool,
    ) -> Result<Identities, Box<EvalAltResult>> {
        self.block_on(async {
            // All at once: unreachable hosts cost one connect timeout, not one each.
            let connections =
                join_all(members.iter().map(|member| self.transport(&member.host))).await;
            let mut reached = Vec::with_capacity(members.len());
            let mut failures = Vec::new();
            for (member, connection) in members.iter().zip(connections) {
                match connection {
                    Ok(transport) => reached.push((member.clone(), transport)),
                    Err(error) if reach_all => failures.push(error),
                    Err(error) => {
                        tracing::debug!(host = %member.host_name(), %error, "not identified")
                    }
                }
            }
            HostsFailed::check(failures)?;
            Ok::<_, HostsFailed>(
                identity::identify(&self.etcd, &reached, &self.cancel.token()).await,
            )
        })
    }
}
