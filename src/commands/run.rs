//! `runbook run SCRIPT`: load the inventory, run the runbook, map the outcome to an exit code.

use super::{runtime, Failure};
use crate::cli::{RunArgs, ScriptArgs};
use crate::inventory::Inventory;
use crate::report::Reporter;
use crate::script::context::RunContext;
use crate::script::run::{run_file, RunFailure};
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

pub fn run(args: RunArgs, reporter: Reporter) -> Result<(), Failure> {
    let inventory = load_inventory(&args.script_args)?;
    let stdlib = locate_stdlib(args.script_args.stdlib.as_deref());
    let (runtime, cancel) =
        runtime::start().map_err(|e| Failure::failed(RunError::Runtime(e.to_string())))?;
    let ctx = RunContext::new(
        runtime.handle().clone(),
        cancel.clone(),
        inventory,
        reporter.clone(),
    );
    let outcome = run_file(ctx, &args.script, &stdlib);
    // Connections and tasks end with the runtime; do not wait for stragglers.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match outcome {
        Ok(value) => {
            if !value.is_unit() {
                let machine = rhai::serde::from_dynamic::<serde_json::Value>(&value)
                    .unwrap_or(json!(value.to_string()));
                reporter.result(
                    &value.to_string(),
                    json!({"status": "ok", "value": machine}),
                );
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
