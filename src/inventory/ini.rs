//! Ansible's INI inventory syntax: `[group]` host lines with `name=value` vars,
//! `[group:vars]`, `[group:children]`, comments and host ranges.

use super::error::{self, InventoryError};
use super::range;
use super::raw::{Loc, RawInventory};
use super::source::SourceFile;
use super::value::type_unquoted;
use serde_json::Value;

/// What the lines under the current header are.
enum Section {
    Hosts(String),
    Vars(String),
    Children(String),
}

/// One line of the file: its text without the line break, where it starts, its 1-based number.
struct Line<'a> {
    text: &'a str,
    start: usize,
    number: usize,
}

impl Line<'_> {
    fn loc(&self, file: &SourceFile, from: usize, to: usize) -> Loc {
        Loc {
            line: self.number,
            span: file.span(self.start + from, to - from),
        }
    }
}

/// Parses an INI inventory. Hosts before the first header are ungrouped.
pub fn parse(file: &SourceFile) -> Result<RawInventory, InventoryError> {
    let mut raw = RawInventory::default();
    let mut section = Section::Hosts("ungrouped".to_string());
    let mut start = 0;
    for (i, chunk) in file.text().split_inclusive('\n').enumerate() {
        let line = Line {
            text: chunk.trim_end_matches(['\n', '\r']),
            start,
            number: i + 1,
        };
        start += chunk.len();
        let trimmed = line.text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') {
            section = header(file, &line)?;
            let (Section::Hosts(g) | Section::Vars(g) | Section::Children(g)) = &section;
            raw.group_mut(g);
            continue;
        }
        match &section {
            Section::Hosts(group) => host_line(file, &line, group, &mut raw)?,
            Section::Vars(group) => group_var_line(file, &line, group, &mut raw)?,
            Section::Children(group) => child_line(file, &line, group, &mut raw)?,
        }
    }
    Ok(raw)
}

/// `[name]`, `[name:vars]` or `[name:children]`, optionally followed by a comment.
fn header(file: &SourceFile, line: &Line) -> Result<Section, InventoryError> {
    let indent = line.text.len() - line.text.trim_start().len();
    let text = line.text.trim();
    let malformed = |from: usize, to: usize, detail: String| {
        InventoryError::from(error::MalformedSection {
            file: file.name().to_string(),
            line: line.number,
            detail,
            src: file.src(),
            span: line.loc(file, indent + from, indent + to).span,
        })
    };
    let Some(close) = text.find(']') else {
        return Err(malformed(0, text.len(), "missing `]`".to_string()));
    };
    let after = &text[close + 1..];
    let after_trim = after.trim_start();
    if !after_trim.is_empty() && !after_trim.starts_with('#') && !after_trim.starts_with(';') {
        let from = close + 1 + (after.len() - after_trim.len());
        return Err(malformed(
            from,
            text.len(),
            "unexpected text after `]`".to_string(),
        ));
    }
    let inner = &text[1..close];
    let (name, kind) = match inner.split_once(':') {
        Some((n, k)) => (n, Some(k)),
        None => (inner, None),
    };
    if name.is_empty() {
        return Err(malformed(0, close + 1, "empty group name".to_string()));
    }
    if let Some((at, c)) = name.char_indices().find(|(_, c)| !group_name_char(*c)) {
        return Err(malformed(
            1 + at,
            1 + at + c.len_utf8(),
            format!("{c:?} cannot appear in a group name"),
        ));
    }
    let name = name.to_string();
    match kind {
        None => Ok(Section::Hosts(name)),
        Some("vars") => Ok(Section::Vars(name)),
        Some("children") => Ok(Section::Children(name)),
        Some("") => Err(malformed(
            1 + name.len(),
            close + 1,
            "nothing after `:`".to_string(),
        )),
        Some(kind) => {
            let from = indent + 1 + name.len() + 1;
            Err(InventoryError::from(error::UnknownSectionKind {
                file: file.name().to_string(),
                line: line.number,
                group: name,
                kind: kind.to_string(),
                src: file.src(),
                span: line.loc(file, from, from + kind.len()).span,
            }))
        }
    }
}

fn group_name_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, ':' | '[' | ']' | '#' | '=' | '"' | '\'')
}

fn var_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `pattern [name=value ...] [# comment]`: one host, or several through ranges.
fn host_line(
    file: &SourceFile,
    line: &Line,
    group: &str,
    raw: &mut RawInventory,
) -> Result<(), InventoryError> {
    let tokens = tokenize(line.text).map_err(|(from, to, reason)| {
        let host = line.text.split_whitespace().next().unwrap_or_default();
        InventoryError::from(error::BadHostVar {
            file: file.name().to_string(),
            line: line.number,
            host: host.to_string(),
            token: line.text[from..to].to_string(),
            reason: reason.to_string(),
            src: file.src(),
            span: line.loc(file, from, to).span,
        })
    })?;
    let Some(&(p_from, p_to)) = tokens.first() else {
        return Ok(());
    };
    let pattern = &line.text[p_from..p_to];
    let (name_part, port) = split_port(pattern);
    let hosts = range::expand(name_part).map_err(|e| {
        InventoryError::from(error::BadRange {
            file: file.name().to_string(),
            line: line.number,
            pattern: pattern.to_string(),
            reason: e.reason,
            help: e.help,
            src: file.src(),
            span: line
                .loc(file, p_from + e.offset, p_from + e.offset + e.len)
                .span,
        })
    })?;

    let mut vars: Vec<(String, Value, Loc)> = Vec::new();
    if let Some(port) = port {
        vars.push((
            "ansible_port".to_string(),
            type_unquoted(port),
            line.loc(file, p_from, p_to),
        ));
    }
    for &(from, to) in &tokens[1..] {
        let token = &line.text[from..to];
        let bad = |reason: String| {
            InventoryError::from(error::BadHostVar {
                file: file.name().to_string(),
                line: line.number,
                host: pattern.to_string(),
                token: token.to_string(),
                reason,
                src: file.src(),
                span: line.loc(file, from, to).span,
            })
        };
        let Some(eq) = token.find('=') else {
            return Err(bad("expected name=value".to_string()));
        };
        let key = &token[..eq];
        if key.is_empty() {
            return Err(bad("the variable has no name".to_string()));
        }
        if !var_name_ok(key) {
            return Err(bad(format!("`{key}` is not a variable name")));
        }
        let (text, quoted) = unquote(&token[eq + 1..]);
        let value = if quoted {
            Value::String(text)
        } else {
            type_unquoted(&text)
        };
        vars.push((key.to_string(), value, line.loc(file, from, to)));
    }

    for host in &hosts {
        raw.add_host(group, host);
        for (key, value, loc) in &vars {
            raw.set_host_var(file, host, key, value.clone(), *loc)?;
        }
    }
    Ok(())
}

/// `name:port` -> (`name`, Some(`port`)). A colon inside a range, or several colons
/// (an IPv6 address), do not make a port.
fn split_port(pattern: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    let mut colons = Vec::new();
    for (i, b) in pattern.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b':' if depth == 0 => colons.push(i),
            _ => {}
        }
    }
    if let [at] = colons.as_slice() {
        let port = &pattern[at + 1..];
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && *at > 0 {
            return (&pattern[..*at], Some(port));
        }
    }
    (pattern, None)
}

/// An unclosed quote: where it opens, where the line ends, and why that is wrong.
type Unclosed = (usize, usize, &'static str);

/// Splits a host line into tokens (byte ranges) the way a POSIX shell would: whitespace
/// separates, quotes group, a `#` that starts a token starts a comment. An unclosed quote is
/// an error `(from, to, reason)`.
fn tokenize(text: &str) -> Result<Vec<(usize, usize)>, Unclosed> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] == b'#' {
            break;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            match bytes[i] {
                q @ (b'"' | b'\'') => {
                    let open = i;
                    i += 1;
                    loop {
                        if i >= bytes.len() {
                            return Err((open, bytes.len(), "this quote is never closed"));
                        }
                        if q == b'"' && bytes[i] == b'\\' {
                            i += 2;
                            continue;
                        }
                        if bytes[i] == q {
                            break;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        let end = i.min(bytes.len());
        tokens.push((start, end));
        i = end;
    }
    Ok(tokens)
}

/// Removes shell quoting from a token; `true` if any part of it was quoted.
fn unquote(token: &str) -> (String, bool) {
    let mut out = String::with_capacity(token.len());
    let mut quoted = false;
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '"' => {
                quoted = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some(&n @ ('"' | '\\' | '$' | '`')) => {
                                out.push(n);
                                chars.next();
                            }
                            _ => out.push('\\'),
                        },
                        c => out.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c => out.push(c),
        }
    }
    (out, quoted)
}

/// `name = value` in a `[group:vars]` section. The value is the rest of the line: a value in
/// quotes is text without them; otherwise a ` #` starts a comment and the rest is typed.
fn group_var_line(
    file: &SourceFile,
    line: &Line,
    group: &str,
    raw: &mut RawInventory,
) -> Result<(), InventoryError> {
    let indent = line.text.len() - line.text.trim_start().len();
    let text = line.text.trim();
    let bad = |from: usize, to: usize, reason: String| {
        InventoryError::from(error::BadGroupVar {
            file: file.name().to_string(),
            line: line.number,
            group: group.to_string(),
            reason,
            src: file.src(),
            span: line.loc(file, indent + from, indent + to).span,
        })
    };
    let Some(eq) = text.find('=') else {
        return Err(bad(0, text.len(), "expected name=value".to_string()));
    };
    let key = text[..eq].trim_end();
    if !var_name_ok(key) {
        return Err(bad(0, eq, format!("`{key}` is not a variable name")));
    }
    let after = &text[eq + 1..];
    let value_text = after.trim_start();
    let value_at = eq + 1 + (after.len() - value_text.len());
    let value = match group_value(value_text) {
        Ok(v) => v,
        Err(reason) => return Err(bad(value_at, text.len(), reason.to_string())),
    };
    raw.set_group_var(group, key, value);
    Ok(())
}

fn group_value(text: &str) -> Result<Value, &'static str> {
    if let Some(q) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let Ok(tokens) = tokenize(text) else {
            return Err("this quote is never closed");
        };
        // A single quoted token (and maybe a comment): text without the quotes.
        if let Some(&(from, to)) = tokens.first() {
            if tokens.len() == 1 && one_quoted_stretch(&text[from..to], q) {
                return Ok(Value::String(unquote(&text[from..to]).0));
            }
        }
        return Ok(Value::String(strip_comment(text).to_string()));
    }
    Ok(type_unquoted(strip_comment(text)))
}

/// Whether `token` is one quoted stretch closing at its last character: `"a"` and
/// `"say \"a\" \"b\""` are, `"a"x"b"` is not. Inside double quotes a backslash escapes.
fn one_quoted_stretch(token: &str, q: char) -> bool {
    let bytes = token.as_bytes();
    if bytes.len() < 2 || bytes[0] != q as u8 {
        return false;
    }
    let mut i = 1;
    while i < bytes.len() {
        if q == '"' && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == q as u8 {
            return i == bytes.len() - 1;
        }
        i += 1;
    }
    false
}

/// Text before a ` #` comment, trimmed.
fn strip_comment(text: &str) -> &str {
    let bytes = text.as_bytes();
    for i in 1..bytes.len() {
        if bytes[i] == b'#' && bytes[i - 1].is_ascii_whitespace() {
            return text[..i].trim_end();
        }
    }
    text.trim_end()
}

/// One child group name per line in a `[group:children]` section.
fn child_line(
    file: &SourceFile,
    line: &Line,
    group: &str,
    raw: &mut RawInventory,
) -> Result<(), InventoryError> {
    let indent = line.text.len() - line.text.trim_start().len();
    let text = strip_comment(line.text.trim());
    let loc = line.loc(file, indent, indent + text.len());
    if !text.chars().all(group_name_char) {
        return Err(InventoryError::from(error::BadChildGroup {
            file: file.name().to_string(),
            line: line.number,
            group: group.to_string(),
            name: text.to_string(),
            src: file.src(),
            span: loc.span,
        }));
    }
    raw.add_child(file, group, text, loc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_respect_quotes_and_comments() {
        let line = r#"h a=1 b="x y" c='p q' # tail"#;
        let t: Vec<&str> = tokenize(line)
            .unwrap()
            .into_iter()
            .map(|(f, e)| &line[f..e])
            .collect();
        assert_eq!(t, vec!["h", "a=1", r#"b="x y""#, "c='p q'"]);
        assert!(tokenize(r#"h a="x"#).is_err());
    }

    #[test]
    fn unquote_like_a_shell() {
        assert_eq!(unquote(r#""a 'b' c""#), ("a 'b' c".to_string(), true));
        assert_eq!(unquote(r#"'a "b"'"#), (r#"a "b""#.to_string(), true));
        assert_eq!(unquote(r#""a\"b""#), (r#"a"b"#.to_string(), true));
        assert_eq!(unquote("plain"), ("plain".to_string(), false));
    }

    #[test]
    fn group_values() {
        assert_eq!(group_value("\"10\"").unwrap(), Value::String("10".into()));
        assert_eq!(group_value("10 # ten").unwrap(), Value::from(10));
        assert_eq!(
            group_value("'a b' # c").unwrap(),
            Value::String("a b".into())
        );
        assert_eq!(
            group_value("\"a\" b").unwrap(),
            Value::String("\"a\" b".into())
        );
        assert_eq!(
            group_value("[{'name': 'x'}]").unwrap(),
            Value::String("[{'name': 'x'}]".into())
        );
        assert!(group_value("\"open").is_err());
        // Escaped quotes do not end the value (two of them once made it keep its quotes).
        assert_eq!(
            group_value(r#""it's \"a\" \"b\"""#).unwrap(),
            Value::String(r#"it's "a" "b""#.into())
        );
        assert_eq!(
            group_value(r#""a"x"b""#).unwrap(),
            Value::String(r#""a"x"b""#.into())
        );
    }

    #[test]
    fn ports() {
        assert_eq!(split_port("h:2222"), ("h", Some("2222")));
        assert_eq!(split_port("h[1:3]:22"), ("h[1:3]", Some("22")));
        assert_eq!(split_port("h[1:3]"), ("h[1:3]", None));
        assert_eq!(split_port("fe80::1"), ("fe80::1", None));
    }
}
