//! How a primitive's error reaches a script: a value `catch` can inspect, and
//! diagnostics can render with its code and help.

use rhai::{Dynamic, EvalAltResult, Position};
use std::sync::Arc;

/// An error raised by a primitive. In a script, `catch (e)` receives it:
/// `e.message`, `e.code`, `e.help`, and `print(e)` shows the message.
#[derive(Debug, Clone)]
pub struct ScriptError(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    message: String,
    code: String,
    help: Option<String>,
}

impl ScriptError {
    pub fn new(
        message: impl Into<String>,
        code: impl Into<String>,
        help: Option<String>,
    ) -> ScriptError {
        ScriptError(Arc::new(Inner {
            message: message.into(),
            code: code.into(),
            help,
        }))
    }

    /// Wraps any diagnostic, keeping its message (with its causes), code and help.
    pub fn from_diagnostic(diagnostic: &dyn miette::Diagnostic) -> ScriptError {
        let mut message = diagnostic.to_string();
        let mut cause = diagnostic.source();
        while let Some(inner) = cause {
            message.push_str(": ");
            message.push_str(&inner.to_string());
            cause = inner.source();
        }
        let code = diagnostic
            .code()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "runbook::primitive".to_string());
        let help = diagnostic.help().map(|h| h.to_string());
        ScriptError::new(message, code, help)
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn code(&self) -> &str {
        &self.0.code
    }

    pub fn help(&self) -> Option<&str> {
        self.0.help.as_deref()
    }

    /// The error as Rhai raises it; Rhai fills in the position of the call.
    pub fn into_rhai(self) -> Box<EvalAltResult> {
        Box::new(EvalAltResult::ErrorRuntime(
            Dynamic::from(self),
            Position::NONE,
        ))
    }
}

/// Turns a diagnostic into the error a primitive returns to Rhai.
pub fn to_rhai<E: miette::Diagnostic>(error: E) -> Box<EvalAltResult> {
    ScriptError::from_diagnostic(&error).into_rhai()
}

/// Registers the error type so scripts can inspect what they catch.
pub fn register(engine: &mut rhai::Engine) {
    engine
        .register_type_with_name::<ScriptError>("Error")
        .register_get("message", |e: &mut ScriptError| e.message().to_string())
        .register_get("code", |e: &mut ScriptError| e.code().to_string())
        .register_get("help", |e: &mut ScriptError| {
            e.help()
                .map(|h| Dynamic::from(h.to_string()))
                .unwrap_or(Dynamic::UNIT)
        })
        .register_fn("to_string", |e: &mut ScriptError| e.message().to_string())
        .register_fn("to_debug", |e: &mut ScriptError| {
            format!("Error({:?})", e.message())
        });
}
