//! Reading the options map a script passes to a primitive (`#{timeout: "2m"}`): unknown
//! names are refused, naming the known ones, and each value is read as the kind its option
//! needs, with one message and one code for every primitive.

use super::error::ScriptError;
use crate::duration::parse_duration;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use std::time::Duration;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// The code of every refused option: unknown, or of the wrong kind.
pub const OPTION: &str = "runbook::option";

/// The options map of one call. Unknown names are refused, naming the known ones; each
/// value is read as the kind its option needs.
pub struct Options<'a> {
    function: &'a str,
    map: &'a Map,
}

impl<'a> Options<'a> {
    /// Checks that `map` holds only options of `function` named in `known`.
    pub fn new(function: &'a str, map: &'a Map, known: &[&str]) -> RhaiResult<Options<'a>> {
        if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ScriptError::new(
                format!("{function} has no option `{unknown}`"),
                OPTION,
                Some(format!(
                    "the options of {function} are: {}",
                    known.join(", ")
                )),
            )
            .into_rhai());
        }
        Ok(Options { function, map })
    }

    fn wrong(&self, name: &str, expected: &str, value: &Dynamic) -> Box<EvalAltResult> {
        ScriptError::new(
            format!(
                "{} option `{name}` must be {expected}, not `{value}`",
                self.function
            ),
            OPTION,
            Some(format!("for example #{{{name}: {}}}", example(expected))),
        )
        .into_rhai()
    }

    fn get(&self, name: &str) -> Option<&Dynamic> {
        self.map.get(name)
    }

    /// A string option.
    pub fn string(&self, name: &str) -> RhaiResult<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(value) if value.is_string() => Ok(Some(value.to_string())),
            Some(value) => Err(self.wrong(name, "a string", value)),
        }
    }

    /// A true/false option.
    pub fn bool(&self, name: &str) -> RhaiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_bool()
                .map(Some)
                .map_err(|_| self.wrong(name, "true or false", value)),
        }
    }

    /// A whole number of at least `minimum`.
    pub fn count(&self, name: &str, minimum: u64) -> RhaiResult<Option<u64>> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_int()
                .ok()
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| *n >= minimum)
                .map(Some)
                .ok_or_else(|| self.wrong(name, &format!("a whole number >= {minimum}"), value)),
        }
    }

    /// A duration such as `"30s"` or `"2m"`; a malformed one gets the duration's own error.
    pub fn duration(&self, name: &str) -> RhaiResult<Option<Duration>> {
        match self.get(name) {
            None => Ok(None),
            Some(value) if value.is_string() => {
                parse_duration(&value.to_string()).map(Some).map_err(|e| {
                    // The duration's own code and help, with the option it was given for.
                    let error = ScriptError::from_diagnostic(&e);
                    ScriptError::new(
                        format!("{} option `{name}`: {}", self.function, error.message()),
                        error.code(),
                        error.help().map(str::to_string),
                    )
                    .into_rhai()
                })
            }
            Some(value) => Err(self.wrong(name, "a duration", value)),
        }
    }

    /// An array option.
    pub fn array(&self, name: &str) -> RhaiResult<Option<Array>> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .clone()
                .try_cast::<Array>()
                .map(Some)
                .ok_or_else(|| self.wrong(name, "an array", value)),
        }
    }

    /// The raw value of an option that takes several kinds (`stdin`: a string or a blob).
    pub fn value(&self, name: &str) -> Option<&Dynamic> {
        self.get(name)
    }
}

fn example(expected: &str) -> &'static str {
    match expected {
        "a string" => "\"...\"",
        "true or false" => "true",
        "a duration" => "\"30s\"",
        "an array" => "[...]",
        _ => "1",
    }
}
