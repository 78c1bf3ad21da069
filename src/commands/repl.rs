//! `runbook repl`: an interactive session with the run engine, against an inventory or a lab.

use super::run::{load_inventory, RunError};
use super::{runtime, Failure};
use crate::cli::ReplArgs;
use crate::repl::{self, Session};
use crate::report::Reporter;
use crate::script::context::RunContext;
use crate::script::reference::Reference;
use crate::script::stdlib::locate_stdlib;

pub fn repl(mut args: ReplArgs, reporter: Reporter) -> Result<(), Failure> {
    if let Some(lab) = &args.lab {
        args.script_args.inventory = Some(lab.join("inventory.ini"));
    }
    let inventory = load_inventory(&args.script_args)?;
    let stdlib = locate_stdlib(args.script_args.stdlib.as_deref());
    let (runtime, interrupt) =
        runtime::start().map_err(|e| Failure::failed(RunError::Runtime(e.to_string())))?;
    let ctx = RunContext::new(runtime.handle().clone(), interrupt, inventory, reporter);
    let (session, problems) = Session::new(ctx, std::path::PathBuf::from("."), &stdlib);
    for problem in problems {
        eprintln!("{:?}", miette::Report::new(problem));
    }
    let outcome = repl::run(session, Reference::load(&stdlib));
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    outcome.map_err(|e| Failure::failed(RunError::Runtime(format!("the terminal failed: {e}"))))
}
