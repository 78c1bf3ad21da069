//! The one place the Rhai engine is built: types, modules, globals, limits,
//! print/debug hooks, the module resolver and cancellation.

use super::api;
use super::context::RunContext;
use super::sources::SourceMap;
use super::stdlib::ModuleFiles;
use rhai::{Dynamic, Engine};
use std::path::PathBuf;
use std::sync::Arc;

/// Names the engine provides as globals, visible inside script-defined functions too.
pub const GLOBALS: &[&str] = &["inventory", "etcd", "lease", "master"];

/// Builds the engine for one run. `module_path` lists the directories
/// searched for `import "name"` (the script's directory, then the stdlib).
pub fn build_engine(ctx: Arc<RunContext>, module_path: Vec<PathBuf>, sources: SourceMap) -> Engine {
    let mut engine = Engine::new();
    set_limits(&mut engine);

    api::register(&mut engine, ctx.clone());

    let reporter = ctx.reporter.clone();
    engine.on_print(move |text| reporter.print(text));
    let reporter = ctx.reporter.clone();
    engine.on_debug(move |text, source, position| {
        let place = match (source, position.line()) {
            (Some(source), Some(line)) => format!("{source}:{line}: "),
            (None, Some(line)) => format!("line {line}: "),
            _ => String::new(),
        };
        reporter.status(&format!("[debug] {place}{text}"));
    });

    // Ctrl-C cancels the token; the interpreter stops at its next operation.
    let cancel = ctx.cancel.clone();
    engine.on_progress(move |_| cancel.is_cancelled().then_some(Dynamic::UNIT));

    // Globals through a variable resolver, so script-defined functions see them
    // too; a local variable of the same name still wins.
    let globals_ctx = ctx.clone();
    #[allow(deprecated)]
    engine.on_var(move |name, _index, context| {
        if !GLOBALS.contains(&name) || context.scope().contains(name) {
            return Ok(None);
        }
        Ok(match name {
            "inventory" => Some(Dynamic::from(api::inventory::ScriptInventory {
                ctx: globals_ctx.clone(),
            })),
            "etcd" => Some(Dynamic::from(api::etcd::ScriptEtcd {
                ctx: globals_ctx.clone(),
            })),
            "lease" => Some(Dynamic::from(api::etcd::ScriptLease {
                ctx: globals_ctx.clone(),
            })),
            "master" => Some(Dynamic::from(api::master::ScriptMaster {
                ctx: globals_ctx.clone(),
            })),
            _ => None,
        })
    });

    engine.set_module_resolver(ModuleFiles::new(module_path, sources));
    engine
}

/// The run engine's limits; anything else that compiles runbook code uses them too.
pub fn set_limits(engine: &mut Engine) {
    engine.set_max_call_levels(96);
    engine.set_max_expr_depths(128, 64);
    engine.set_max_string_size(256 * 1024 * 1024);
    engine.set_max_modules(256);
}
