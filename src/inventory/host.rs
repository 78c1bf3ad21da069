//! One inventory host and its effective variables.

use super::VarMap;

/// A host with its effective variables: defaults < `all` < parent groups <
/// child groups < host vars < `-e` overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    pub vars: VarMap,
}

impl Host {
    /// A variable as text (strings as they are, numbers and booleans printed).
    pub fn var_str(&self, name: &str) -> Option<String> {
        let _ = name;
        todo!("inventory::host::var_str")
    }
}
