//! Inventory errors, each naming the file and line and how to fix it.
//!
//! Errors that point into a file carry its text for the report; they are boxed so that
//! `Result<_, InventoryError>` stays small.

use super::source::Src;
use miette::{Diagnostic, SourceSpan};

/// Why an inventory could not be read or a variable could not be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InventoryError {
    #[error("cannot read inventory {path}: {reason}")]
    #[diagnostic(
        code(runbook::inventory::read),
        help("check the path given to -i, and that the file is readable UTF-8 text")
    )]
    Read { path: String, reason: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    MalformedSection(Box<MalformedSection>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    UnknownSectionKind(Box<UnknownSectionKind>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    BadRange(Box<BadRange>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    BadHostVar(Box<BadHostVar>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    BadGroupVar(Box<BadGroupVar>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    BadChildGroup(Box<BadChildGroup>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    GroupLoop(Box<GroupLoop>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    ConflictingHostVar(Box<ConflictingHostVar>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Yaml(Box<YamlError>),

    #[error("host {host}: {var}={value} is not {expected}")]
    #[diagnostic(
        code(runbook::inventory::var_type),
        help("set {var} to {expected} for {host} in the inventory, or with -e {var}=...")
    )]
    BadVarType {
        host: String,
        var: String,
        value: String,
        expected: &'static str,
    },
}

impl InventoryError {
    /// The 1-based line of the file the error is about (for a conflict, the second setting).
    pub fn line(&self) -> Option<usize> {
        match self {
            InventoryError::Read { .. } | InventoryError::BadVarType { .. } => None,
            InventoryError::MalformedSection(e) => Some(e.line),
            InventoryError::UnknownSectionKind(e) => Some(e.line),
            InventoryError::BadRange(e) => Some(e.line),
            InventoryError::BadHostVar(e) => Some(e.line),
            InventoryError::BadGroupVar(e) => Some(e.line),
            InventoryError::BadChildGroup(e) => Some(e.line),
            InventoryError::GroupLoop(e) => Some(e.line),
            InventoryError::ConflictingHostVar(e) => Some(e.second_line),
            InventoryError::Yaml(e) => Some(e.line),
        }
    }
}

macro_rules! boxed_from {
    ($($name:ident),*) => {$(
        impl From<$name> for InventoryError {
            fn from(e: $name) -> InventoryError {
                InventoryError::$name(Box::new(e))
            }
        }
    )*};
}
boxed_from!(
    MalformedSection,
    UnknownSectionKind,
    BadRange,
    BadHostVar,
    BadGroupVar,
    BadChildGroup,
    GroupLoop,
    ConflictingHostVar
);

impl From<YamlError> for InventoryError {
    fn from(e: YamlError) -> InventoryError {
        InventoryError::Yaml(Box::new(e))
    }
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}: malformed section header: {detail}")]
#[diagnostic(
    code(runbook::inventory::section_header),
    help("a section header is `[group]`, `[group:vars]` or `[group:children]`, alone on its line; group names have no spaces, `:`, `[`, `]` or `#`")
)]
pub struct MalformedSection {
    pub file: String,
    pub line: usize,
    pub detail: String,
    #[source_code]
    pub src: Src,
    #[label("{detail}")]
    pub span: SourceSpan,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}: unknown section kind `{kind}` in [{group}:{kind}]")]
#[diagnostic(
    code(runbook::inventory::section_kind),
    help("use `[{group}]` for hosts, `[{group}:vars]` for variables or `[{group}:children]` for child groups")
)]
pub struct UnknownSectionKind {
    pub file: String,
    pub line: usize,
    pub group: String,
    pub kind: String,
    #[source_code]
    pub src: Src,
    #[label("expected `vars` or `children`")]
    pub span: SourceSpan,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}: bad host range in `{pattern}`: {reason}")]
#[diagnostic(code(runbook::inventory::range))]
pub struct BadRange {
    pub file: String,
    pub line: usize,
    pub pattern: String,
    pub reason: String,
    #[help]
    pub help: String,
    #[source_code]
    pub src: Src,
    #[label("{reason}")]
    pub span: SourceSpan,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}: bad variable `{token}` for host {host}: {reason}")]
#[diagnostic(
    code(runbook::inventory::host_var),
    help("after the host name come variables as `name=value`; quote a value that has spaces: name=\"a b\"")
)]
pub struct BadHostVar {
    pub file: String,
    pub line: usize,
    pub host: String,
    pub token: String,
    pub reason: String,
    #[source_code]
    pub src: Src,
    #[label("{reason}")]
    pub span: SourceSpan,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}: bad line in [{group}:vars]: {reason}")]
#[diagnostic(
    code(runbook::inventory::group_var),
    help("each line of a `[group:vars]` section is `name=value`; quote a value that has spaces")
)]
pub struct BadGroupVar {
    pub file: String,
    pub line: usize,
    pub group: String,
    pub reason: String,
    #[source_code]
    pub src: Src,
    #[label("{reason}")]
    pub span: SourceSpan,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}: bad child group `{name}` in [{group}:children]")]
#[diagnostic(
    code(runbook::inventory::child_group),
    help(
        "each line of a `[group:children]` section is one group name, with no spaces or variables"
    )
)]
pub struct BadChildGroup {
    pub file: String,
    pub line: usize,
    pub group: String,
    pub name: String,
    #[source_code]
    pub src: Src,
    #[label("one group name per line")]
    pub span: SourceSpan,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}: making {child} a child of {group} creates a loop of groups")]
#[diagnostic(
    code(runbook::inventory::group_loop),
    help("a group cannot contain itself, directly or through its children: remove {child} from the children of {group}")
)]
pub struct GroupLoop {
    pub file: String,
    pub line: usize,
    pub group: String,
    pub child: String,
    #[source_code]
    pub src: Src,
    #[label("{child} already contains {group}")]
    pub span: SourceSpan,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}: host {host} sets {var} twice with different values: {first} at line {first_line}, {second} at line {second_line}")]
#[diagnostic(
    code(runbook::inventory::conflicting_host_var),
    help("give {var} a single value for {host}: delete one of the two settings (lines {first_line} and {second_line}), or set it once in a group's vars")
)]
pub struct ConflictingHostVar {
    pub file: String,
    pub host: String,
    pub var: String,
    pub first: String,
    pub second: String,
    pub first_line: usize,
    pub second_line: usize,
    #[source_code]
    pub src: Src,
    #[label("first set here")]
    pub first_span: SourceSpan,
    #[label("set again here, to a different value")]
    pub second_span: SourceSpan,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}:{column}: {message}")]
#[diagnostic(
    code(runbook::inventory::yaml),
    help("an Ansible YAML inventory is `all:` with optional `hosts:`, `vars:` and `children:`; each host maps to its variables (or to nothing), each child to a group of the same shape")
)]
pub struct YamlError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[source_code]
    pub src: Src,
    #[label("here")]
    pub span: SourceSpan,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_stay_small() {
        assert!(std::mem::size_of::<InventoryError>() <= 96);
    }
}
