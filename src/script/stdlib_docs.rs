//! The stdlib's functions as documentation: name, parameters and the `///` comment
//! above each `fn` in `stdlib/*.rhai`, read from the modules themselves so the text
//! lives in one place.

use std::path::Path;

/// One public function of a stdlib module.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StdlibFunction {
    /// The module's name, as in `import "openshift" as openshift;`.
    pub module: String,
    pub name: String,
    pub params: Vec<String>,
    /// The doc comment without its `///` markers.
    pub doc: String,
}

impl StdlibFunction {
    /// `openshift::etcd_hosts`
    pub fn full_name(&self) -> String {
        format!("{}::{}", self.module, self.name)
    }

    /// `openshift::names(hosts)`
    pub fn signature(&self) -> String {
        format!("{}({})", self.full_name(), self.params.join(", "))
    }

    /// As `runbook doc` and `:help` print it.
    pub fn render(&self) -> String {
        format!(
            "{}\n    {}\n    from stdlib/{}.rhai; use it after `import \"{}\" as {};`\n",
            self.signature(),
            self.doc.replace('\n', "\n    "),
            self.module,
            self.module,
            self.module
        )
    }
}

/// Every public function of every module in `dir`, by module then name. A module that
/// does not parse is skipped (running a runbook that imports it reports the error).
pub fn stdlib_functions(dir: &Path) -> Vec<StdlibFunction> {
    let mut engine = rhai::Engine::new();
    super::engine::set_limits(&mut engine);
    let mut functions = Vec::new();
    for (module, file) in super::stdlib::modules_in(dir) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Ok(ast) = engine.compile(&text) else {
            continue;
        };
        let mut found: Vec<StdlibFunction> = ast
            .iter_functions()
            // Closures compile to hidden `anon$...` functions.
            .filter(|f| f.access != rhai::FnAccess::Private && !f.name.starts_with("anon$"))
            .map(|f| StdlibFunction {
                module: module.to_string(),
                name: f.name.to_string(),
                params: f.params.iter().map(|p| p.to_string()).collect(),
                doc: f
                    .comments
                    .iter()
                    .flat_map(|comment| comment.lines())
                    .map(|line| line.trim().trim_start_matches("///").trim())
                    .collect::<Vec<_>>()
                    .join("\n"),
            })
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        functions.extend(found);
    }
    functions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_public_functions_and_their_comments() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tools.rhai"),
            "/// Adds one.\n/// Really.\nfn inc(x) { x + 1 }\nprivate fn hidden() { 1 }\nfn bare() { 2 }\n",
        )
        .unwrap();
        let functions = stdlib_functions(dir.path());
        let names: Vec<_> = functions.iter().map(|f| f.full_name()).collect();
        assert_eq!(names, ["tools::bare", "tools::inc"]);
        assert_eq!(functions[1].doc, "Adds one.\nReally.");
        assert_eq!(functions[1].signature(), "tools::inc(x)");
    }

    #[test]
    fn every_shipped_stdlib_function_is_documented() {
        let shipped = stdlib_functions(&crate::script::stdlib::shipped_dir("stdlib"));
        assert!(shipped.len() >= 8, "{shipped:?}");
        let undocumented: Vec<_> = shipped
            .iter()
            .filter(|f| f.doc.is_empty())
            .map(|f| f.full_name())
            .collect();
        assert!(undocumented.is_empty(), "no /// comment: {undocumented:?}");
    }
}
