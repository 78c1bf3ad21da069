//! `runbook debug`: run a runbook under Rhai's debugger, stopping at breakpoints
//! to step, look at variables and evaluate expressions.

mod breakpoints;
mod prompt;
mod statements;
mod stepping;

pub use breakpoints::{BreakAt, Resolver};

use crate::script::run::EngineHook;
use prompt::Debugger;
use std::sync::Arc;

/// The hook that attaches the debugger to a run's engine. Without breakpoints the
/// run stops before its first statement. A breakpoint that names no statement is
/// refused here, before anything runs.
pub fn hook(breaks: &[BreakAt], resolver: Resolver) -> Result<EngineHook, String> {
    let mut initial = Vec::new();
    for (number, at) in breaks.iter().enumerate() {
        let resolved = resolver.resolve(at)?;
        if resolved.note.is_some() {
            println!(
                "{}",
                prompt::announce(number + 1, &resolved.breakpoint, resolved.note)
            );
        }
        initial.push(resolved.breakpoint);
    }
    Ok(Box::new(move |engine, sources| {
        let debugger = Arc::new(Debugger::new(resolver, sources.clone(), initial));
        #[allow(deprecated)] // Rhai marks its debugger API volatile, not deprecated.
        engine.register_debugger(
            |_, state| state,
            move |context, event, node, source, position| {
                debugger.on_event(context, event, node, source, position)
            },
        );
    }))
}
