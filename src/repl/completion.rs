//! What Tab offers in the REPL: meta commands, globals and their methods (from the
//! registry), variables, stdlib functions, and inventory host and group names inside
//! a string.

use super::session::{Names, ValueKind};
use crate::script::engine::GLOBALS;
use crate::script::registry::PRIMITIVES;

/// The REPL's own commands.
pub const META_COMMANDS: &[&str] = &[":help", ":load", ":vars", ":hosts", ":quit"];

const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "for", "in", "while", "loop", "return", "throw", "try",
    "catch", "import", "as", "true", "false", "break", "continue",
];

/// Rhai's own functions an operator reaches for most in a session.
const BUILTIN_FUNCTIONS: &[&str] = &["print", "debug", "parse_json", "timestamp", "type_of"];

/// Everything completion knows besides the session's variables.
pub struct Vocabulary {
    pub hosts: Vec<String>,
    pub groups: Vec<String>,
    /// Names `:help` answers to.
    pub help_names: Vec<String>,
}

/// The candidates for the word ending at `pos`, and where that word starts.
pub fn complete(
    line: &str,
    pos: usize,
    names: &Names,
    vocabulary: &Vocabulary,
) -> (usize, Vec<String>) {
    let before = &line[..pos];
    if let Some(command) = before.strip_prefix(':') {
        return match command.split_once(' ') {
            None => (
                0,
                matching(META_COMMANDS.iter().map(|s| s.to_string()), before),
            ),
            Some(("help", word)) => (
                pos - word.len(),
                matching(vocabulary.help_names.iter().cloned(), word),
            ),
            Some(_) => (pos, Vec::new()),
        };
    }
    if let Some(quote) = open_string_start(before) {
        let word = &before[quote..];
        let names = vocabulary.hosts.iter().chain(&vocabulary.groups).cloned();
        return (quote, matching(names, word));
    }
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || matches!(c, '_' | '.' | ':'))
        .last()
        .map_or(pos, |(i, _)| i);
    let token = &before[start..];
    if let Some((module, _)) = token.rsplit_once("::") {
        let functions = names
            .modules
            .iter()
            .filter(|(name, _)| name == module)
            .flat_map(|(_, functions)| functions.iter().map(|f| format!("{module}::{f}")));
        return (start, matching(functions, token));
    }
    if let Some((object, partial)) = token.rsplit_once('.') {
        let methods = methods_of(object, names);
        return (pos - partial.len(), matching(methods.into_iter(), partial));
    }
    let words = GLOBALS
        .iter()
        .map(|s| s.to_string())
        .chain(names.variables.iter().map(|(name, _)| name.clone()))
        .chain(names.modules.iter().map(|(name, _)| format!("{name}::")))
        .chain(
            PRIMITIVES
                .iter()
                .filter(|p| p.object.is_empty())
                .map(|p| p.name.to_string()),
        )
        .chain(BUILTIN_FUNCTIONS.iter().map(|s| s.to_string()))
        .chain(KEYWORDS.iter().map(|s| s.to_string()));
    (start, matching(words, token))
}

/// The methods of what `object` names: a global, a variable of a known kind, or
/// (when unknown) any object's.
fn methods_of(object: &str, names: &Names) -> Vec<String> {
    let objects: &[&str] = if GLOBALS.contains(&object) {
        &[object][..]
    } else {
        match names.variables.iter().find(|(name, _)| name == object) {
            Some((_, ValueKind::Host)) => &["host"],
            Some((_, ValueKind::Hosts)) => &["hosts"],
            Some((_, ValueKind::Service)) => &["service"],
            _ => &["host", "hosts", "service", "error"],
        }
    };
    PRIMITIVES
        .iter()
        .filter(|p| objects.contains(&p.object))
        .map(|p| p.name.to_string())
        .collect()
}

/// Where the text of a string left open before the cursor starts, if one is.
fn open_string_start(text: &str) -> Option<usize> {
    let mut open = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match (c, open) {
            (_, Some(_)) if escaped => escaped = false,
            ('\\', Some(_)) => escaped = true,
            ('"', Some(_)) => open = None,
            ('"', None) => open = Some(i + 1),
            _ => {}
        }
    }
    open
}

fn matching(words: impl Iterator<Item = String>, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = words.filter(|w| w.starts_with(prefix)).collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary {
            hosts: vec!["etcd-1".into(), "etcd-2".into(), "master-1".into()],
            groups: vec!["etcd".into(), "masters".into()],
            help_names: vec!["etcd.health".into(), "openshift::masters".into()],
        }
    }

    fn names() -> Names {
        Names {
            variables: vec![
                ("first".into(), ValueKind::Host),
                ("members".into(), ValueKind::Hosts),
            ],
            modules: vec![(
                "openshift".into(),
                vec!["etcd_hosts".into(), "masters".into()],
            )],
        }
    }

    fn candidates(line: &str) -> (usize, Vec<String>) {
        complete(line, line.len(), &names(), &vocabulary())
    }

    #[test]
    fn methods_of_globals_and_typed_variables() {
        assert_eq!(candidates("etcd.he"), (5, vec!["health".to_string()]));
        assert_eq!(
            candidates("let x = lease.a"),
            (14, vec!["attach".to_string()])
        );
        assert_eq!(candidates("first.ru"), (6, vec!["run".to_string()]));
        assert_eq!(candidates("members.ru"), (8, vec!["run_all".to_string()]));
    }

    #[test]
    fn stdlib_functions_variables_and_globals() {
        assert_eq!(
            candidates("openshift::ma"),
            (0, vec!["openshift::masters".to_string()])
        );
        assert_eq!(candidates("print(fir"), (6, vec!["first".to_string()]));
        assert_eq!(candidates("mas").1, vec!["master".to_string()]);
    }

    #[test]
    fn host_and_group_names_inside_strings() {
        assert_eq!(
            candidates("inventory.host(\"etcd"),
            (
                16,
                vec!["etcd".to_string(), "etcd-1".into(), "etcd-2".into()]
            )
        );
        assert_eq!(
            candidates("inventory.group(\"ma").1,
            vec!["master-1", "masters"]
        );
    }

    #[test]
    fn meta_commands_and_help_names() {
        assert_eq!(candidates(":h").1, vec![":help", ":hosts"]);
        assert_eq!(
            candidates(":help etcd.h"),
            (6, vec!["etcd.health".to_string()])
        );
    }
}
