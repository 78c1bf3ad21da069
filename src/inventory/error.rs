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
    UndefinedGroup(Box<UndefinedGroup>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    VarsFile(Box<VarsFileError>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    NeitherFormat(Box<super::neither_format::NeitherFormat>),

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
    /// The error itself; for a file no syntax reads, the error of the syntax it looks like.
    pub fn innermost(&self) -> &InventoryError {
        match self {
            InventoryError::NeitherFormat(e) => e.primary.innermost(),
            other => other,
        }
    }

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
            InventoryError::UndefinedGroup(e) => Some(e.line),
            InventoryError::VarsFile(e) => Some(e.line),
            InventoryError::NeitherFormat(e) => e.primary.line(),
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
    UndefinedGroup
);

impl From<VarsFileError> for InventoryError {
    fn from(e: VarsFileError) -> InventoryError {
        InventoryError::VarsFile(Box::new(e))
    }
}

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
#[error("{file}:{line}: {section} names group {group}, which the file never declares")]
#[diagnostic(
    code(runbook::inventory::undefined_group),
    help("declare the group with a `[{group}]` section (it may be empty) or a `[{group}:children]` section, or remove the reference; Ansible refuses it too")
)]
pub struct UndefinedGroup {
    pub file: String,
    pub line: usize,
    pub group: String,
    /// `[parent:children]`, or `[group:vars]`.
    pub section: String,
    #[source_code]
    pub src: Src,
    #[label("{group} is not declared anywhere")]
    pub span: SourceSpan,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}:{column}: {message}")]
#[diagnostic(
    code(runbook::inventory::vars_file),
    help("a group_vars or host_vars file holds one YAML (or JSON) mapping of variable names to values")
)]
pub struct VarsFileError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[source_code]
    pub src: Src,
    #[label("here")]
    pub span: SourceSpan,
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
