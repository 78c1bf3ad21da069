//! Ansible's INI inventory syntax: `[group]` host lines with `name=value` vars,
//! `[group:vars]`, `[group:children]`, comments and host ranges.

use super::error::{self, InventoryError};
use super::python_literal::literal_eval;
use super::range;
use super::raw::{Loc, RawInventory};
use super::source::SourceFile;
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::HashSet;

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

/// A group named in `[parent:children]` or `[name:vars]` before any `[name]` or
/// `[name:children]` declares it: where, and (for children) the parents waiting for it.
struct Pending {
    line: usize,
    loc: Loc,
    vars: bool,
    parents: Vec<(String, Loc)>,
}

/// Parses an INI inventory as Ansible's ini plugin does. Hosts before the first header are
/// ungrouped; a group must be declared by `[name]` or `[name:children]` somewhere in the file.
pub fn parse(file: &SourceFile) -> Result<RawInventory, InventoryError> {
    let mut raw = RawInventory::default();
    let mut section = Section::Hosts("ungrouped".to_string());
    let mut declared: HashSet<String> =
        ["all", "ungrouped"].iter().map(|g| g.to_string()).collect();
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
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
            let (state_vars, g) = match &section {
                Section::Vars(g) => (true, g.clone()),
                Section::Hosts(g) | Section::Children(g) => (false, g.clone()),
            };
            if !raw.groups.contains_key(&g) && state_vars && !pending.contains_key(&g) {
                pending.insert(
                    g.clone(),
                    Pending {
                        line: line.number,
                        loc: line.loc(file, 0, line.text.len()),
                        vars: true,
                        parents: Vec::new(),
                    },
                );
            }
            raw.group_mut(&g);
            if !state_vars {
                declared.insert(g.clone());
                if let Some(waiting) = pending.shift_remove(&g) {
                    for (parent, loc) in waiting.parents {
                        raw.add_child(file, &parent, &g, loc)?;
                    }
                }
            }
            continue;
        }
        match &section {
            Section::Hosts(group) => host_line(file, &line, group, &mut raw)?,
            Section::Vars(group) => group_var_line(file, &line, group, &mut raw)?,
            Section::Children(group) => {
                let (child, loc) = child_line(file, &line, group)?;
                if declared.contains(&child) {
                    raw.add_child(file, group, &child, loc)?;
                } else {
                    let waiting = pending.entry(child.clone()).or_insert(Pending {
                        line: line.number,
                        loc,
                        vars: false,
                        parents: Vec::new(),
                    });
                    waiting.parents.push((group.clone(), loc));
                }
            }
        }
    }
    if let Some((group, waiting)) = pending.into_iter().next() {
        let parent = waiting.parents.last().map(|(p, _)| p.clone());
        let section = match parent {
            Some(parent) if !waiting.vars => format!("[{parent}:children]"),
            _ => format!("[{group}:vars]"),
        };
        return Err(InventoryError::from(error::UndefinedGroup {
            file: file.name().to_string(),
            line: waiting.line,
            group,
            section,
            src: file.src(),
            span: waiting.loc.span,
        }));
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
    if !after_trim.is_empty() && !after_trim.starts_with('#') {
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
    if let Some(kind) = kind.filter(|k| !k.is_empty()) {
        if let Some((at, c)) = kind
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        {
            let from = 1 + name.len() + 1 + at;
            return Err(malformed(
                from,
                from + c.len_utf8(),
                format!("{c:?} cannot appear in a section kind"),
            ));
        }
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

/// What Ansible's ini plugin takes in a group name: anything but whitespace, `:` and `]`.
fn group_name_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, ':' | ']')
}

/// `pattern [name=value ...] [# comment]`: one host, or several through ranges. The line is
/// split like Python's `shlex.split(line, comments=True)`; each value is then read as a Python
/// literal, else kept as text.
fn host_line(
    file: &SourceFile,
    line: &Line,
    group: &str,
    raw: &mut RawInventory,
) -> Result<(), InventoryError> {
    let tokens = shell_words(line.text).map_err(|(from, to, reason)| {
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
    let Some(first) = tokens.first() else {
        return Ok(());
    };
    let (p_from, p_to) = (first.from, first.to);
    let pattern = first.text.as_str();
    if pattern.ends_with(':') {
        return Err(InventoryError::from(error::BadHostVar {
            file: file.name().to_string(),
            line: line.number,
            host: pattern.to_string(),
            token: pattern.to_string(),
            reason: "a host name cannot end in `:` (it would be followed by a port)".to_string(),
            src: file.src(),
            span: line.loc(file, p_from, p_to).span,
        }));
    }
    let (name_part, port) = split_port(pattern);
    let hosts = range::expand(name_part).map_err(|e| {
        // The offset is into the unquoted pattern; it matches the line when nothing was quoted.
        let at = (p_from + e.offset).min(p_to);
        InventoryError::from(error::BadRange {
            file: file.name().to_string(),
            line: line.number,
            pattern: pattern.to_string(),
            reason: e.reason,
            help: e.help,
            src: file.src(),
            span: line.loc(file, at, (at + e.len).min(p_to.max(at + 1))).span,
        })
    })?;

    let mut vars: Vec<(String, Value, Loc)> = Vec::new();
    for word in &tokens[1..] {
        let Some((key, value)) = word.text.split_once('=') else {
            return Err(InventoryError::from(error::BadHostVar {
                file: file.name().to_string(),
                line: line.number,
                host: pattern.to_string(),
                token: line.text[word.from..word.to].to_string(),
                reason: "expected name=value".to_string(),
                src: file.src(),
                span: line.loc(file, word.from, word.to).span,
            }));
        };
        vars.push((
            key.to_string(),
            parse_value(value),
            line.loc(file, word.from, word.to),
        ));
    }

    for host in &hosts {
        // Ansible takes `host:port` from the line that first names the host only.
        let new = raw.add_host(group, host);
        if let (true, Some(port)) = (new, port) {
            let port = port
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(port));
            raw.set_host_var(
                file,
                host,
                "ansible_port",
                port,
                line.loc(file, p_from, p_to),
            );
        }
        for (key, value, loc) in &vars {
            raw.set_host_var(file, host, key, value.clone(), *loc);
        }
    }
    Ok(())
}

/// Ansible's `_parse_value`: a Python literal if `ast.literal_eval` reads one, else the text.
pub fn parse_value(text: &str) -> Value {
    literal_eval(text).unwrap_or_else(|| Value::String(text.to_string()))
}

/// `name:port` -> (`name`, Some(`port`)). A colon inside a range, or several colons
/// (an IPv6 address), do not make a port.
pub(super) fn split_port(pattern: &str) -> (&str, Option<&str>) {
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

/// A word of a host line: its text without quoting, and where it was written (bytes).
#[derive(Debug, Clone, PartialEq)]
struct Word {
    text: String,
    from: usize,
    to: usize,
}

/// A quoting mistake: where, and why.
type Unclosed = (usize, usize, &'static str);

/// Splits a line as Python's `shlex.split(line, comments=True)` does: spaces, tabs and line
/// breaks separate words; `'...'` keeps everything; inside `"..."` a backslash escapes only `"`
/// and `\\`; outside quotes a backslash escapes any character; a `#` outside quotes, even inside
/// a word, ends the line.
fn shell_words(text: &str) -> Result<Vec<Word>, Unclosed> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |(at, _)| *at);
    let blank = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut words = Vec::new();
    let mut i = 0;
    'line: while i < chars.len() {
        while i < chars.len() && blank(chars[i].1) {
            i += 1;
        }
        if i >= chars.len() || chars[i].1 == '#' {
            break;
        }
        let from = chars[i].0;
        let mut word = String::new();
        while i < chars.len() && !blank(chars[i].1) {
            let (at, c) = chars[i];
            match c {
                '#' => {
                    words.push(Word {
                        text: word,
                        from,
                        to: at,
                    });
                    break 'line;
                }
                '\'' => {
                    i += 1;
                    loop {
                        let Some(&(_, c)) = chars.get(i) else {
                            return Err((at, text.len(), "this quote is never closed"));
                        };
                        i += 1;
                        if c == '\'' {
                            break;
                        }
                        word.push(c);
                    }
                }
                '"' => {
                    i += 1;
                    loop {
                        let Some(&(_, c)) = chars.get(i) else {
                            return Err((at, text.len(), "this quote is never closed"));
                        };
                        i += 1;
                        match c {
                            '"' => break,
                            '\\' => match chars.get(i) {
                                Some(&(_, n @ ('"' | '\\'))) => {
                                    word.push(n);
                                    i += 1;
                                }
                                _ => word.push('\\'),
                            },
                            c => word.push(c),
                        }
                    }
                }
                '\\' => {
                    let Some(&(_, n)) = chars.get(i + 1) else {
                        return Err((at, text.len(), "nothing follows this backslash"));
                    };
                    word.push(n);
                    i += 2;
                }
                c => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        words.push(Word {
            text: word,
            from,
            to: end_of(i),
        });
    }
    Ok(words)
}

/// `name = value` in a `[group:vars]` section, as Ansible reads it: the name is the text
/// before the first `=`, the value everything after it (a `#` comment included), both trimmed,
/// then read as a Python literal (which drops a comment after a literal) or kept as text.
fn group_var_line(
    file: &SourceFile,
    line: &Line,
    group: &str,
    raw: &mut RawInventory,
) -> Result<(), InventoryError> {
    let indent = line.text.len() - line.text.trim_start().len();
    let text = line.text.trim();
    let Some((key, value)) = text.split_once('=') else {
        return Err(InventoryError::from(error::BadGroupVar {
            file: file.name().to_string(),
            line: line.number,
            group: group.to_string(),
            reason: "expected name=value".to_string(),
            src: file.src(),
            span: line.loc(file, indent, indent + text.len()).span,
        }));
    };
    raw.set_group_var(group, key.trim(), parse_value(value.trim()));
    Ok(())
}

/// One child group name per line in a `[group:children]` section, optionally followed by a
/// `#` comment.
fn child_line(
    file: &SourceFile,
    line: &Line,
    group: &str,
) -> Result<(String, Loc), InventoryError> {
    let indent = line.text.len() - line.text.trim_start().len();
    let text = line.text.trim();
    let name_len = text
        .find(|c: char| !group_name_char(c))
        .unwrap_or(text.len());
    let rest = text[name_len..].trim_start();
    let loc = line.loc(file, indent, indent + text.len());
    if name_len == 0
        || !(rest.is_empty() || rest.starts_with('#'))
        || text[name_len..].starts_with([':', ']'])
    {
        return Err(InventoryError::from(error::BadChildGroup {
            file: file.name().to_string(),
            line: line.number,
            group: group.to_string(),
            name: text.to_string(),
            src: file.src(),
            span: loc.span,
        }));
    }
    Ok((
        text[..name_len].to_string(),
        line.loc(file, indent, indent + name_len),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(line: &str) -> Vec<String> {
        shell_words(line)
            .unwrap()
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn words_split_like_python_shlex() {
        assert_eq!(
            words(r#"h a=1 b="x y" c='p q' # tail"#),
            vec!["h", "a=1", "b=x y", "c=p q"]
        );
        // A `#` ends the line even inside a word.
        assert_eq!(words("h a=b#c d=e"), vec!["h", "a=b"]);
        assert_eq!(words(r#"h a="x\"y\\z\$""#), vec!["h", r#"a=x"y\z\$"#]);
        assert_eq!(words(r"h a='\n' b=c\ d"), vec!["h", r"a=\n", "b=c d"]);
        assert_eq!(words("h a=''"), vec!["h", "a="]);
        assert_eq!(words(r#"h a="{'k': 'v'}""#), vec!["h", "a={'k': 'v'}"]);
        assert!(shell_words(r#"h a="x"#).is_err());
        assert!(shell_words("h a=b\\").is_err());
        let w = shell_words("h  a=\"x y\"").unwrap();
        assert_eq!((w[1].from, w[1].to), (3, 10));
    }

    #[test]
    fn values_are_python_literals_or_text() {
        assert_eq!(parse_value("8443"), json!(8443));
        assert_eq!(parse_value("0644"), json!("0644"));
        assert_eq!(parse_value("true"), json!("true"));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("\"3.7\""), json!("3.7"));
        assert_eq!(parse_value("10 # ten"), json!(10));
        assert_eq!(
            parse_value("some text # comment"),
            json!("some text # comment")
        );
        assert_eq!(
            parse_value("{'region': 'infra'}"),
            json!({"region": "infra"})
        );
        assert_eq!(parse_value(""), json!(""));
    }

    #[test]
    fn ports() {
        assert_eq!(split_port("h:2222"), ("h", Some("2222")));
        assert_eq!(split_port("h[1:3]:22"), ("h[1:3]", Some("22")));
        assert_eq!(split_port("h[1:3]"), ("h[1:3]", None));
        assert_eq!(split_port("fe80::1"), ("fe80::1", None));
    }
}
