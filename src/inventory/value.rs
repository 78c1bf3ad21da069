//! A typed inventory value as text.

use serde_json::Value;

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
    fn text_of_values() {
        assert_eq!(value_text(&json!("a")).as_deref(), Some("a"));
        assert_eq!(value_text(&json!(2379)).as_deref(), Some("2379"));
        assert_eq!(value_text(&json!(true)).as_deref(), Some("true"));
        assert_eq!(value_text(&json!({"a": 1})).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(value_text(&Value::Null), None);
    }
}
