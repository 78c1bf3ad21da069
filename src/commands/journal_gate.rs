//! Before a run: read the runbook's journal and decide whether this run may start,
//! and what it skips (`--resume`, `--restart`, `--start-at`).

use super::Failure;
use crate::cli::RunArgs;
use crate::journal::location;
use crate::journal::{EventKind, Journal, LastRun, Steps};
use crate::report::Reporter;
use crate::transport::shell_quote;
use std::collections::BTreeMap;
use std::path::Path;

/// Why a run may not start as asked.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GateError {
    #[error("the last run of {script} did not finish{where_}")]
    #[diagnostic(
        code(runbook::journal::unfinished),
        help("continue it with `{resume}` (finished steps are skipped), or start over with `--restart`; the journal is {journal}")
    )]
    Unfinished {
        script: String,
        where_: String,
        resume: String,
        journal: String,
    },
    #[error("nothing to resume: {reason}")]
    #[diagnostic(
        code(runbook::journal::nothing_to_resume),
        help("run without --resume")
    )]
    NothingToResume { reason: String },
}

/// Opens the journal and builds this run's steps, or refuses.
pub fn open(args: &RunArgs, reporter: &Reporter) -> Result<Steps, Failure> {
    if args.no_journal {
        return Ok(Steps::new(None, BTreeMap::new(), args.start_at.clone()));
    }
    let chosen = location::locate(
        args.journal.as_deref(),
        args.script_args.inventory.as_deref(),
        &args.script,
    );
    if let Some(notice) = &chosen.notice {
        reporter.status(notice);
    }
    let path = chosen.path;
    let (journal, history) = Journal::open(&path).map_err(Failure::bad_input)?;
    // Absolute: the journal is the journal of this runbook file, wherever it is run from.
    let script = location::absolute(&args.script).display().to_string();
    let last = history.last_run();
    let (finished, resumes, facts) = match (&last, args.resume, args.restart) {
        (LastRun::Unfinished { run, .. }, true, _) => (
            history.finished_steps(),
            Some(run.clone()),
            history.last_facts(),
        ),
        (LastRun::Unfinished { .. }, false, true) => (BTreeMap::new(), None, None),
        (
            LastRun::Unfinished {
                last_done,
                in_progress,
                failed,
                ..
            },
            false,
            false,
        ) => {
            let mut where_ = match last_done {
                Some(step) => format!(": its last finished step is `{step}`"),
                None => ": no step finished".to_string(),
            };
            if let Some(step) = in_progress {
                where_.push_str(&format!(
                    ", `{step}` {}",
                    if *failed { "failed" } else { "was interrupted" }
                ));
            }
            return Err(Failure::bad_input(GateError::Unfinished {
                script: args.script.display().to_string(),
                where_,
                resume: resume_command(args),
                journal: path.display().to_string(),
            }));
        }
        (LastRun::None, true, _) => {
            return Err(Failure::bad_input(GateError::NothingToResume {
                reason: "this runbook has not run here before".into(),
            }))
        }
        (LastRun::Finished, true, _) => {
            return Err(Failure::bad_input(GateError::NothingToResume {
                reason: "the last run finished".into(),
            }))
        }
        _ => (BTreeMap::new(), None, None),
    };
    let steps = Steps::new(Some(journal), finished, args.start_at.clone())
        .with_restored_facts(facts)
        .with_next_commands(resume_command(args), run_options(args));
    steps
        .record(EventKind::RunStarted, None, |event| {
            event.script = Some(script.clone());
            event.resumes = resumes;
        })
        .map_err(Failure::bad_input)?;
    Ok(steps)
}

fn quoted_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    shell_quote(&absolute.display().to_string())
}

/// The options any runbook on the same hosts needs: ` -i /absolute/inventory`,
/// ` --stdlib DIR`, ` --journal DIR` and ` --outage ORDER`, when given.
fn run_options(args: &RunArgs) -> String {
    let mut options = String::new();
    if let Some(inventory) = &args.script_args.inventory {
        options.push_str(&format!(" -i {}", quoted_path(inventory)));
    }
    if let Some(stdlib) = &args.script_args.stdlib {
        options.push_str(&format!(" --stdlib {}", quoted_path(stdlib)));
    }
    if let Some(journal) = &args.journal {
        options.push_str(&format!(" --journal {}", quoted_path(journal)));
    }
    if let Some(order) = args.script_args.outage {
        options.push_str(&format!(" --outage {}", order.as_str()));
    }
    options
}

/// The exact command that resumes a run of `args` from any directory: absolute paths,
/// the same inventory; `-e` values are named, not repeated (they may be secrets).
pub fn resume_command(args: &RunArgs) -> String {
    let mut command = format!(
        "runbook run {}{} --resume",
        quoted_path(&args.script),
        run_options(args)
    );
    if !args.script_args.extra_vars.is_empty() {
        let names: Vec<&str> = args
            .script_args
            .extra_vars
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        command.push_str(&format!(
            " (with the same -e values for {})",
            names.join(", ")
        ));
    }
    command
}
