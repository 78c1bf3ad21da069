//! The REPL's line editor glue: Tab completion and multi-line input for rustyline.

use super::completion::{complete, Vocabulary};
use super::input::is_complete;
use super::session::Names;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper, Highlighter, Hinter};

#[derive(Helper, Highlighter, Hinter)]
pub struct LineHelper {
    pub vocabulary: Vocabulary,
    /// Refreshed after each input, so new variables complete.
    pub names: Names,
    files: FilenameCompleter,
}

impl LineHelper {
    pub fn new(vocabulary: Vocabulary) -> LineHelper {
        LineHelper {
            vocabulary,
            names: Names::default(),
            files: FilenameCompleter::new(),
        }
    }
}

impl Completer for LineHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if line.starts_with(":load ") {
            return self.files.complete(line, pos, ctx);
        }
        let (start, words) = complete(line, pos, &self.names, &self.vocabulary);
        let pairs = words
            .into_iter()
            .map(|word| Pair {
                display: word.clone(),
                replacement: word,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Validator for LineHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}
