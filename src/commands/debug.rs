//! `runbook debug SCRIPT`: run a runbook under the debugger.

use super::run::{execute, load_inventory, resolve_script, RunPolicy};
use super::Failure;
use crate::cli::DebugArgs;
use crate::debug::{self, Resolver};
use crate::report::Reporter;
use crate::script::changes::Changes;
use crate::script::run::module_path;
use crate::script::stdlib::locate_stdlib;

/// A breakpoint that names no line or module of this run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("bad breakpoint: {0}")]
#[diagnostic(
    code(runbook::debug::breakpoint),
    help("--break takes a line of the runbook (12), a line of a module (openshift.rhai:20) or a function name")
)]
pub struct BadBreakpoint(String);

pub fn debug(args: DebugArgs, reporter: Reporter) -> Result<(), Failure> {
    let script = resolve_script(&args.script)?;
    let inventory = load_inventory(&args.script_args)?;
    let stdlib = locate_stdlib(args.script_args.stdlib.as_deref());
    let resolver = Resolver {
        script: script.display().to_string(),
        module_path: module_path(&script, &stdlib),
    };
    let hook =
        debug::hook(&args.breaks, resolver).map_err(|e| Failure::bad_input(BadBreakpoint(e)))?;
    // A debugged run changes the cluster as `run` does, so it asks before the first change too.
    let policy = RunPolicy {
        engine_hook: Some(hook),
        changes: Changes::apply(args.yes),
        ..RunPolicy::unattended()
    };
    let (finished, _) = execute(&args.script_args, &script, inventory, policy, &reporter)?;
    super::run::report_value(&reporter, finished);
    Ok(())
}
