//! `runbook check SCRIPT`: a dry run. Reads run for real (health, status, key counts,
//! files, commands marked `read_only`); every change is only planned, and so is every read
//! of the cluster that depends on one. Nothing is written, not even the journal. When the
//! runbook fails, the plan up to the failure is printed before the error
//! (`changes::report_plan_so_far`, from `run::execute`).

use super::run::{execute, load_inventory, resolve_script, RunPolicy};
use super::Failure;
use crate::cli::CheckArgs;
use crate::report::Reporter;
use crate::script::changes::{render_plan, Changes};
use serde_json::json;

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
