//! Running one runbook file: read, compile, evaluate, and turn failures into diagnostics.

use super::context::RunContext;
use super::diagnostics::{from_eval_error, from_parse_error, ScriptDiagnostic};
use super::engine::build_engine;
use super::sources::SourceMap;
use rhai::{Dynamic, Engine};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a run did not succeed.
#[derive(Debug)]
pub enum RunFailure {
    /// The file could not be read.
    Unreadable { path: PathBuf, reason: String },
    /// The script does not parse: nothing ran.
    Syntax(Box<ScriptDiagnostic>),
    /// The script ran and failed (or was interrupted).
    Failed(Box<ScriptDiagnostic>),
}

/// Something done to the engine before the script runs (the debugger attaches here).
pub type EngineHook = Box<dyn FnOnce(&mut Engine, &SourceMap)>;

/// The directories `import "name"` searches for a script: its own, then the stdlib.
pub fn module_path(script: &Path, stdlib: &Path) -> Vec<PathBuf> {
    let script_dir = match script.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    vec![script_dir, stdlib.to_path_buf()]
}

/// Reads, compiles and runs a runbook. Imports are searched next to the script, then in `stdlib`.
pub fn run_file(
    ctx: Arc<RunContext>,
    script: &Path,
    stdlib: &Path,
    hook: Option<EngineHook>,
) -> Result<Finished, RunFailure> {
    let text = std::fs::read_to_string(script).map_err(|err| RunFailure::Unreadable {
        path: script.to_path_buf(),
        reason: err.to_string(),
    })?;
    let name = script.display().to_string();
    run_source(ctx, &name, &text, module_path(script, stdlib), hook)
}

/// Compiles and runs script text known by `name`.
pub fn run_source(
    ctx: Arc<RunContext>,
    name: &str,
    text: &str,
    module_path: Vec<PathBuf>,
    hook: Option<EngineHook>,
) -> Result<Finished, RunFailure> {
    let sources = SourceMap::new();
    sources.insert(name, text);
    let mut engine = build_engine(ctx, module_path, sources.clone());
    if let Some(hook) = hook {
        hook(&mut engine, &sources);
    }
    let mut ast = engine
        .compile(text)
        .map_err(|err| RunFailure::Syntax(Box::new(from_parse_error(&err, name, &sources))))?;
    ast.set_source(name);
    let value = engine
        .eval_ast::<Dynamic>(&ast)
        .map_err(|err| RunFailure::Failed(Box::new(from_eval_error(&err, name, &sources))))?;
    let text = display(&engine, &value);
    Ok(Finished { value, text })
}

/// The value as the script's own `to_string` shows it (tables for reports, not type names).
pub fn display(engine: &rhai::Engine, value: &Dynamic) -> String {
    let mut scope = rhai::Scope::new();
    scope.push("result", value.clone());
    engine
        .eval_with_scope::<String>(&mut scope, "result.to_string()")
        .unwrap_or_else(|_| value.to_string())
}

/// A runbook's last value, and how it reads.
#[derive(Debug)]
pub struct Finished {
    pub value: Dynamic,
    pub text: String,
}
