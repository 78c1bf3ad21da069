//! A command's failure: the report to render and the exit code it means.

use crate::exit;

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

    /// Stopped by Ctrl-C (exit 130).
    pub fn interrupted(diagnostic: impl miette::Diagnostic + Send + Sync + 'static) -> Failure {
        Failure {
            report: miette::Report::new(diagnostic),
            exit_code: exit::INTERRUPTED,
        }
    }
}
