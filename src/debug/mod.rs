//! `runbook debug`: run a runbook under Rhai's debugger, stopping at breakpoints
//! to step, look at variables and evaluate expressions.

mod breakpoints;
mod prompt;

pub use breakpoints::{BreakAt, Resolver};

use crate::script::run::EngineHook;
use prompt::Debugger;
use std::sync::Arc;

/// The hook that attaches the debugger to a run's engine. Without breakpoints the
/// run stops before its first statement.
pub fn hook(breaks: &[BreakAt], resolver: Resolver) -> Result<EngineHook, String> {
    let initial = breaks
        .iter()
        .map(|at| resolver.resolve(at))
        .collect::<Result<Vec<_>, _>>()?;
    let stop_at_start = initial.is_empty();
    Ok(Box::new(move |engine, sources| {
        let debugger = Arc::new(Debugger::new(resolver, sources.clone(), stop_at_start));
        let on_event = debugger.clone();
        #[allow(deprecated)] // Rhai marks its debugger API volatile, not deprecated.
        engine.register_debugger(
            move |_, mut state| {
                state.break_points_mut().extend(initial.iter().cloned());
                state
            },
            move |context, event, node, source, position| {
                on_event.on_event(context, event, node, source, position)
            },
        );
    }))
}
