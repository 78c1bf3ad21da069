//! How an unquoted INI (or `-e`) value becomes a typed value.

use serde_json::Value;

/// Types an unquoted value: a decimal integer becomes a number, `true`/`false`/`yes`/`no`
/// (lower case, Capitalised or UPPER case) a boolean, anything else stays text.
/// Integers with a leading zero (`0644`) stay text, so file modes keep their digits.
pub fn type_unquoted(text: &str) -> Value {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" => return Value::Bool(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    let decimal = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if decimal {
        if let Ok(n) = text.parse::<i64>() {
            return Value::from(n);
        }
    }
    Value::String(text.to_string())
}

/// A value as text: strings as they are, numbers and booleans printed, lists and maps as JSON;
/// `None` for null.
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typing_rules() {
        assert_eq!(type_unquoted("2379"), json!(2379));
        assert_eq!(type_unquoted("-1"), json!(-1));
        assert_eq!(type_unquoted("0"), json!(0));
        assert_eq!(type_unquoted("0644"), json!("0644"));
        assert_eq!(type_unquoted("1.5"), json!("1.5"));
        assert_eq!(
            type_unquoted("99999999999999999999"),
            json!("99999999999999999999")
        );
        assert_eq!(type_unquoted("True"), json!(true));
        assert_eq!(type_unquoted("no"), json!(false));
        assert_eq!(type_unquoted("off"), json!("off"));
        assert_eq!(type_unquoted("10s"), json!("10s"));
        assert_eq!(type_unquoted(""), json!(""));
        assert_eq!(type_unquoted("-"), json!("-"));
    }
}
