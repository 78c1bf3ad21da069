//! Human durations as operators write them: `500ms`, `10s`, `2m`, `1h`, `1h30m`, `1d`.

use std::time::Duration;

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum DurationError {
    #[error("empty duration")]
    #[diagnostic(
        code(runbook::duration::empty),
        help("write a number followed by a unit, for example `10s` or `1h`")
    )]
    Empty,
    #[error("duration `{0}` has no unit")]
    #[diagnostic(
        code(runbook::duration::no_unit),
        help("add a unit: `{0}s` for seconds (units: ms, s, m, h, d)")
    )]
    NoUnit(String),
    #[error("duration `{0}` is negative")]
    #[diagnostic(
        code(runbook::duration::negative),
        help("durations count forward from now; write a positive value such as `5s`")
    )]
    Negative(String),
    #[error("duration `{0}` is zero")]
    #[diagnostic(
        code(runbook::duration::zero),
        help("use a duration of at least 1ms, for example `1s`")
    )]
    Zero(String),
    #[error("duration `{input}` has an unknown unit `{unit}`")]
    #[diagnostic(
        code(runbook::duration::unit),
        help("use one of the units ms, s, m, h, d, for example `30s`")
    )]
    UnknownUnit { input: String, unit: String },
    #[error("`{0}` is not a duration")]
    #[diagnostic(
        code(runbook::duration::syntax),
        help("write numbers each followed by a unit, for example `10s`, `1h30m` or `500ms`")
    )]
    Syntax(String),
    #[error("duration `{0}` is too large")]
    #[diagnostic(
        code(runbook::duration::overflow),
        help("use a duration below 100 years")
    )]
    Overflow(String),
}

/// Parses a duration such as `10s`, `1h30m` or `500ms`.
///
/// A bare number is refused (is `10` seconds or hours?), and so are zero and
/// negative durations: every caller means "some time from now".
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.starts_with('-') {
        return Err(DurationError::Negative(text.to_string()));
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::Syntax(text.to_string()));
        }
        let number: u128 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::Overflow(text.to_string()))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        if unit_len == 0 {
            return Err(if rest.is_empty() {
                DurationError::NoUnit(text.to_string())
            } else {
                DurationError::Syntax(text.to_string())
            });
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let millis_per_unit: u128 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            other => {
                return Err(DurationError::UnknownUnit {
                    input: text.to_string(),
                    unit: other.to_string(),
                })
            }
        };
        total = number
            .checked_mul(millis_per_unit)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| DurationError::Overflow(text.to_string()))?;
    }
    const HUNDRED_YEARS_MS: u128 = 100 * 365 * 86_400_000;
    if total > HUNDRED_YEARS_MS {
        return Err(DurationError::Overflow(text.to_string()));
    }
    if total == 0 {
        return Err(DurationError::Zero(text.to_string()));
    }
    Ok(Duration::from_millis(total as u64))
}

/// Formats a duration the way [`parse_duration`] reads it (`1h30m`, `10s`, `250ms`).
pub fn format_duration(duration: Duration) -> String {
    let mut millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if millis >= size {
            out.push_str(&format!("{}{unit}", millis / size));
            millis %= size;
        }
    }
    if millis > 0 {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_durations_the_procedure_uses() {
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("86400s"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("500s"), Ok(Duration::from_secs(500)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn refuses_what_an_operator_could_misread() {
        assert_eq!(
            parse_duration("10"),
            Err(DurationError::NoUnit("10".into()))
        );
        assert_eq!(
            parse_duration("-5s"),
            Err(DurationError::Negative("-5s".into()))
        );
        assert_eq!(parse_duration("0s"), Err(DurationError::Zero("0s".into())));
        assert!(matches!(
            parse_duration("1x"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(parse_duration("s"), Err(DurationError::Syntax(_))));
        assert!(matches!(
            parse_duration("1.5s"),
            Err(DurationError::Syntax(_))
        ));
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert!(matches!(
            parse_duration("99999999999999999999999d"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn formats_what_it_reads() {
        for text in ["1h", "10s", "1d", "1h30m", "250ms", "2m5s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
