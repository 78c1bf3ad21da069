//! A host's inventory variables read leniently, the way Ansible reads them: `"22"` and `22`
//! alike, booleans in any of Ansible's spellings, and a bad value named with its host.

use super::TransportError;
use crate::inventory::Host;
use serde_json::Value;
use std::time::Duration;

/// The variables of one host.
pub(super) struct HostVars<'a>(pub(super) &'a Host);

impl HostVars<'_> {
    /// The value of `name`; a YAML null counts as unset.
    pub(super) fn get(&self, name: &str) -> Option<&Value> {
        self.0.vars.get(name).filter(|value| !value.is_null())
    }

    /// The value as text: strings as they are, numbers and booleans printed.
    pub(super) fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    }

    /// The last of `names` that is set, as Ansible's config manager picks among a setting's
    /// variable names (ansible/config/manager.py, `_loop_entries`): a later name wins.
    pub(super) fn last_set<'n>(&self, names: &[&'n str]) -> Option<(&'n str, String)> {
        names
            .iter()
            .rev()
            .find_map(|name| self.text(name).map(|value| (*name, value)))
    }

    /// A boolean as Ansible's `boolean()` reads it (ansible/module_utils/parsing/convert_bool.py):
    /// `y yes on 1 true t` and `n no off 0 false f` in any case, and the numbers 1 and 0.
    pub(super) fn boolean(&self, name: &str) -> Result<bool, TransportError> {
        let expected = "a boolean (true/false, yes/no)";
        match self.get(name) {
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(Value::Number(number)) if number.as_f64() == Some(1.0) => Ok(true),
            Some(Value::Number(number)) if number.as_f64() == Some(0.0) => Ok(false),
            Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" | "y" | "t" => Ok(true),
                "false" | "no" | "off" | "0" | "n" | "f" => Ok(false),
                _ => Err(self.invalid(name, expected)),
            },
            _ => Err(self.invalid(name, expected)),
        }
    }

    /// Whole seconds (`10`, `"10"`) or a duration (`"10s"`, `"1m"`).
    pub(super) fn seconds_or_duration(&self, name: &str) -> Result<Duration, TransportError> {
        let expected = "a number of seconds or a duration such as `10s`";
        let text = match self.get(name) {
            Some(Value::Number(number)) => match number.as_u64() {
                Some(seconds) if seconds > 0 => return Ok(Duration::from_secs(seconds)),
                _ => return Err(self.invalid(name, expected)),
            },
            Some(Value::String(text)) => text.trim().to_string(),
            _ => return Err(self.invalid(name, expected)),
        };
        if let Ok(seconds) = text.parse::<u64>() {
            return if seconds > 0 {
                Ok(Duration::from_secs(seconds))
            } else {
                Err(self.invalid(name, expected))
            };
        }
        crate::duration::parse_duration(&text).map_err(|_| self.invalid(name, expected))
    }

    /// A bad value of `name`, shown as it is.
    pub(super) fn invalid(&self, name: &str, expected: &str) -> TransportError {
        self.invalid_shown(name, expected, |value| value.to_string())
    }

    /// A bad value of `name`, shown through `show` (a secret is shown as `(hidden)`).
    pub(super) fn invalid_shown(
        &self,
        name: &str,
        expected: &str,
        show: impl Fn(&Value) -> String,
    ) -> TransportError {
        TransportError::InvalidVariable {
            host: self.0.name.clone(),
            variable: name.to_string(),
            value: self
                .get(name)
                .map(show)
                .unwrap_or_else(|| "(unset)".to_string()),
            expected: expected.to_string(),
        }
    }

    pub(super) fn host_name(&self) -> &str {
        &self.0.name
    }
}
