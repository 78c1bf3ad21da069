//! What several adapters' result maps share: the map of a call planned on one host, and
//! counts as Rhai integers.

use serde::Serialize;

/// What a planned (not applied) call on one host returns: `#{host, planned: true}`.
#[derive(Serialize)]
pub struct PlannedOnHost<'a> {
    pub host: &'a str,
    pub planned: bool,
}

impl PlannedOnHost<'_> {
    pub fn new(host: &str) -> PlannedOnHost<'_> {
        PlannedOnHost {
            host,
            planned: true,
        }
    }
}

/// An unsigned count or size as a Rhai integer (`i64`), saturating: serialized as it is,
/// a `u64` above `i64::MAX` would reach scripts as a float.
pub fn saturating_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}
