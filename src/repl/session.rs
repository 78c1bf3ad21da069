//! One REPL session: the run engine and its globals, a scope and the functions
//! defined so far, kept from one input to the next.

use crate::script::api::host::ScriptHost;
use crate::script::api::row::{self, Row};
use crate::script::api::service::ScriptService;
use crate::script::context::RunContext;
use crate::script::diagnostics::{from_eval_error, from_parse_error, ScriptDiagnostic};
use crate::script::engine::build_engine;
use crate::script::run::display;
use crate::script::sources::SourceMap;
use crate::script::stdlib::{modules_in, ModuleFiles};
use rhai::{Dynamic, Engine, ModuleResolver, Position, Scope, AST};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What kind of object a variable holds, for completing its methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Host,
    Hosts,
    Service,
    Other,
}

/// The session's state that completion reads.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub variables: Vec<(String, ValueKind)>,
    pub modules: Vec<(String, Vec<String>)>,
}

pub struct Session {
    pub ctx: Arc<RunContext>,
    engine: Engine,
    scope: Scope<'static>,
    /// Functions defined by earlier inputs (statements are dropped after each).
    functions: AST,
    sources: SourceMap,
    module_path: Vec<PathBuf>,
    /// Modules reachable as `name::`: the stdlib's, and each `import "x" as name;`.
    modules: Vec<(String, Vec<String>)>,
    inputs: usize,
}

impl Session {
    /// A session whose `import`s look in `dir` (the working directory) then the stdlib.
    /// Every stdlib module is available from the start as `module::function`.
    pub fn new(
        ctx: Arc<RunContext>,
        dir: PathBuf,
        stdlib: &Path,
    ) -> (Session, Vec<ScriptDiagnostic>) {
        let sources = SourceMap::new();
        let module_path = vec![dir, stdlib.to_path_buf()];
        let engine = build_engine(ctx.clone(), module_path.clone(), sources.clone());
        let mut session = Session {
            ctx,
            engine,
            scope: Scope::new(),
            functions: AST::empty(),
            sources,
            module_path,
            modules: Vec::new(),
            inputs: 0,
        };
        let mut problems = Vec::new();
        for (stem, _) in modules_in(stdlib) {
            if let Err(problem) = session.import(&stem, &stem, "stdlib") {
                problems.push(*problem);
            }
        }
        (session, problems)
    }

    /// Makes module `path` reachable as `alias::` for the rest of the session.
    fn import(
        &mut self,
        path: &str,
        alias: &str,
        source: &str,
    ) -> Result<(), Box<ScriptDiagnostic>> {
        let resolver = ModuleFiles::new(self.module_path.clone(), self.sources.clone());
        let module = resolver
            .resolve(&self.engine, None, path, Position::NONE)
            .map_err(|err| Box::new(from_eval_error(&err, source, &self.sources)))?;
        let mut functions: Vec<String> = module
            .gen_fn_signatures_with_mapper(|t| t.into())
            .filter_map(|signature| signature.split_once('(').map(|(name, _)| name.to_string()))
            .filter(|name| !name.starts_with("anon$"))
            .collect();
        functions.sort();
        functions.dedup();
        self.modules.retain(|(name, _)| name != alias);
        self.modules.push((alias.to_string(), functions));
        self.engine.register_static_module(alias, module);
        Ok(())
    }

    /// Each `import "x" as y;` in `text` also makes `y::` reachable in later inputs
    /// (Rhai forgets imports when an evaluation ends).
    fn keep_imports(&mut self, text: &str, source: &str) -> Result<(), Box<ScriptDiagnostic>> {
        for (path, alias) in imports_in(text) {
            self.import(&path, &alias, source)?;
        }
        Ok(())
    }

    /// Evaluates one input; returns the value as it should be shown (None for unit).
    pub fn eval(&mut self, text: &str) -> Result<Option<String>, Box<ScriptDiagnostic>> {
        self.inputs += 1;
        let name = format!("<input {}>", self.inputs);
        self.eval_named(&name, text)
    }

    /// Evaluates a file into the session: its functions and top-level variables stay.
    pub fn load(&mut self, path: &Path) -> Result<Option<String>, Box<ScriptDiagnostic>> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| {
            Box::new(crate::script::diagnostics::plain(
                format!("cannot read {name}: {err}"),
                "runbook::repl::load",
                "give the path of a .rhai file, relative to the directory the REPL started in",
            ))
        })?;
        self.eval_named(&name, &text)
    }

    fn eval_named(
        &mut self,
        name: &str,
        text: &str,
    ) -> Result<Option<String>, Box<ScriptDiagnostic>> {
        // Each input tries unreachable hosts again: the operator may have just fixed one.
        self.ctx.transports.forget_failures();
        self.sources.insert(name, text);
        let mut ast = self
            .engine
            .compile_with_scope(&self.scope, text)
            .map_err(|err| Box::new(from_parse_error(&err, name, &self.sources)))?;
        ast.set_source(name);
        self.keep_imports(text, name)?;
        let mut merged = self.functions.merge(&ast);
        merged.set_source(name);
        let outcome = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &merged);
        // Functions defined by this input stay, even when its statements failed.
        merged.clear_statements();
        self.functions = merged;
        // A Ctrl-C ended this input only; the next one starts afresh.
        self.ctx.cancel.renew();
        let value = outcome.map_err(|err| Box::new(from_eval_error(&err, name, &self.sources)))?;
        Ok((!value.is_unit()).then(|| self.show(&value)))
    }

    /// Maps, report rows and arrays of plain data pretty-printed as JSON; reports and hosts as their own text.
    pub fn show(&self, value: &Dynamic) -> String {
        if value.is_map() || value.is_array() || value.is::<Row>() {
            if let Ok(json) = row::to_json(value) {
                if let Ok(text) = serde_json::to_string_pretty(&json) {
                    return text;
                }
            }
        }
        display(&self.engine, value)
    }

    /// Variables of the session: name, type and a one-line value.
    pub fn variables(&self) -> Vec<(String, String, String)> {
        self.scope
            .iter_raw()
            .map(|(name, _constant, value)| {
                let shown = self.show(value).replace('\n', " ");
                let shown = match shown.char_indices().nth(100) {
                    Some((cut, _)) => format!("{}...", &shown[..cut]),
                    None => shown,
                };
                (name.to_string(), friendly_type(value), shown)
            })
            .collect()
    }

    /// What completion needs to know now.
    pub fn names(&self) -> Names {
        let mut seen = std::collections::HashSet::new();
        let variables = self
            .scope
            .iter_raw()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .filter(|(name, ..)| seen.insert(name.to_string()))
            .map(|(name, _, value)| (name.to_string(), kind_of(value)))
            .collect();
        Names {
            variables,
            modules: self.modules.clone(),
        }
    }
}

fn kind_of(value: &Dynamic) -> ValueKind {
    if value.is::<ScriptHost>() {
        ValueKind::Host
    } else if value.is::<ScriptService>() {
        ValueKind::Service
    } else if value
        .read_lock::<rhai::Array>()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|v| v.is::<ScriptHost>()))
    {
        ValueKind::Hosts
    } else {
        ValueKind::Other
    }
}

fn friendly_type(value: &Dynamic) -> String {
    match kind_of(value) {
        ValueKind::Host => "host".into(),
        ValueKind::Hosts => "array of hosts".into(),
        ValueKind::Service => "service".into(),
        ValueKind::Other => value
            .type_name()
            .rsplit("::")
            .next()
            .unwrap_or("value")
            .to_string(),
    }
}

/// `(path, alias)` of each `import "path" as alias` in a text.
fn imports_in(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("import") {
        let after = &rest[at + "import".len()..];
        rest = after;
        let after = after.trim_start();
        let Some(quoted) = after.strip_prefix('"') else {
            continue;
        };
        let Some((path, tail)) = quoted.split_once('"') else {
            continue;
        };
        let Some(tail) = tail.trim_start().strip_prefix("as") else {
            continue;
        };
        let alias: String = tail
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !alias.is_empty() {
            found.push((path.to_string(), alias));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::imports_in;

    #[test]
    fn finds_imports_with_an_alias() {
        assert_eq!(
            imports_in("import \"openshift\" as os;\nlet x = 1; import \"./mine\" as mine;"),
            [
                ("openshift".to_string(), "os".to_string()),
                ("./mine".to_string(), "mine".to_string())
            ]
        );
        assert!(imports_in("import \"x\";").is_empty());
        assert!(imports_in("let important = 1;").is_empty());
    }
}
