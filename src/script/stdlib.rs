//! Finding the shipped `stdlib/` and resolving `import "name"` to a module file.
//!
//! An import is looked up next to the script first (so an operator can
//! override or add modules beside their runbook), then in the stdlib directory.

use super::sources::SourceMap;
use rhai::{Engine, EvalAltResult, Module, Position, Scope};
use std::sync::Arc;

type SharedModule = Arc<Module>;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The stdlib directory: `--stdlib`/`RUNBOOK_STDLIB`, else beside the installed
/// binary (`<prefix>/share/runbook/stdlib` or `<bindir>/stdlib`), else the repository's.
pub fn locate_stdlib(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    shipped_dir("stdlib")
}

/// A directory shipped with runbook (`stdlib` or `runbooks`), found the same way as the stdlib.
pub fn shipped_dir(name: &str) -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        if let Some(bin_dir) = exe.parent() {
            let candidates = [
                bin_dir.join(name),
                bin_dir.join("..").join("share").join("runbook").join(name),
            ];
            for candidate in candidates {
                if candidate.is_dir() {
                    return candidate;
                }
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// The modules in a stdlib directory: `(name, file)` of each `*.rhai`, by name.
pub fn modules_in(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut modules: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p)))
        .collect();
    modules.sort();
    modules
}

/// Resolves `import "name"` to `name.rhai` in the script's directory, then in the stdlib.
pub struct ModuleFiles {
    search_path: Vec<PathBuf>,
    sources: SourceMap,
    cache: Mutex<HashMap<PathBuf, SharedModule>>,
}

impl ModuleFiles {
    pub fn new(search_path: Vec<PathBuf>, sources: SourceMap) -> ModuleFiles {
        ModuleFiles {
            search_path,
            sources,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The file `import "name"` loads, by its canonical path.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        let file = if name.ends_with(".rhai") {
            name.to_string()
        } else {
            format!("{name}.rhai")
        };
        if Path::new(&file).is_absolute() {
            return Some(PathBuf::from(file)).filter(|p| p.is_file());
        }
        let found = self
            .search_path
            .iter()
            .map(|dir| dir.join(&file))
            .find(|p| p.is_file())?;
        // One name per file, whichever directory spelling found it.
        Some(std::fs::canonicalize(&found).unwrap_or(found))
    }
}

impl rhai::ModuleResolver for ModuleFiles {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let file = self
            .find(path)
            .ok_or_else(|| Box::new(EvalAltResult::ErrorModuleNotFound(path.to_string(), pos)))?;
        if let Some(module) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&file)
        {
            return Ok(module.clone());
        }
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|err| {
            Box::new(EvalAltResult::ErrorInModule(
                name.clone(),
                Box::new(EvalAltResult::ErrorRuntime(
                    format!("cannot read {name}: {err}").into(),
                    Position::NONE,
                )),
                pos,
            ))
        })?;
        self.sources.insert(&name, &text);
        let mut ast = engine.compile(&text).map_err(|err| {
            Box::new(EvalAltResult::ErrorInModule(
                name.clone(),
                Box::new(err.into()),
                pos,
            ))
        })?;
        ast.set_source(name.as_str());
        let module: SharedModule = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|err| Box::new(EvalAltResult::ErrorInModule(name.clone(), err, pos)))?
            .into();
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(file, module.clone());
        Ok(module)
    }
}
