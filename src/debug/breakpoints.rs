//! Breakpoints as operators write them (`12`, `openshift.rhai:20`, `check_health`)
//! and the statements they stop at.

use super::statements::Statements;
use crate::script::sources::SourceMap;
use crate::script::stdlib::ModuleFiles;
use rhai::Position;
use std::path::PathBuf;

/// Where to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakAt {
    /// A line of the runbook (`file` None) or of a module beside it or in the stdlib.
    Line { file: Option<String>, line: u16 },
    /// Every call of a script function of that name.
    Function(String),
}

impl std::str::FromStr for BreakAt {
    type Err = String;

    fn from_str(text: &str) -> Result<BreakAt, String> {
        let text = text.trim();
        let line = |digits: &str| -> Result<u16, String> {
            match digits.parse::<u16>() {
                Ok(0) | Err(_) => Err(format!(
                    "`{text}`: a line is a number from 1 (e.g. --break 12 or --break openshift.rhai:20)"
                )),
                Ok(line) => Ok(line),
            }
        };
        if text.chars().all(|c| c.is_ascii_digit()) && !text.is_empty() {
            return Ok(BreakAt::Line {
                file: None,
                line: line(text)?,
            });
        }
        if let Some((file, digits)) = text.rsplit_once(':') {
            return Ok(BreakAt::Line {
                file: Some(file.to_string()),
                line: line(digits)?,
            });
        }
        if text.is_empty() || !text.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(format!(
                "`{text}` is neither a line (12, file.rhai:20) nor a function name"
            ));
        }
        Ok(BreakAt::Function(text.to_string()))
    }
}

impl std::fmt::Display for BreakAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BreakAt::Line { file: None, line } => write!(f, "line {line}"),
            BreakAt::Line {
                file: Some(file),
                line,
            } => write!(f, "{file}:{line}"),
            BreakAt::Function(name) => write!(f, "fn {name}"),
        }
    }
}

/// A breakpoint as the debugger matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breakpoint {
    /// The statement that starts on `line` of `source` (its first, when several do).
    Statement {
        source: String,
        line: usize,
        /// Where the debugger reports that statement.
        reported_at: Position,
    },
    /// Every call of the script function `name`, where it is called.
    Function(String),
}

impl std::fmt::Display for Breakpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Breakpoint::Statement { source, line, .. } => write!(f, "{source}:{line}"),
            Breakpoint::Function(name) => write!(f, "fn {name}"),
        }
    }
}

/// Turns breakpoints as written into the statements they stop at, naming files the
/// way the run knows them.
pub struct Resolver {
    /// The runbook's name in the run (its path as given).
    pub script: String,
    /// Where `import` looks: the runbook's directory, then the stdlib.
    pub module_path: Vec<PathBuf>,
}

/// A resolved breakpoint, and a note when it stops somewhere else than asked.
pub struct Resolved {
    pub breakpoint: Breakpoint,
    pub note: Option<String>,
}

impl Resolver {
    pub fn resolve(&self, at: &BreakAt) -> Result<Resolved, String> {
        let (file, line) = match at {
            BreakAt::Function(name) => {
                return Ok(Resolved {
                    breakpoint: Breakpoint::Function(name.clone()),
                    note: None,
                })
            }
            BreakAt::Line { file, line } => (file.as_deref(), usize::from(*line)),
        };
        let source = self.source_of(file)?;
        let text = std::fs::read_to_string(&source)
            .map_err(|error| format!("cannot read {source}: {error}"))?;
        // A source that does not parse fails the run before any stop; keep the line as asked.
        let Some(statements) = Statements::parse(&text) else {
            return Ok(Resolved {
                breakpoint: Breakpoint::Statement {
                    source,
                    line,
                    reported_at: Position::new(line as u16, 0),
                },
                note: None,
            });
        };
        let Some(statement) = statements.first_from(line) else {
            return Err(match statements.last_line() {
                Some(last) => format!(
                    "{source}:{line} is past the last statement, which starts on line {last}"
                ),
                None => format!("{source} has no statements to stop at"),
            });
        };
        let start = statement.start.line().unwrap_or(line);
        Ok(Resolved {
            breakpoint: Breakpoint::Statement {
                source,
                line: start,
                reported_at: statement.reported_at,
            },
            note: (start != line).then(|| {
                format!(
                    "line {line} starts no statement; it stops at line {start}, the next that does"
                )
            }),
        })
    }

    fn source_of(&self, file: Option<&str>) -> Result<String, String> {
        let Some(file) = file else {
            return Ok(self.script.clone());
        };
        if file == self.script
            || PathBuf::from(file).file_name() == PathBuf::from(&self.script).file_name()
        {
            return Ok(self.script.clone());
        }
        ModuleFiles::new(self.module_path.clone(), SourceMap::new())
            .find(file)
            .map(|path| path.display().to_string())
            .ok_or_else(|| format!("no module `{file}` beside the runbook or in the stdlib"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_files_and_functions() {
        assert_eq!(
            "12".parse(),
            Ok(BreakAt::Line {
                file: None,
                line: 12
            })
        );
        assert_eq!(
            "openshift.rhai:20".parse(),
            Ok(BreakAt::Line {
                file: Some("openshift.rhai".into()),
                line: 20
            })
        );
        assert_eq!(
            "check_health".parse(),
            Ok(BreakAt::Function("check_health".into()))
        );
        assert!("0".parse::<BreakAt>().is_err());
        assert!("a.rhai:x".parse::<BreakAt>().is_err());
        assert!("not a name".parse::<BreakAt>().is_err());
    }
}
