//! `runbook run SCRIPT`: load the inventory, run the runbook, map the outcome to an exit code.

use super::{journal_gate, runtime, Failure};
use crate::cli::{RunArgs, ScriptArgs};
use crate::inventory::Inventory;
use crate::journal::{EventKind, Steps};
use crate::ops::etcd::migrate::facts::RunFacts;
use crate::report::Reporter;
use crate::script::api::row;
use crate::script::api::summary::Summary;
use crate::script::changes::{Changes, PlanEntry};
use crate::script::context::RunContext;
use crate::script::run::{run_file, EngineHook, Finished, RunFailure};
use crate::script::runbooks;
use crate::script::stdlib::locate_stdlib;
use crate::script::step_prompt::StepPrompt;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Why a runbook could not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    #[error("cannot read runbook {path}: {reason}")]
    #[diagnostic(code(runbook::run::unreadable), help("check the path of the runbook"))]
    Unreadable { path: String, reason: String },
    #[error("cannot start the async runtime: {0}")]
    #[diagnostic(code(runbook::run::runtime))]
    Runtime(String),
    #[error("{0}")]
    #[diagnostic(
        code(runbook::run::options),
        help("--outage ORDER is the same as -e runbook_outage=ORDER")
    )]
    Options(String),
}

/// Loads the inventory named by `-i` (or the implicit localhost).
pub fn load_inventory(args: &ScriptArgs) -> Result<Inventory, Failure> {
    let vars = args
        .vars()
        .map_err(|reason| Failure::bad_input(RunError::Options(reason)))?;
    match &args.inventory {
        Some(path) => Inventory::load(path, &vars).map_err(Failure::bad_input),
        None => Ok(Inventory::implicit_localhost(&vars)),
    }
}

/// The runbook file named on the command line: a file, or a shipped runbook's name.
pub fn resolve_script(script: &Path) -> Result<PathBuf, Failure> {
    runbooks::resolve(script).ok_or_else(|| {
        Failure::bad_input(RunError::Unreadable {
            path: script.display().to_string(),
            reason: "no such file here, and no shipped runbook of that name (see `runbook list`)"
                .into(),
        })
    })
}

/// `runbook run`: the journal gate, then the runbook, recorded step by step.
pub fn run(mut args: RunArgs, reporter: Reporter) -> Result<(), Failure> {
    args.script = resolve_script(&args.script)?;
    let inventory = load_inventory(&args.script_args)?;
    let policy = RunPolicy {
        steps: journal_gate::open(&args, &reporter)?,
        // With --step every step is confirmed, so the first change needs no question of its own.
        changes: Changes::apply(args.yes || args.step),
        step_prompt: if args.step {
            StepPrompt::ask()
        } else {
            StepPrompt::off()
        },
        engine_hook: None,
    };
    let (finished, _) = execute(
        &args.script_args,
        &args.script,
        inventory,
        policy,
        &reporter,
    )?;
    report_value(&reporter, finished);
    Ok(())
}

/// How a script is run: its journal, whether changes are applied, whether steps are
/// confirmed one by one, and anything attached to the engine (the debugger).
pub struct RunPolicy {
    pub steps: Steps,
    pub changes: Changes,
    pub step_prompt: StepPrompt,
    pub engine_hook: Option<EngineHook>,
}

impl RunPolicy {
    /// Not journaled, changes applied without asking, no step prompts.
    pub fn unattended() -> RunPolicy {
        RunPolicy {
            steps: Steps::unrecorded(),
            changes: Changes::unattended(),
            step_prompt: StepPrompt::off(),
            engine_hook: None,
        }
    }
}

/// Runs a script under `policy`; returns its value and the plan.
pub fn execute(
    script_args: &ScriptArgs,
    script: &Path,
    inventory: Inventory,
    policy: RunPolicy,
    reporter: &Reporter,
) -> Result<(Finished, Vec<PlanEntry>), Failure> {
    let stdlib = locate_stdlib(script_args.stdlib.as_deref());
    let (runtime, cancel) =
        runtime::start().map_err(|e| Failure::failed(RunError::Runtime(e.to_string())))?;
    let ctx = RunContext::with_steps(
        runtime.handle().clone(),
        cancel.clone(),
        inventory,
        reporter.clone(),
        policy.steps,
        policy.changes,
        policy.step_prompt,
    );
    if let Some(facts) = ctx.steps.restored_facts() {
        match serde_json::from_value::<RunFacts>(facts.clone()) {
            Ok(facts) => {
                // A run resumed while the masters are down goes on counting from their stop.
                if let Some(outage) = facts.api_outage().filter(|o| o.is_open()) {
                    reporter.api_down(outage.stopped_at);
                }
                *ctx.facts.lock().unwrap_or_else(|e| e.into_inner()) = facts
            }
            Err(error) => tracing::warn!(
                "the journal's facts could not be read back ({error}); guards will ask again"
            ),
        }
    }
    let outcome = run_file(ctx.clone(), script, &stdlib, policy.engine_hook);
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
    let plan = ctx.changes.entries();
    if ctx.changes.is_plan() && outcome.is_err() {
        crate::script::changes::report_plan_so_far(reporter, script, &plan);
    }
    // Connections close with the context, before the runtime goes.
    drop(ctx);
    // Connections and tasks end with the runtime; do not wait for stragglers.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match outcome {
        Ok(finished) => Ok((finished, plan)),
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

/// The script's last value: text for people, JSON for machines; a `summary(text, data)`
/// gives each its own.
pub fn report_value(reporter: &Reporter, Finished { value, text }: Finished) {
    if let Some(summary) = value.clone().try_cast::<Summary>() {
        let machine = row::to_json(&summary.data).unwrap_or(serde_json::Value::Null);
        reporter.result(&summary.text, json!({"status": "ok", "value": machine}));
    } else if value.is_unit() {
        reporter.result("", json!({"status": "ok"}));
    } else {
        let machine = row::to_json(&value).unwrap_or(json!(text));
        reporter.result(&text, json!({"status": "ok", "value": machine}));
    }
}
