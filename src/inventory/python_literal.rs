//! Python literals as Ansible's INI plugin reads values: `ast.literal_eval`, else the text.
//!
//! Covers what inventories hold: integers (decimal, `0x`, `0o`, `0b`, with `_`), floats,
//! `True`/`False`/`None`, strings with Python's prefixes and escapes (adjacent strings joined),
//! lists, tuples (as lists), dicts and a sign on a number. Whatever Python would refuse gives
//! `None`, and so does what a JSON value cannot hold (complex numbers, sets, integers beyond 64
//! bits, infinite floats, `\N{...}` escapes, lone surrogates): the caller keeps the text.

use serde_json::{Map, Number, Value};

/// `ast.literal_eval(text.lstrip(" \t"))` as a JSON value, or `None` where Python raises (or
/// the value has no JSON form).
pub fn literal_eval(text: &str) -> Option<Value> {
    let tokens = tokenize(text.trim_start_matches([' ', '\t']))?;
    let mut parser = Parser { tokens, at: 0 };
    let value = parser.expression()?;
    (parser.at == parser.tokens.len()).then_some(value)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Int(Number),
    Float(f64),
    /// A string literal; `true` for bytes (`b'...'`), which cannot be joined with text.
    Str(String, bool),
    Name(String),
    Punct(char),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    if chars.contains(&'\0') {
        return None;
    }
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, ' ' | '\t' | '\x0c' | '\n' | '\r') {
            i += 1;
        } else if c == '#' {
            // A comment runs to the end of the line, and values are one line.
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let (token, next) = number(&chars, i)?;
            tokens.push(token);
            i = next;
        } else if c == '_' || c.is_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i] == '_' || chars[i].is_alphanumeric()) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if matches!(chars.get(i), Some('\'' | '"')) {
                let (token, next) = string(&chars, i, &word.to_ascii_lowercase())?;
                tokens.push(token);
                i = next;
            } else {
                tokens.push(Token::Name(word));
            }
        } else if c == '\'' || c == '"' {
            let (token, next) = string(&chars, i, "")?;
            tokens.push(token);
            i = next;
        } else if "[](){},:-+".contains(c) {
            tokens.push(Token::Punct(c));
            i += 1;
        } else {
            return None;
        }
    }
    Some(tokens)
}

/// Digits with single underscores between them, from `i`; the index after them.
fn digits(chars: &[char], mut i: usize, radix: u32) -> Option<usize> {
    let start = i;
    while i < chars.len() {
        let underscore_between =
            chars[i] == '_' && i > start && chars.get(i + 1).is_some_and(|c| c.is_digit(radix));
        if chars[i].is_digit(radix) || underscore_between {
            i += 1;
        } else {
            break;
        }
    }
    (i > start).then_some(i)
}

/// A number token at `i`: Python's integer and float literals. Imaginary literals, and a
/// number running into letters or digits (`10s`, `0644`), are refused.
fn number(chars: &[char], i: usize) -> Option<(Token, usize)> {
    let text = |from: usize, to: usize| -> String {
        chars[from..to].iter().filter(|c| **c != '_').collect()
    };
    let ends_clean = |at: usize| {
        !chars
            .get(at)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
    };
    if chars[i] == '0' {
        if let Some(radix) = chars.get(i + 1).and_then(|c| match c.to_ascii_lowercase() {
            'x' => Some(16),
            'o' => Some(8),
            'b' => Some(2),
            _ => None,
        }) {
            // `0x_1f` is valid: one underscore may follow the prefix.
            let from = if chars.get(i + 2) == Some(&'_') {
                i + 3
            } else {
                i + 2
            };
            let end = digits(chars, from, radix)?;
            if !ends_clean(end) {
                return None;
            }
            let n = u64::from_str_radix(&text(from, end), radix).ok()?;
            return Some((Token::Int(Number::from(n)), end));
        }
    }
    let int_end = if chars[i] == '.' {
        i
    } else {
        digits(chars, i, 10)?
    };
    let mut end = int_end;
    let mut is_float = false;
    if chars.get(end) == Some(&'.') {
        is_float = true;
        end += 1;
        if chars.get(end).is_some_and(char::is_ascii_digit) {
            end = digits(chars, end, 10)?;
        }
    }
    if chars.get(end).is_some_and(|c| *c == 'e' || *c == 'E') {
        let mut at = end + 1;
        if chars.get(at).is_some_and(|c| *c == '+' || *c == '-') {
            at += 1;
        }
        end = digits(chars, at, 10)?;
        is_float = true;
    }
    if chars.get(end).is_some_and(|c| *c == 'j' || *c == 'J') {
        return None; // complex: no JSON form
    }
    if !ends_clean(end) {
        return None;
    }
    let literal = text(i, end);
    if is_float {
        let f: f64 = literal.parse().ok()?;
        return f.is_finite().then_some((Token::Float(f), end));
    }
    // Python 3 refuses leading zeros on a non-zero decimal (`0644`); `00` is 0.
    if literal.len() > 1 && literal.starts_with('0') && literal.bytes().any(|b| b != b'0') {
        return None;
    }
    let n: u64 = literal.parse().ok()?;
    Some((Token::Int(Number::from(n)), end))
}

/// A string literal at `i` (the opening quote) with `prefix` (lower case) before it.
fn string(chars: &[char], i: usize, prefix: &str) -> Option<(Token, usize)> {
    let (raw, bytes) = match prefix {
        "" | "u" => (false, false),
        "r" => (true, false),
        "b" => (false, true),
        "br" | "rb" => (true, true),
        // f-strings are not literals; anything else is a syntax error.
        _ => return None,
    };
    let quote = chars[i];
    let triple = chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote);
    let mut at = if triple { i + 3 } else { i + 1 };
    let mut body = Vec::new();
    loop {
        let c = *chars.get(at)?;
        if triple {
            if c == quote && chars.get(at + 1) == Some(&quote) && chars.get(at + 2) == Some(&quote)
            {
                at += 3;
                break;
            }
        } else if c == quote {
            at += 1;
            break;
        } else if c == '\n' {
            return None;
        }
        if c == '\\' {
            let next = *chars.get(at + 1)?;
            body.push(c);
            body.push(next);
            at += 2;
            continue;
        }
        body.push(c);
        at += 1;
    }
    if bytes && body.iter().any(|c| !c.is_ascii()) {
        return None;
    }
    let text = if raw {
        body.iter().collect()
    } else {
        unescape(&body, bytes)?
    };
    Some((Token::Str(text, bytes), at))
}

/// Python's backslash escapes. Bytes take `\x` as a byte, which Ansible then decodes as UTF-8.
fn unescape(body: &[char], bytes: bool) -> Option<String> {
    let mut out: Vec<u32> = Vec::new();
    let mut i = 0;
    let hex = |from: usize, count: usize| -> Option<u32> {
        let s: String = body.get(from..from + count)?.iter().collect();
        if s.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(&s, 16).ok()
        } else {
            None
        }
    };
    while i < body.len() {
        let c = body[i];
        if c != '\\' {
            out.push(c as u32);
            i += 1;
            continue;
        }
        let next = body[i + 1];
        i += 2;
        let code = match next {
            '\\' | '\'' | '"' => next as u32,
            'a' => 7,
            'b' => 8,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            't' => 9,
            'v' => 11,
            '0'..='7' => {
                let mut value = next.to_digit(8)?;
                for _ in 0..2 {
                    match body.get(i).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                value
            }
            'x' => {
                let v = hex(i, 2)?;
                i += 2;
                v
            }
            'u' if !bytes => {
                let v = hex(i, 4)?;
                i += 4;
                v
            }
            'U' if !bytes => {
                let v = hex(i, 8)?;
                i += 8;
                v
            }
            // `\N{NAME}` needs Unicode's name table: left as text.
            'N' if !bytes => return None,
            other => {
                // An unknown escape keeps its backslash.
                out.push('\\' as u32);
                other as u32
            }
        };
        out.push(code);
    }
    if bytes {
        let raw: Vec<u8> = out
            .iter()
            .map(|c| u8::try_from(*c).ok())
            .collect::<Option<_>>()?;
        return String::from_utf8(raw).ok();
    }
    out.into_iter().map(char::from_u32).collect()
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// The whole input: one value, or a bare tuple `1, 2`.
    fn expression(&mut self) -> Option<Value> {
        let first = self.value()?;
        if !self.eat(',') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.peek().is_some() {
            items.push(self.value()?);
            if !self.eat(',') {
                break;
            }
        }
        Some(Value::Array(items))
    }

    /// Items up to `close`, separated by commas, a trailing comma allowed.
    fn items(&mut self, close: char) -> Option<(Vec<Value>, bool)> {
        let mut items = Vec::new();
        let mut comma = false;
        while !self.eat(close) {
            items.push(self.value()?);
            if self.eat(',') {
                comma = true;
            } else if !self.eat(close) {
                return None;
            } else {
                break;
            }
        }
        Some((items, comma))
    }

    fn value(&mut self) -> Option<Value> {
        let token = self.peek()?.clone();
        self.at += 1;
        match token {
            Token::Int(n) => Some(Value::Number(n)),
            Token::Float(f) => Number::from_f64(f).map(Value::Number),
            Token::Str(mut s, bytes) => {
                // Adjacent literals are one string (text and bytes do not mix).
                while let Some(Token::Str(more, more_bytes)) = self.peek().cloned() {
                    if more_bytes != bytes {
                        return None;
                    }
                    s.push_str(&more);
                    self.at += 1;
                }
                Some(Value::String(s))
            }
            Token::Name(name) => match name.as_str() {
                "True" => Some(Value::Bool(true)),
                "False" => Some(Value::Bool(false)),
                "None" => Some(Value::Null),
                _ => None,
            },
            Token::Punct(sign @ ('-' | '+')) => {
                // A sign applies to a number literal only (`--1` and `-True` are refused).
                let operand = self.peek()?.clone();
                self.at += 1;
                match (sign, operand) {
                    ('+', Token::Int(n)) => Some(Value::Number(n)),
                    ('+', Token::Float(f)) => Number::from_f64(f).map(Value::Number),
                    ('-', Token::Int(n)) => {
                        let n = n.as_u64()?;
                        let negative = 0i64.checked_sub_unsigned(n)?;
                        Some(Value::from(negative))
                    }
                    ('-', Token::Float(f)) => Number::from_f64(-f).map(Value::Number),
                    _ => None,
                }
            }
            Token::Punct('[') => self.items(']').map(|(items, _)| Value::Array(items)),
            Token::Punct('(') => {
                let (items, comma) = self.items(')')?;
                match (items.len(), comma) {
                    // `(x)` is x; `()`, `(x,)` and `(x, y)` are tuples.
                    (1, false) => items.into_iter().next(),
                    _ => Some(Value::Array(items)),
                }
            }
            Token::Punct('{') => self.dict(),
            Token::Punct(_) => None,
        }
    }

    /// `{}` or `{key: value, ...}`; a set (`{1, 2}`) has no JSON form.
    fn dict(&mut self) -> Option<Value> {
        let mut map = Map::new();
        while !self.eat('}') {
            let key = json_key(&self.value()?)?;
            if !self.eat(':') {
                return None;
            }
            let value = self.value()?;
            map.insert(key, value);
            if !self.eat(',') {
                if !self.eat('}') {
                    return None;
                }
                break;
            }
        }
        Some(Value::Object(map))
    }
}

/// A dict key as Python's `json.dumps` writes it: text as is, numbers, `true`, `false`, `null`.
/// Lists (unhashable) have no key form.
pub fn json_key(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_string()),
        Value::Number(n) => Some(python_number_text(n)),
        _ => None,
    }
}

/// A number as Python's `repr` writes it (`1.0`, not `1`, for a float).
fn python_number_text(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str) -> Option<Value> {
        literal_eval(text)
    }

    #[test]
    fn integers() {
        assert_eq!(eval("2379"), Some(json!(2379)));
        assert_eq!(eval("-5"), Some(json!(-5)));
        assert_eq!(eval("+5"), Some(json!(5)));
        assert_eq!(eval("0x1F"), Some(json!(31)));
        assert_eq!(eval("0o17"), Some(json!(15)));
        assert_eq!(eval("0b101"), Some(json!(5)));
        assert_eq!(eval("1_000"), Some(json!(1000)));
        assert_eq!(eval("00"), Some(json!(0)));
        assert_eq!(eval("-0"), Some(json!(0)));
        assert_eq!(eval("-9223372036854775808"), Some(json!(i64::MIN)));
        // SyntaxError in Python 3: the text stays.
        for text in [
            "0644", "1__0", "1_", "10s", "0x", "0b2", "--1", "-True", "1.5.3", "10.0.0.1",
        ] {
            assert_eq!(eval(text), None, "{text}");
        }
        // No JSON form.
        assert_eq!(eval("99999999999999999999"), None);
        assert_eq!(eval("1+2j"), None);
        assert_eq!(eval("2j"), None);
    }

    #[test]
    fn floats() {
        assert_eq!(eval("1.5"), Some(json!(1.5)));
        // The gotcha: a version written as a float loses its trailing zero.
        assert_eq!(eval("3.10"), Some(json!(3.1)));
        assert_eq!(eval("1e3"), Some(json!(1000.0)));
        assert_eq!(eval(".5"), Some(json!(0.5)));
        assert_eq!(eval("5."), Some(json!(5.0)));
        assert_eq!(eval("09.5"), Some(json!(9.5)));
        assert_eq!(eval("-1.5e-3"), Some(json!(-0.0015)));
        assert_eq!(eval("1e400"), None);
        assert_eq!(eval("1e"), None);
    }

    #[test]
    fn names_strings_and_comments() {
        assert_eq!(eval("True"), Some(json!(true)));
        assert_eq!(eval("False"), Some(json!(false)));
        assert_eq!(eval("None"), Some(Value::Null));
        assert_eq!(eval("true"), None);
        assert_eq!(eval("yes"), None);
        assert_eq!(eval("\"3.7\""), Some(json!("3.7")));
        assert_eq!(eval("'a' \"b\""), Some(json!("ab")));
        assert_eq!(
            eval(r"'a\tb\x41\u00e9\101\q'"),
            Some(json!("a\tbAé\u{41}\\q"))
        );
        assert_eq!(eval(r"r'a\tb'"), Some(json!(r"a\tb")));
        assert_eq!(eval("u'x'"), Some(json!("x")));
        assert_eq!(eval("b'x'"), Some(json!("x")));
        assert_eq!(eval("'''tri'ple'''"), Some(json!("tri'ple")));
        assert_eq!(eval("f'x'"), None);
        assert_eq!(eval("'a' b'b'"), None);
        assert_eq!(eval("'open"), None);
        assert_eq!(eval(r"'\N{BULLET}'"), None);
        assert_eq!(eval(r"'\ud800'"), None);
        assert_eq!(eval("10 # ten"), Some(json!(10)));
        assert_eq!(eval("  \t10"), Some(json!(10)));
        assert_eq!(eval("# only a comment"), None);
        assert_eq!(eval(""), None);
        assert_eq!(eval("some text # comment"), None);
        assert_eq!(eval("a\0"), None);
    }

    #[test]
    fn containers() {
        assert_eq!(eval("[1, 'a', [True]]"), Some(json!([1, "a", [true]])));
        assert_eq!(eval("[1,]"), Some(json!([1])));
        assert_eq!(eval("(1, 2)"), Some(json!([1, 2])));
        assert_eq!(eval("(1,)"), Some(json!([1])));
        assert_eq!(eval("()"), Some(json!([])));
        assert_eq!(eval("(1)"), Some(json!(1)));
        assert_eq!(eval("1, 2"), Some(json!([1, 2])));
        assert_eq!(
            eval("{'region': 'infra', 'zone': 'default'}"),
            Some(json!({"region": "infra", "zone": "default"}))
        );
        assert_eq!(
            eval("{2: 'a', True: 2, None: 3, 1.5: 4, 2.0e3: 5}"),
            Some(json!({"2": "a", "true": 2, "null": 3, "1.5": 4, "2000.0": 5}))
        );
        assert_eq!(eval("{'a': 1, 'a': 2}"), Some(json!({"a": 2})));
        assert_eq!(eval("{}"), Some(json!({})));
        assert_eq!(
            eval("[{'name': 'x', 'login': 'true'}]"),
            Some(json!([{"name": "x", "login": "true"}]))
        );
        assert_eq!(eval("{1, 2}"), None);
        assert_eq!(eval("{[1]: 2}"), None);
        assert_eq!(eval("{a:1}"), None);
        assert_eq!(eval("[1, 2"), None);
        assert_eq!(eval("[1 2]"), None);
    }
}
