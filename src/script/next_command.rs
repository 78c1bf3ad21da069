//! What to run after a journaled step failed: the exact `--resume` command, or the
//! runbook the error's help calls for (`rollback.rhai` after a migration that cannot
//! go on), with this run's inventory.

use super::api::error::ScriptError;
use super::runbooks;
use crate::journal::Steps;
use crate::transport::shell_quote;
use rhai::EvalAltResult;
use std::path::Path;

/// The line shown after `<== step NAME: FAILED`, if the run is journaled.
pub fn after_failure(step: &str, error: &EvalAltResult, steps: &Steps) -> Option<String> {
    let resume = steps.resume_command()?;
    let stopped =
        format!("the run stopped at step `{step}`; the steps before it are done and journaled.");
    let called_for: Vec<String> = help_of(error)
        .map(|help| named_runbooks(&help))
        .unwrap_or_default()
        .into_iter()
        .map(|name| {
            let path = runbooks::resolve(Path::new(&name))
                .and_then(|p| std::path::absolute(p).ok())
                .map(|p| shell_quote(&p.display().to_string()))
                .unwrap_or(name);
            format!("runbook run {path}{}", steps.run_options())
        })
        .collect();
    Some(if called_for.is_empty() {
        format!("{stopped} Once the cause below is fixed, continue from this step with: {resume}")
    } else {
        format!(
            "{stopped} The message below calls for {}: {} (only if its cause can be fixed instead, continue from this step with: {resume})",
            if called_for.len() == 1 { "another runbook" } else { "other runbooks" },
            called_for.join(" ; ")
        )
    })
}

/// The help of the primitive's error inside `error` (Rhai wraps it in the calls it went through).
fn help_of(error: &EvalAltResult) -> Option<String> {
    match error {
        EvalAltResult::ErrorRuntime(value, _) => value
            .read_lock::<ScriptError>()
            .and_then(|e| e.help().map(str::to_string)),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => help_of(inner),
        _ => None,
    }
}

/// Shipped runbooks a help names as `runbooks/NAME.rhai`.
fn named_runbooks(help: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (at, _) in help.match_indices("runbooks/") {
        let rest = &help[at + "runbooks/".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        let name = name.trim_end_matches('.');
        if let Some(stem) = name.strip_suffix(".rhai") {
            let name = format!("{stem}.rhai");
            if !stem.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_runbooks_a_help_names() {
        assert_eq!(
            named_runbooks("do not start etcd on it; restore the pre-migration backups with runbooks/rollback.rhai"),
            vec!["rollback.rhai".to_string()]
        );
        assert_eq!(
            named_runbooks(
                "first (runbooks/rollback.rhai). Then runbooks/rollback.rhai again, or runbooks/x"
            ),
            vec!["rollback.rhai".to_string()]
        );
        assert!(named_runbooks("check that the cluster is healthy").is_empty());
    }
}
