//! The reference `runbook doc` and the REPL's `:help` print: the primitives from the
//! registry and the stdlib's functions from their doc comments, in one place.

use super::registry::{self, PRIMITIVES};
use super::stdlib_docs::{stdlib_functions, StdlibFunction};
use std::path::Path;

/// The whole reference: primitives, then stdlib functions.
pub struct Reference {
    pub stdlib: Vec<StdlibFunction>,
}

impl Reference {
    /// The reference for the stdlib in `stdlib_dir`.
    pub fn load(stdlib_dir: &Path) -> Reference {
        Reference {
            stdlib: stdlib_functions(stdlib_dir),
        }
    }

    /// Every entry called `name` (`etcd.backup`, `backup`, `openshift::masters`,
    /// `masters`), rendered; empty when there is none.
    pub fn lookup(&self, name: &str) -> Vec<String> {
        let mut found: Vec<String> = registry::find(name)
            .into_iter()
            .map(registry::render)
            .collect();
        let exact: Vec<_> = self
            .stdlib
            .iter()
            .filter(|f| f.full_name() == name)
            .collect();
        let functions = if exact.is_empty() {
            self.stdlib.iter().filter(|f| f.name == name).collect()
        } else {
            exact
        };
        found.extend(functions.into_iter().map(StdlibFunction::render));
        found
    }

    /// Everything, as text.
    pub fn render_all(&self) -> String {
        let mut entries: Vec<String> = PRIMITIVES.iter().map(registry::render).collect();
        entries.extend(self.stdlib.iter().map(StdlibFunction::render));
        entries.join("\n")
    }

    /// Everything as Markdown (what docs/primitives.md holds).
    pub fn markdown(&self) -> String {
        let mut out = registry::markdown();
        let mut module = None;
        for function in &self.stdlib {
            if module != Some(function.module.as_str()) {
                module = Some(function.module.as_str());
                out.push_str(&format!(
                    "\n## stdlib: {0}\n\n`import \"{0}\" as {0};`\n\n| function | what |\n|---|---|\n",
                    function.module
                ));
            }
            out.push_str(&format!(
                "| `{}` | {} |\n",
                function.signature(),
                function.doc.replace('\n', " ").replace('|', "\\|")
            ));
        }
        out
    }

    /// Every name `lookup` answers to, for completion.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = PRIMITIVES.iter().map(|p| p.full_name()).collect();
        names.extend(self.stdlib.iter().map(StdlibFunction::full_name));
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_primitives_and_stdlib_functions() {
        let reference = Reference::load(&crate::script::stdlib::shipped_dir("stdlib"));
        assert_eq!(reference.lookup("etcd.migrate").len(), 1);
        let masters = reference.lookup("openshift::masters");
        assert_eq!(masters.len(), 1);
        assert!(
            masters[0].starts_with("openshift::masters()"),
            "{masters:?}"
        );
        assert!(reference.lookup("no_such_thing").is_empty());
        assert!(reference.markdown().contains("## stdlib: openshift"));
    }
}
