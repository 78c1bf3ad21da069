//! Inventory errors, each naming the file and line and how to fix it.

use super::source::Src;
use miette::SourceSpan;

/// Why an inventory could not be read or a variable could not be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InventoryError {
    #[error("cannot read inventory {path}: {reason}")]
    #[diagnostic(
        code(runbook::inventory::read),
        help("check the path given to -i, and that the file is readable UTF-8 text")
    )]
    Read { path: String, reason: String },

    #[error("{file}:{line}: malformed section header: {detail}")]
    #[diagnostic(
        code(runbook::inventory::section_header),
        help("a section header is `[group]`, `[group:vars]` or `[group:children]`, alone on its line; group names have no spaces, `:`, `[`, `]` or `#`")
    )]
    MalformedSection {
        file: String,
        line: usize,
        detail: String,
        #[source_code]
        src: Src,
        #[label("{detail}")]
        span: SourceSpan,
    },

    #[error("{file}:{line}: unknown section kind `{kind}` in [{group}:{kind}]")]
    #[diagnostic(
        code(runbook::inventory::section_kind),
        help("use `[{group}]` for hosts, `[{group}:vars]` for variables or `[{group}:children]` for child groups")
    )]
    UnknownSectionKind {
        file: String,
        line: usize,
        group: String,
        kind: String,
        #[source_code]
        src: Src,
        #[label("expected `vars` or `children`")]
        span: SourceSpan,
    },

    #[error("{file}:{line}: bad host range in `{pattern}`: {reason}")]
    #[diagnostic(code(runbook::inventory::range))]
    BadRange {
        file: String,
        line: usize,
        pattern: String,
        reason: String,
        #[help]
        help: String,
        #[source_code]
        src: Src,
        #[label("{reason}")]
        span: SourceSpan,
    },

    #[error("{file}:{line}: bad variable `{token}` for host {host}: {reason}")]
    #[diagnostic(
        code(runbook::inventory::host_var),
        help("after the host name come variables as `name=value`; quote a value that has spaces: name=\"a b\"")
    )]
    BadHostVar {
        file: String,
        line: usize,
        host: String,
        token: String,
        reason: String,
        #[source_code]
        src: Src,
        #[label("{reason}")]
        span: SourceSpan,
    },

    #[error("{file}:{line}: bad line in [{group}:vars]: {reason}")]
    #[diagnostic(
        code(runbook::inventory::group_var),
        help(
            "each line of a `[group:vars]` section is `name=value`; quote a value that has spaces"
        )
    )]
    BadGroupVar {
        file: String,
        line: usize,
        group: String,
        reason: String,
        #[source_code]
        src: Src,
        #[label("{reason}")]
        span: SourceSpan,
    },

    #[error("{file}:{line}: bad child group `{name}` in [{group}:children]")]
    #[diagnostic(
        code(runbook::inventory::child_group),
        help("each line of a `[group:children]` section is one group name, with no spaces or variables")
    )]
    BadChildGroup {
        file: String,
        line: usize,
        group: String,
        name: String,
        #[source_code]
        src: Src,
        #[label("one group name per line")]
        span: SourceSpan,
    },

    #[error("{file}:{line}: making {child} a child of {group} creates a loop of groups")]
    #[diagnostic(
        code(runbook::inventory::group_loop),
        help("a group cannot contain itself, directly or through its children: remove {child} from the children of {group}")
    )]
    GroupLoop {
        file: String,
        line: usize,
        group: String,
        child: String,
        #[source_code]
        src: Src,
        #[label("{child} already contains {group}")]
        span: SourceSpan,
    },

    #[error("{file}: host {host} sets {var} twice with different values: {first} at line {first_line}, {second} at line {second_line}")]
    #[diagnostic(
        code(runbook::inventory::conflicting_host_var),
        help("give {var} a single value for {host}: delete one of the two settings (lines {first_line} and {second_line}), or set it once in a group's vars")
    )]
    ConflictingHostVar {
        file: String,
        host: String,
        var: String,
        first: String,
        second: String,
        first_line: usize,
        second_line: usize,
        #[source_code]
        src: Src,
        #[label("first set here")]
        first_span: SourceSpan,
        #[label("set again here, to a different value")]
        second_span: SourceSpan,
    },

    #[error("{file}:{line}:{column}: {message}")]
    #[diagnostic(
        code(runbook::inventory::yaml),
        help("an Ansible YAML inventory is `all:` with optional `hosts:`, `vars:` and `children:`; each host maps to its variables (or to nothing), each child to a group of the same shape")
    )]
    Yaml {
        file: String,
        line: usize,
        column: usize,
        message: String,
        #[source_code]
        src: Src,
        #[label("{message}")]
        span: SourceSpan,
    },

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
