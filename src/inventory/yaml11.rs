//! YAML 1.1 scalar typing as PyYAML's `Resolver` and `SafeConstructor` do it, which is what
//! Ansible's loader uses: `yes`/`no`/`on`/`off` are booleans, `0644` is octal, `190:20:30` is
//! sexagesimal, `~` and an empty value are null, and timestamps read as dates (written here as
//! ansible-inventory prints them, in ISO form).

use regex::Regex;
use serde_json::{Number, Value};
use std::sync::LazyLock;

const BOOL: &str =
    r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$";
const FLOAT: &str = r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$";
const INT: &str = r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$";
const NULL: &str = r"^(?:~|null|Null|NULL|)$";
const TIMESTAMP: &str = r"^(?P<year>[0-9][0-9][0-9][0-9])-(?P<month>[0-9][0-9]?)-(?P<day>[0-9][0-9]?)(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9][0-9]?):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])(?:\.(?P<fraction>[0-9]*))?(?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9][0-9]?)(?::(?P<tz_minute>[0-9][0-9]))?))?)?$";

/// The implicit resolver's pattern: a date alone needs two-digit month and day.
const TIMESTAMP_IMPLICIT: &str = r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$";

static BOOL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(BOOL).expect("bool pattern"));
static FLOAT_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(FLOAT).expect("float pattern"));
static INT_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(INT).expect("int pattern"));
static NULL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(NULL).expect("null pattern"));
static TIMESTAMP_IMPLICIT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(TIMESTAMP_IMPLICIT).expect("timestamp pattern"));
static TIMESTAMP_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(TIMESTAMP).expect("timestamp pattern"));

/// The tag PyYAML's implicit resolvers give a plain scalar (only those registered for its
/// first character are tried, in registration order).
pub fn implicit_tag(value: &str) -> &'static str {
    let first = value.chars().next();
    let candidates: &[(&str, &LazyLock<Regex>)] = match first {
        None => &[("null", &NULL_RE)],
        Some('y' | 'Y' | 't' | 'T' | 'f' | 'F' | 'o' | 'O') => &[("bool", &BOOL_RE)],
        Some('n' | 'N') => &[("bool", &BOOL_RE), ("null", &NULL_RE)],
        Some('~') => &[("null", &NULL_RE)],
        Some('.') => &[("float", &FLOAT_RE)],
        Some('-' | '+') => &[("float", &FLOAT_RE), ("int", &INT_RE)],
        Some('0'..='9') => &[
            ("float", &FLOAT_RE),
            ("int", &INT_RE),
            ("timestamp", &TIMESTAMP_IMPLICIT_RE),
        ],
        Some('<') if value == "<<" => return "merge",
        Some('=') if value == "=" => return "value",
        _ => &[],
    };
    candidates
        .iter()
        .find(|(_, pattern)| pattern.is_match(value))
        .map_or("str", |(tag, _)| tag)
}

/// Builds the value of a scalar with a YAML core tag (`int`, `float`, `bool`, `null`,
/// `timestamp`, `str`). `Ok(None)` where the value has no JSON form (an infinite or NaN float,
/// an integer beyond 64 bits): the caller keeps the text. `Err` where PyYAML fails.
pub fn construct(tag: &str, value: &str) -> Result<Option<Value>, String> {
    match tag {
        "str" => Ok(Some(Value::String(value.to_string()))),
        "null" => Ok(Some(Value::Null)),
        "bool" => match value.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Ok(Some(Value::Bool(true))),
            "no" | "false" | "off" => Ok(Some(Value::Bool(false))),
            _ => Err(format!("`{value}` is not a YAML boolean")),
        },
        "int" => int(value),
        "float" => float(value),
        "timestamp" => timestamp(value).map(|t| Some(Value::String(t))),
        _ => Err(format!(
            "could not determine a constructor for the tag `{tag}`"
        )),
    }
}

/// Sign and digits with `_` removed.
fn signed(value: &str) -> (bool, String) {
    let cleaned: String = value.chars().filter(|c| *c != '_').collect();
    match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (
            false,
            cleaned.strip_prefix('+').unwrap_or(&cleaned).to_string(),
        ),
    }
}

fn int(value: &str) -> Result<Option<Value>, String> {
    let (negative, digits) = signed(value);
    let bad = || format!("`{value}` is not a YAML integer");
    let magnitude: Option<u128> = if digits == "0" {
        Some(0)
    } else if let Some(bin) = digits.strip_prefix("0b") {
        Some(u128::from_str_radix(bin, 2).map_err(|_| bad())?)
    } else if let Some(hex) = digits.strip_prefix("0x") {
        Some(u128::from_str_radix(hex, 16).map_err(|_| bad())?)
    } else if digits.starts_with('0') {
        Some(u128::from_str_radix(&digits, 8).map_err(|_| bad())?)
    } else if digits.contains(':') {
        let mut total: u128 = 0;
        for part in digits.split(':') {
            let part: u128 = part.parse().map_err(|_| bad())?;
            total = total
                .checked_mul(60)
                .and_then(|t| t.checked_add(part))
                .ok_or_else(bad)?;
        }
        Some(total)
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Beyond 128 bits: no JSON form either way.
        digits.parse::<u128>().ok()
    } else {
        return Err(bad());
    };
    let Some(magnitude) = magnitude else {
        return Ok(None);
    };
    let number = if negative {
        i64::try_from(magnitude)
            .ok()
            .map(|m| Number::from(-m))
            .or_else(|| (magnitude == 1u128 << 63).then(|| Number::from(i64::MIN)))
    } else {
        u64::try_from(magnitude).ok().map(Number::from)
    };
    Ok(number.map(Value::Number))
}

fn float(value: &str) -> Result<Option<Value>, String> {
    let (negative, digits) = signed(&value.to_ascii_lowercase());
    let sign = if negative { -1.0 } else { 1.0 };
    let f = if digits == ".inf" || digits == ".nan" {
        return Ok(None);
    } else if digits.contains(':') {
        let mut total = 0.0;
        for part in digits.split(':') {
            total = total * 60.0
                + part
                    .parse::<f64>()
                    .map_err(|_| format!("`{value}` is not a YAML float"))?;
        }
        sign * total
    } else {
        sign * digits
            .parse::<f64>()
            .map_err(|_| format!("`{value}` is not a YAML float"))?
    };
    Ok(Number::from_f64(f).map(Value::Number))
}

/// A timestamp as Python's `isoformat()` writes the date or datetime PyYAML builds.
fn timestamp(value: &str) -> Result<String, String> {
    let caps = TIMESTAMP_RE
        .captures(value)
        .ok_or_else(|| format!("`{value}` is not a YAML timestamp"))?;
    let num = |name: &str| {
        caps.name(name)
            .map_or(0, |m| m.as_str().parse::<u32>().unwrap_or(0))
    };
    let (year, month, day) = (num("year"), num("month"), num("day"));
    let bad = || format!("`{value}` is not a valid date");
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if year == 0 || day == 0 || day > days_in_month {
        return Err(bad());
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if caps.name("hour").is_none() {
        return Ok(date);
    }
    let (hour, minute, second) = (num("hour"), num("minute"), num("second"));
    if hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    let mut out = format!("{date}T{hour:02}:{minute:02}:{second:02}");
    if let Some(fraction) = caps.name("fraction") {
        let mut digits: String = fraction.as_str().chars().take(6).collect();
        while digits.len() < 6 {
            digits.push('0');
        }
        if digits != "000000" {
            out.push('.');
            out.push_str(&digits);
        }
    }
    if let Some(sign) = caps.name("tz_sign") {
        let (h, m) = (num("tz_hour"), num("tz_minute"));
        if h > 23 || m > 59 {
            return Err(bad());
        }
        let zero = h == 0 && m == 0;
        let sign = if zero { "+" } else { sign.as_str() };
        out.push_str(&format!("{sign}{h:02}:{m:02}"));
    } else if caps.name("tz").is_some() {
        out.push_str("+00:00");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(value: &str) -> Option<Value> {
        construct(implicit_tag(value), value).unwrap()
    }

    #[test]
    fn booleans_and_nulls() {
        for t in ["yes", "Yes", "YES", "on", "On", "true", "TRUE"] {
            assert_eq!(plain(t), Some(json!(true)), "{t}");
        }
        for f in ["no", "No", "off", "OFF", "false", "False"] {
            assert_eq!(plain(f), Some(json!(false)), "{f}");
        }
        for n in ["~", "null", "Null", "NULL", ""] {
            assert_eq!(plain(n), Some(Value::Null), "{n}");
        }
        for s in ["y", "n", "yES", "nul", "Off2"] {
            assert_eq!(plain(s), Some(json!(s)), "{s}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(plain("0644"), Some(json!(420)));
        assert_eq!(plain("0649"), Some(json!("0649")));
        assert_eq!(plain("0x1F"), Some(json!(31)));
        assert_eq!(plain("0b101"), Some(json!(5)));
        assert_eq!(plain("0o17"), Some(json!("0o17")));
        assert_eq!(plain("1_000"), Some(json!(1000)));
        assert_eq!(plain("-12"), Some(json!(-12)));
        assert_eq!(plain("190:20:30"), Some(json!(685230)));
        assert_eq!(plain("1:30.5"), Some(json!(90.5)));
        assert_eq!(plain("3.10"), Some(json!(3.1)));
        assert_eq!(plain("1e3"), Some(json!("1e3")));
        assert_eq!(plain("1.0e+3"), Some(json!(1000.0)));
        assert_eq!(plain(".5"), Some(json!(0.5)));
        assert_eq!(plain("1."), Some(json!(1.0)));
        assert_eq!(plain("10.0.0.1"), Some(json!("10.0.0.1")));
        assert_eq!(plain(".inf"), None);
        assert_eq!(plain("-.Inf"), None);
        assert_eq!(plain(".NaN"), None);
        assert_eq!(plain("99999999999999999999"), None);
        assert_eq!(plain("2379/tcp"), Some(json!("2379/tcp")));
    }

    #[test]
    fn timestamps_as_ansible_inventory_prints_them() {
        assert_eq!(plain("2001-12-14"), Some(json!("2001-12-14")));
        assert_eq!(
            plain("2001-12-14t21:59:43.10-05:00"),
            Some(json!("2001-12-14T21:59:43.100000-05:00"))
        );
        assert_eq!(
            plain("2001-12-15T02:59:43.1Z"),
            Some(json!("2001-12-15T02:59:43.100000+00:00"))
        );
        assert_eq!(
            plain("2001-12-14 21:59:43.10 -5"),
            Some(json!("2001-12-14T21:59:43.100000-05:00"))
        );
        assert_eq!(
            plain("2002-12-14 1:02:03"),
            Some(json!("2002-12-14T01:02:03"))
        );
        assert!(construct("timestamp", "2001-13-01").is_err());
        assert_eq!(plain("2001-1-1"), Some(json!("2001-1-1")));
    }

    #[test]
    fn explicit_tags() {
        assert_eq!(construct("int", "12").unwrap(), Some(json!(12)));
        assert!(construct("int", "x").is_err());
        assert!(construct("bool", "maybe").is_err());
        assert!(construct("binary", "AAAA").is_err());
    }
}
