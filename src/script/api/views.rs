//! What several adapters' result maps share: counts as Rhai integers.

/// An unsigned count or size as a Rhai integer (`i64`), saturating: serialized as it is,
/// a `u64` above `i64::MAX` would reach scripts as a float.
pub fn saturating_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}
