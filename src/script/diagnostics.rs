//! Rhai errors as miette reports: the file, a caret under the exact token, the
//! chain of calls (each frame quoting its own file), and a help line.

use super::api::error::ScriptError;
use super::sources::SourceMap;
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};
use rhai::{EvalAltResult, ParseError, ParseErrorType, Position};
use std::fmt;

/// A script error ready to render.
#[derive(Debug)]
pub struct ScriptDiagnostic {
    message: String,
    code: String,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    label: Option<LabeledSpan>,
    related: Vec<ScriptDiagnostic>,
}

impl fmt::Display for ScriptDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScriptDiagnostic {}

impl Diagnostic for ScriptDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.label
            .clone()
            .map(|l| Box::new(std::iter::once(l)) as Box<dyn Iterator<Item = LabeledSpan>>)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|d| d as &dyn Diagnostic)))
    }
}

impl ScriptDiagnostic {
    /// The one-line message (without location).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The diagnostic code, e.g. `runbook::script::syntax`.
    pub fn code_text(&self) -> &str {
        &self.code
    }
}

/// A diagnostic with no source location.
pub fn plain(message: String, code: &str, help: &str) -> ScriptDiagnostic {
    ScriptDiagnostic {
        message,
        code: code.to_string(),
        help: Some(help.to_string()),
        source: None,
        label: None,
        related: Vec::new(),
    }
}

/// A syntax error in `source_name` (whose text is in `sources`).
pub fn from_parse_error(
    error: &ParseError,
    source_name: &str,
    sources: &SourceMap,
) -> ScriptDiagnostic {
    let ParseError(kind, position) = error;
    ScriptDiagnostic {
        message: format!("syntax error: {kind}"),
        code: "runbook::script::syntax".into(),
        help: Some(parse_help(kind)),
        source: None,
        label: None,
        related: Vec::new(),
    }
    .located(source_name, *position, "here", sources)
}

/// A runtime error raised while running `main_source`.
pub fn from_eval_error(
    error: &EvalAltResult,
    main_source: &str,
    sources: &SourceMap,
) -> ScriptDiagnostic {
    // Walk the wrappers: each call or import frame sits in the current source;
    // the error inside it sits in the callee's source.
    let mut frames: Vec<(String, Position, String, &str)> = Vec::new();
    let mut current = main_source.to_string();
    let mut error = error;
    loop {
        match error {
            EvalAltResult::ErrorInFunctionCall(name, callee_source, inner, position) => {
                // A closure's frame points at the `step(...)` or `.map(...)` that called it,
                // which adds nothing to the error's own location inside the closure.
                if !name.starts_with("anon$") {
                    frames.push((
                        current.clone(),
                        *position,
                        format!("`{name}` was called here"),
                        "call",
                    ));
                }
                if !callee_source.is_empty() {
                    current = callee_source.clone();
                }
                error = inner;
            }
            EvalAltResult::ErrorInModule(module, inner, position) => {
                frames.push((
                    current.clone(),
                    *position,
                    format!("`{}` was imported here", display_name(module)),
                    "import",
                ));
                if !module.is_empty() {
                    current = module.clone();
                }
                error = inner;
            }
            _ => break,
        }
    }

    let mut diagnostic = leaf(error, &current, sources);
    if diagnostic.code == super::api::utilities::FAIL_CODE {
        // `fail(message)`: the runbook's own words for the operator, not a script error.
        diagnostic.source = None;
        diagnostic.label = None;
        return diagnostic;
    }
    diagnostic.related = frames
        .into_iter()
        .rev()
        .map(|(source, position, what, label)| {
            ScriptDiagnostic {
                message: what,
                code: "runbook::script::call".into(),
                help: None,
                source: None,
                label: None,
                related: Vec::new(),
            }
            .located(&source, position, label, sources)
        })
        .collect();
    diagnostic
}

/// The innermost message of a runtime error, on one line (for journals and summaries).
pub fn short_message(error: &EvalAltResult) -> String {
    let message = from_eval_error(error, "", &SourceMap::new()).message;
    message.lines().next().unwrap_or("").to_string()
}

fn leaf(error: &EvalAltResult, source: &str, sources: &SourceMap) -> ScriptDiagnostic {
    let position = error.position();
    let (message, code, help, label) = match error {
        EvalAltResult::ErrorParsing(kind, _) => (
            format!("syntax error: {kind}"),
            "runbook::script::syntax".to_string(),
            Some(parse_help(kind)),
            "here",
        ),
        EvalAltResult::ErrorRuntime(value, _) => {
            if let Some(script_error) = value.clone().try_cast::<ScriptError>() {
                (
                    script_error.message().to_string(),
                    script_error.code().to_string(),
                    script_error.help().map(str::to_string),
                    "failed here",
                )
            } else {
                (
                    value.to_string(),
                    "runbook::script::thrown".to_string(),
                    Some("the runbook threw this error; see the `throw` or the failed check at the marked line".to_string()),
                    "thrown here",
                )
            }
        }
        EvalAltResult::ErrorTerminated(reason, _) if reason.is_string() => (
            reason.to_string(),
            "runbook::stopped".to_string(),
            Some("nothing after this point ran; run it again to go on".to_string()),
            "stopped here",
        ),
        EvalAltResult::ErrorTerminated(..) => (
            "interrupted".to_string(),
            "runbook::interrupted".to_string(),
            Some("the run was stopped by Ctrl-C; running commands were killed".to_string()),
            "stopped here",
        ),
        EvalAltResult::ErrorVariableNotFound(name, _) => (
            format!("variable `{name}` is not defined"),
            "runbook::script::variable".to_string(),
            Some(format!(
                "define it with `let {name} = ...;` before this line, or check the spelling"
            )),
            "not defined",
        ),
        EvalAltResult::ErrorFunctionNotFound(signature, _) => {
            let text = sources.get(source).unwrap_or_default();
            let explained =
                super::suggest::explain(signature, is_method_call(&text, position), &text);
            (
                explained.message,
                "runbook::script::function".to_string(),
                Some(explained.help),
                "no such function",
            )
        }
        EvalAltResult::ErrorModuleNotFound(name, _) => (
            format!("module `{name}` not found"),
            "runbook::script::module".to_string(),
            Some(format!(
                "put `{name}.rhai` next to the runbook or in the stdlib directory (see --stdlib)"
            )),
            "imported here",
        ),
        other => (
            message_without_position(other),
            "runbook::script::runtime".to_string(),
            None,
            "here",
        ),
    };
    ScriptDiagnostic {
        message,
        code,
        help,
        source: None,
        label: None,
        related: Vec::new(),
    }
    .located(source, position, label, sources)
}

impl ScriptDiagnostic {
    /// Attaches the source file and a caret at `position` (when both are known).
    fn located(
        mut self,
        source_name: &str,
        position: Position,
        label: &str,
        sources: &SourceMap,
    ) -> ScriptDiagnostic {
        let Some(text) = sources.get(source_name) else {
            return self;
        };
        if let Some(span) = span_at(&text, position) {
            self.label = Some(LabeledSpan::new_with_span(Some(label.to_string()), span));
        }
        self.source = Some(
            NamedSource::new(display_name(source_name), text.to_string()).with_language("rust"),
        );
        self
    }
}

/// Whether the call at `position` is written `value.name(...)`.
fn is_method_call(text: &str, position: Position) -> bool {
    span_at(text, position)
        .map(|span| text[..span.offset()].trim_end().ends_with('.'))
        .unwrap_or(false)
}

/// The byte span of the token at a Rhai position (1-based line and column, in characters).
pub fn span_at(text: &str, position: Position) -> Option<SourceSpan> {
    let line = position.line()?;
    let line_start = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum::<usize>();
    if line_start > text.len() {
        return None;
    }
    let line_text = text[line_start..].split('\n').next().unwrap_or("");
    let column = position.position().unwrap_or(1).max(1);
    let offset_in_line = line_text
        .char_indices()
        .nth(column - 1)
        .map(|(i, _)| i)
        .unwrap_or(line_text.len());
    let rest = &line_text[offset_in_line..];
    Some(SourceSpan::new(
        (line_start + offset_in_line).into(),
        token_length(rest),
    ))
}

/// The length in bytes of the token a string starts with: an identifier, a
/// number, a string literal, or else one character.
fn token_length(rest: &str) -> usize {
    let mut chars = rest.char_indices();
    let Some((_, first)) = chars.next() else {
        return 0;
    };
    if first.is_alphanumeric() || first == '_' {
        return rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
    }
    if first == '"' || first == '`' {
        let mut escaped = false;
        for (i, c) in chars {
            match c {
                '\\' if !escaped => escaped = true,
                c if c == first && !escaped => return i + c.len_utf8(),
                _ => escaped = false,
            }
        }
        return rest.len();
    }
    first.len_utf8()
}

fn display_name(source: &str) -> String {
    let path = std::path::Path::new(source);
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(relative) = path.strip_prefix(&cwd) {
            return relative.display().to_string();
        }
    }
    source.to_string()
}

fn message_without_position(error: &EvalAltResult) -> String {
    let text = error.to_string();
    match text.rfind(" (line ") {
        Some(cut) if text.ends_with(')') => text[..cut].to_string(),
        _ => text,
    }
}

fn parse_help(kind: &ParseErrorType) -> String {
    match kind {
        ParseErrorType::MissingToken(token, description) => format!("add `{token}` {description}"),
        ParseErrorType::UnknownOperator(op) => format!("`{op}` is not a Rhai operator"),
        ParseErrorType::MissingSymbol(symbol) => format!("add `{symbol}`"),
        ParseErrorType::VariableUndefined(name) => {
            format!("define `{name}` with `let` before using it")
        }
        _ => "fix the syntax at the marked token (Rhai syntax: https://rhai.rs/book/)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Position {
        Position::new(line as u16, column as u16)
    }

    #[test]
    fn caret_lands_on_the_token_at_a_one_based_position() {
        let text = "let a = 1;\nlet b = 2;\nlet c = * b;\n";
        let span = span_at(text, at(3, 9)).expect("span");
        assert_eq!(&text[span.offset()..span.offset() + span.len()], "*");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "let s = \"é€ü\"; let t = zz;\n";
        // `zz` is the 24th character but starts at a later byte.
        let span = span_at(text, at(1, 24)).expect("span");
        assert_eq!(&text[span.offset()..span.offset() + span.len()], "zz");
    }

    #[test]
    fn spans_cover_identifiers_and_string_literals() {
        let text = "foo_bar(\"a \\\" b\", x)";
        let ident = span_at(text, at(1, 1)).expect("span");
        assert_eq!(ident.len(), "foo_bar".len());
        let literal = span_at(text, at(1, 9)).expect("span");
        assert_eq!(
            &text[literal.offset()..literal.offset() + literal.len()],
            "\"a \\\" b\""
        );
    }

    #[test]
    fn positions_past_the_text_are_clamped() {
        assert!(span_at("x", at(1, 40)).is_some());
        assert!(span_at("", Position::NONE).is_none());
    }
}
