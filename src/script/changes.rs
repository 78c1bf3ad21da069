//! Changes a run makes to the cluster: applied (after one confirmation on a
//! terminal), or only planned (`runbook check`), in which case reads that
//! depend on a planned change become part of the plan too.

use super::registry;
use crate::report::{OutputFormat, Reporter};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;

/// One line of a plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanEntry {
    /// The step it belongs to, if any.
    pub step: Option<String>,
    /// The primitive behind it (`etcd.backup`), when it is a change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primitive: Option<&'static str>,
    pub action: String,
    /// A change (true), or a check that depends on earlier changes (false).
    pub changes: bool,
}

/// The operator declined the first change.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("not confirmed: nothing was changed")]
#[diagnostic(
    code(runbook::run::not_confirmed),
    help("run it again and answer `y`, or pass --yes to skip the question; `runbook check` shows the plan first")
)]
pub struct NotConfirmed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Apply changes; ask once before the first when `ask`.
    Apply {
        ask: bool,
    },
    Plan,
}

#[derive(Debug, Default)]
struct State {
    entries: Vec<PlanEntry>,
    changed: bool,
    step: Option<String>,
}

/// How this run treats changes.
#[derive(Debug)]
pub struct Changes {
    mode: Mode,
    state: Mutex<State>,
}

impl Changes {
    /// Apply changes; ask before the first one when stdin and stderr are a terminal and `yes` is false.
    pub fn apply(yes: bool) -> Changes {
        let ask = !yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Changes {
            mode: Mode::Apply { ask },
            state: Mutex::new(State::default()),
        }
    }

    /// Apply changes without asking (library use, tests, the REPL).
    pub fn unattended() -> Changes {
        Changes {
            mode: Mode::Apply { ask: false },
            state: Mutex::new(State::default()),
        }
    }

    /// Plan only: change nothing.
    pub fn plan() -> Changes {
        Changes {
            mode: Mode::Plan,
            state: Mutex::new(State::default()),
        }
    }

    pub fn is_plan(&self) -> bool {
        self.mode == Mode::Plan
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The step now running, for plan entries.
    pub fn set_step(&self, step: Option<String>) {
        self.state().step = step;
    }

    /// Before a change by `primitive`: `Ok(true)` when only planning (skip it), `Ok(false)`
    /// to go ahead. The registry says whether the primitive changes anything; one it
    /// describes as read-only is treated as a read.
    pub fn before_change(
        &self,
        primitive: &'static str,
        action: impl FnOnce() -> String,
    ) -> Result<bool, NotConfirmed> {
        if !registry::changes(primitive) {
            return Ok(self.before_read(action));
        }
        let mut state = self.state();
        match self.mode {
            Mode::Plan => {
                let step = state.step.clone();
                state.entries.push(PlanEntry {
                    step,
                    primitive: Some(primitive),
                    action: action(),
                    changes: true,
                });
                state.changed = true;
                Ok(true)
            }
            Mode::Apply { ask } => {
                if ask && !state.changed && !confirm(&action()) {
                    return Err(NotConfirmed);
                }
                state.changed = true;
                Ok(false)
            }
        }
    }

    /// Before a read: `true` when planning and an earlier change was only planned,
    /// so the read would see a cluster that does not exist yet (it joins the plan).
    pub fn before_read(&self, action: impl FnOnce() -> String) -> bool {
        let mut state = self.state();
        if self.mode != Mode::Plan || !state.changed {
            return false;
        }
        let step = state.step.clone();
        state.entries.push(PlanEntry {
            step,
            primitive: None,
            action: action(),
            changes: false,
        });
        true
    }

    pub fn entries(&self) -> Vec<PlanEntry> {
        self.state().entries.clone()
    }
}

fn confirm(action: &str) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "The first change of this run: {action}\nContinue? [y/N] "
    );
    let _ = err.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// The plan as numbered lines, grouped by step.
pub fn render_plan(entries: &[PlanEntry]) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for (number, entry) in entries.iter().enumerate() {
        if entry.step.as_deref() != current {
            current = entry.step.as_deref();
            if let Some(step) = current {
                out.push_str(&format!("step {step}:\n"));
            }
        }
        let kind = if entry.changes { "" } else { "check: " };
        out.push_str(&format!("{:>4}. {kind}{}\n", number + 1, entry.action));
    }
    out
}

/// The plan up to a failure of the runbook (nothing when it failed before planning anything).
pub fn report_plan_so_far(reporter: &Reporter, script: &Path, plan: &[PlanEntry]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planning_records_changes_and_the_reads_after_them() {
        let changes = Changes::plan();
        assert!(
            !changes.before_read(|| "health".into()),
            "reads before any change run for real"
        );
        changes.set_step(Some("backup".into()));
        assert!(changes
            .before_change("etcd.backup", || "etcd backup on etcd-1".into())
            .unwrap());
        assert!(changes.before_read(|| "verify backup".into()));
        let rendered = render_plan(&changes.entries());
        assert_eq!(
            rendered,
            "step backup:\n   1. etcd backup on etcd-1\n   2. check: verify backup\n"
        );
    }

    #[test]
    fn applying_unattended_goes_ahead() {
        let changes = Changes::unattended();
        assert!(!changes.before_change("host.write", || "x".into()).unwrap());
        assert!(!changes.before_read(|| "y".into()));
        assert!(changes.entries().is_empty());
    }
}
