//! `runbook check SCRIPT`: a dry run. Reads run for real (health, status, key counts,
//! files, commands marked `read_only`); every change is only planned, and so is every read
//! of the cluster that depends on one. Nothing is written, not even the journal. When the
//! runbook fails, the plan up to the failure is printed before the error.

use super::run::{execute, load_inventory, resolve_script, RunPolicy};
use super::Failure;
use crate::cli::CheckArgs;
use crate::report::OutputFormat;
use crate::report::Reporter;
use crate::script::changes::{render_plan, Changes, PlanEntry};
use serde_json::json;
use std::path::Path;

pub fn check(args: CheckArgs, reporter: Reporter) -> Result<(), Failure> {
    let script = resolve_script(&args.script)?;
    let inventory = load_inventory(&args.script_args)?;
    let (_, plan) = execute(
        &args.script_args,
        &script,
        inventory,
        RunPolicy {
            changes: Changes::plan(),
            ..RunPolicy::unattended()
        },
        &reporter,
    )?;
    let changes = plan.iter().filter(|e| e.changes).count();
    let human = format!(
        "plan for {} ({changes} changes; the checks before the first change passed, nothing was changed):\n{}",
        script.display(),
        render_plan(&plan)
    );
    reporter.result(&human, json!({"status": "ok", "plan": plan}));
    Ok(())
}

/// The plan up to a failure of the runbook (nothing when it failed before planning anything).
pub fn plan_so_far(reporter: &Reporter, script: &Path, plan: &[PlanEntry]) {
    if plan.is_empty() {
        return;
    }
    let changes = plan.iter().filter(|e| e.changes).count();
    match reporter.format() {
        OutputFormat::Human => reporter.print(&format!(
            "plan so far for {} ({changes} changes before the runbook failed; nothing was changed):\n{}",
            script.display(),
            render_plan(plan).trim_end_matches('\n')
        )),
        OutputFormat::Json => reporter.event("plan", json!({"status": "failed", "plan": plan})),
    }
}
