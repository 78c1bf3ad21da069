//! `runbook run SCRIPT`: load the inventory, run the runbook, map the outcome to an exit code.

use super::{journal_gate, runtime, Failure};
use crate::cli::{RunArgs, ScriptArgs};
use crate::inventory::Inventory;
use crate::journal::EventKind;
use crate::ops::etcd::facts::RunFacts;
use crate::report::Reporter;
use crate::script::context::RunContext;
use crate::script::run::{run_file, Finished, RunFailure};
use crate::script::runbooks;
use crate::script::stdlib::locate_stdlib;
use serde_json::json;

/// Why a runbook could not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    #[error("cannot read runbook {path}: {reason}")]
    #[diagnostic(code(runbook::run::unreadable), help("check the path of the runbook"))]
    Unreadable { path: String, reason: String },
    #[error("cannot start the async runtime: {0}")]
    #[diagnostic(code(runbook::run::runtime))]
    Runtime(String),
}

/// Loads the inventory named by `-i` (or the implicit localhost).
pub fn load_inventory(args: &ScriptArgs) -> Result<Inventory, Failure> {
    match &args.inventory {
        Some(path) => Inventory::load(path, &args.extra_vars).map_err(Failure::bad_input),
        None => Ok(Inventory::implicit_localhost(&args.extra_vars)),
    }
}

pub fn run(mut args: RunArgs, reporter: Reporter) -> Result<(), Failure> {
    args.script = runbooks::resolve(&args.script).ok_or_else(|| {
        Failure::bad_input(RunError::Unreadable {
            path: args.script.display().to_string(),
            reason: "no such file here, and no shipped runbook of that name (see `runbook list`)"
                .into(),
        })
    })?;
    let inventory = load_inventory(&args.script_args)?;
    let stdlib = locate_stdlib(args.script_args.stdlib.as_deref());
    let steps = journal_gate::open(&args)?;
    let (runtime, cancel) =
        runtime::start().map_err(|e| Failure::failed(RunError::Runtime(e.to_string())))?;
    let ctx = RunContext::with_steps(
        runtime.handle().clone(),
        cancel.clone(),
        inventory,
        reporter.clone(),
        steps,
    );
    if let Some(facts) = ctx.steps.restored_facts() {
        match serde_json::from_value::<RunFacts>(facts.clone()) {
            Ok(facts) => *ctx.facts.lock().unwrap_or_else(|e| e.into_inner()) = facts,
            Err(error) => tracing::warn!(
                "the journal's facts could not be read back ({error}); guards will ask again"
            ),
        }
    }
    let outcome = run_file(ctx.clone(), &args.script, &stdlib);
    let outcome = match (outcome, ctx.steps.unreached_start()) {
        (Ok(_), Some(step)) => Err(RunFailure::Failed(Box::new(
            crate::script::diagnostics::plain(
                format!("the runbook has no step `{step}` (given with --start-at)"),
                "runbook::run::no_such_step",
                "check the step names the runbook prints (==> step NAME)",
            ),
        ))),
        (outcome, _) => outcome,
    };
    let ended = if outcome.is_ok() {
        EventKind::RunFinished
    } else {
        EventKind::RunFailed
    };
    if let Err(error) = ctx.steps.record(ended, None, |_| {}) {
        tracing::error!("{error}");
    }
    // Connections close with the context, before the runtime goes.
    drop(ctx);
    // Connections and tasks end with the runtime; do not wait for stragglers.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match outcome {
        Ok(Finished { value, text }) => {
            if !value.is_unit() {
                let machine =
                    rhai::serde::from_dynamic::<serde_json::Value>(&value).unwrap_or(json!(text));
                reporter.result(&text, json!({"status": "ok", "value": machine}));
            } else {
                reporter.result("", json!({"status": "ok"}));
            }
            Ok(())
        }
        Err(RunFailure::Unreadable { path, reason }) => {
            Err(Failure::bad_input(RunError::Unreadable {
                path: path.display().to_string(),
                reason,
            }))
        }
        Err(RunFailure::Syntax(diagnostic)) => Err(Failure::bad_input(*diagnostic)),
        Err(RunFailure::Failed(diagnostic)) if cancel.is_cancelled() => {
            Err(Failure::interrupted(*diagnostic))
        }
        Err(RunFailure::Failed(diagnostic)) => Err(Failure::failed(*diagnostic)),
    }
}
