//! One inventory host and its effective variables.

use super::value::value_text;
use super::{InventoryError, VarMap};
use serde_json::Value;

/// A host with its effective variables: defaults < `all` < parent groups <
/// child groups < host vars < `-e` overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    pub vars: VarMap,
}

impl Host {
    pub fn new(name: impl Into<String>, vars: VarMap) -> Host {
        Host {
            name: name.into(),
            vars,
        }
    }

    /// A variable as it is (typed), if set.
    pub fn var(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// A variable as text (strings as they are, numbers and booleans printed, lists and maps as
    /// JSON); `None` if unset or null.
    pub fn var_str(&self, name: &str) -> Option<String> {
        self.vars.get(name).and_then(value_text)
    }

    /// A variable as a boolean: `true`/`false`, or text `true`, `yes`, `on`, `1` / `false`, `no`,
    /// `off`, `0` in any case, or the numbers 1 and 0. `Ok(None)` if unset.
    pub fn var_bool(&self, name: &str) -> Result<Option<bool>, InventoryError> {
        let Some(value) = self.vars.get(name) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Null => return Ok(None),
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Some(true),
                "false" | "no" | "off" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| self.bad_type(name, value, "true or false"))
    }

    /// A variable as a whole number (a number, or text holding one). `Ok(None)` if unset.
    pub fn var_int(&self, name: &str) -> Result<Option<i64>, InventoryError> {
        let Some(value) = self.vars.get(name) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Null => return Ok(None),
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| self.bad_type(name, value, "a whole number"))
    }

    fn bad_type(&self, name: &str, value: &Value, expected: &'static str) -> InventoryError {
        InventoryError::BadVarType {
            host: self.name.clone(),
            var: name.to_string(),
            value: value_text(value).unwrap_or_default(),
            expected,
        }
    }
}
