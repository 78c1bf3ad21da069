//! Breakpoints as operators write them (`12`, `openshift.rhai:20`, `check_health`)
//! and as Rhai's debugger matches them.

use crate::script::sources::SourceMap;
use crate::script::stdlib::ModuleFiles;
use rhai::debugger::BreakPoint;
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

/// Turns breakpoints into Rhai's, naming files the way the run knows them.
pub struct Resolver {
    /// The runbook's name in the run (its path as given).
    pub script: String,
    /// Where `import` looks: the runbook's directory, then the stdlib.
    pub module_path: Vec<PathBuf>,
}

impl Resolver {
    pub fn resolve(&self, at: &BreakAt) -> Result<BreakPoint, String> {
        Ok(match at {
            BreakAt::Line { file, line } => BreakPoint::AtPosition {
                source: Some(self.source_of(file.as_deref())?.into()),
                // Column 0: any statement that starts on this line.
                pos: Position::new(*line, 0),
                enabled: true,
            },
            BreakAt::Function(name) => BreakPoint::AtFunctionName {
                name: name.as_str().into(),
                enabled: true,
            },
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
