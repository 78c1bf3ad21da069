//! A command's failure: the report to render and the exit code it means.

use crate::exit;
use serde_json::{json, Value};

/// What `main` renders and exits with.
#[derive(Debug)]
pub struct Failure {
    pub report: miette::Report,
    pub exit_code: i32,
}

impl Failure {
    /// Bad usage or bad input (exit 2): nothing was changed.
    pub fn bad_input(diagnostic: impl miette::Diagnostic + Send + Sync + 'static) -> Failure {
        Failure {
            report: miette::Report::new(diagnostic),
            exit_code: exit::BAD_INPUT,
        }
    }

    /// The work itself failed (exit 1).
    pub fn failed(diagnostic: impl miette::Diagnostic + Send + Sync + 'static) -> Failure {
        Failure {
            report: miette::Report::new(diagnostic),
            exit_code: exit::FAILED,
        }
    }

    /// The failure as `--output json` reports it: `{status: "error", exit_code, code, message,
    /// help, location}` (`location` the `file:line:column` the report points at, when it has one).
    pub fn to_json(&self) -> Value {
        let report = &self.report;
        let location = report
            .labels()
            .and_then(|mut labels| labels.next())
            .and_then(|label| {
                let source = report.source_code()?;
                let contents = source.read_span(label.inner(), 0, 0).ok()?;
                let name = contents.name().map(str::to_string).unwrap_or_default();
                Some(format!(
                    "{name}:{}:{}",
                    contents.line() + 1,
                    contents.column() + 1
                ))
            });
        json!({
            "status": "error",
            "exit_code": self.exit_code,
            "code": report.code().map(|c| c.to_string()),
            "message": report.to_string(),
            "help": report.help().map(|h| h.to_string()),
            "location": location,
        })
    }

    /// Stopped by Ctrl-C (exit 130).
    pub fn interrupted(diagnostic: impl miette::Diagnostic + Send + Sync + 'static) -> Failure {
        Failure {
            report: miette::Report::new(diagnostic),
            exit_code: exit::INTERRUPTED,
        }
    }
}
