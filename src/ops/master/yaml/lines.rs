//! The lines of a block-style YAML document as an in-place editor needs them: each
//! line's indentation, whether it is blank, a comment, a sequence item or a `key:`
//! entry, and for an entry its key and the text of its value on that line. Nothing is
//! normalised: every line keeps its own bytes and line ending.

/// What a line holds, as far as block structure goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// Only spaces or tabs.
    Blank,
    /// A `#` comment on a line of its own.
    Comment,
    /// `---`, `...` or a `%` directive.
    Marker,
    /// `- ...`: an item of a block sequence.
    Item,
    /// `key: value` (the value may be empty: a block below, or null).
    Entry { key: String, value: ValueText },
    /// Anything else: a continuation of a multi-line scalar, a complex key, a flow
    /// collection on its own line.
    Other,
}

/// The value of an entry as its line writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueText {
    /// Nothing after the colon: the value is the block below, or null.
    Empty,
    /// `{}` or `[]`: an empty flow collection.
    EmptyFlow,
    /// `{` or `[` with content: a flow collection.
    Flow,
    /// `|` or `>`: a block scalar below.
    BlockScalar,
    /// `&anchor`, `*alias` or `!tag`.
    Node,
    /// A scalar on the line (`null` and `~` included).
    Scalar(String),
}

/// One line of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Byte range of the line's text in the document, without its line ending.
    pub start: usize,
    pub end: usize,
    /// Byte range with the line ending (`\n` or `\r\n`, or nothing on a last line).
    pub full_end: usize,
    /// Leading spaces.
    pub indent: usize,
    pub kind: LineKind,
    /// Where a trailing ` # comment` begins on the line (absolute byte offset), if any.
    pub comment: Option<usize>,
    /// For an entry: the absolute offset just past its key's colon.
    pub value_at: usize,
}

impl Line {
    /// A line that holds structure (not blank, not a comment).
    pub fn is_content(&self) -> bool {
        !matches!(self.kind, LineKind::Blank | LineKind::Comment)
    }
}

/// Splits `text` into lines and reads each.
pub fn read(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let (end, full_end) = match text[start..].find('\n') {
            Some(at) => {
                let newline = start + at;
                let end = if newline > start && text.as_bytes()[newline - 1] == b'\r' {
                    newline - 1
                } else {
                    newline
                };
                (end, newline + 1)
            }
            None => (text.len(), text.len()),
        };
        lines.push(read_line(text, start, end, full_end));
        start = full_end;
    }
    lines
}

fn read_line(text: &str, start: usize, end: usize, full_end: usize) -> Line {
    let line = &text[start..end];
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let trimmed = rest.trim_start_matches([' ', '\t']);
    let mut comment = None;
    let mut value_start = end;
    let kind = if trimmed.is_empty() {
        LineKind::Blank
    } else if trimmed.starts_with('#') {
        LineKind::Comment
    } else if indent == 0
        && (rest.starts_with('%') || is_marker(rest, "---") || is_marker(rest, "..."))
    {
        LineKind::Marker
    } else if rest == "-" || rest.starts_with("- ") || rest.starts_with("-\t") {
        LineKind::Item
    } else {
        match entry(rest) {
            Some((key, value_at)) => {
                let (value, comment_at) = value_text(&rest[value_at..]);
                comment = comment_at.map(|at| start + indent + value_at + at);
                value_start = start + indent + value_at;
                LineKind::Entry { key, value }
            }
            None => LineKind::Other,
        }
    };
    Line {
        start,
        end,
        full_end,
        indent,
        kind,
        comment,
        value_at: value_start,
    }
}

fn is_marker(rest: &str, marker: &str) -> bool {
    rest == marker
        || rest.starts_with(&format!("{marker} "))
        || rest.starts_with(&format!("{marker}\t"))
}

/// The key of `key: value` and where the value begins (after the colon); `None` when
/// the line is not a simple block entry.
fn entry(rest: &str) -> Option<(String, usize)> {
    let first = rest.chars().next()?;
    if "[{?&*!|>@`,]}#".contains(first) {
        return None;
    }
    let (key, after) = if first == '"' || first == '\'' {
        let close = closing_quote(rest, first)?;
        let key = unquote(&rest[..=close], first)?;
        (key, close + 1)
    } else {
        let colon = plain_key_end(rest)?;
        (rest[..colon].trim_end().to_string(), colon)
    };
    let tail = &rest[after..];
    let tail_trimmed = tail.trim_start_matches([' ', '\t']);
    let colon_at = after + (tail.len() - tail_trimmed.len());
    let after_colon = tail_trimmed.strip_prefix(':')?;
    if !(after_colon.is_empty() || after_colon.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, colon_at + 1))
}

/// The end of a plain key: the first `:` followed by a space, a tab or the line's end,
/// unless a ` #` comment comes first.
fn plain_key_end(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    for (at, &byte) in bytes.iter().enumerate() {
        if byte == b'#' && at > 0 && matches!(bytes[at - 1], b' ' | b'\t') {
            return None;
        }
        if byte == b':' && (at + 1 == bytes.len() || matches!(bytes[at + 1], b' ' | b'\t')) {
            return Some(at);
        }
    }
    None
}

/// Index of the quote closing the quoted scalar that `text` starts with.
fn closing_quote(text: &str, quote: char) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 1;
    while at < bytes.len() {
        match (quote, bytes[at]) {
            ('"', b'\\') => at += 2,
            ('"', b'"') => return Some(at),
            ('\'', b'\'') if bytes.get(at + 1) == Some(&b'\'') => at += 2,
            ('\'', b'\'') => return Some(at),
            _ => at += 1,
        }
    }
    None
}

/// A quoted scalar's value, as YAML reads it.
fn unquote(quoted: &str, quote: char) -> Option<String> {
    if quote == '"' {
        serde_yaml::from_str::<String>(quoted).ok()
    } else {
        Some(quoted[1..quoted.len() - 1].replace("''", "'"))
    }
}

/// What the text after a colon holds, and where a trailing comment begins in it.
fn value_text(after_colon: &str) -> (ValueText, Option<usize>) {
    let lead = after_colon.len() - after_colon.trim_start_matches([' ', '\t']).len();
    let body = &after_colon[lead..];
    if body.is_empty() {
        return (ValueText::Empty, None);
    }
    if body.starts_with('#') {
        return (ValueText::Empty, Some(lead));
    }
    let first = body.chars().next().unwrap_or(' ');
    let scalar_end = match first {
        '"' | '\'' => closing_quote(body, first).map(|c| c + 1),
        _ => None,
    };
    let comment = comment_start(body, scalar_end.unwrap_or(0)).map(|c| lead + c);
    let value = comment.map_or(body, |c| &after_colon[lead..c]).trim_end();
    let kind = match first {
        '{' | '[' if value == "{}" || value == "[]" => ValueText::EmptyFlow,
        '{' | '[' => ValueText::Flow,
        '|' | '>' => ValueText::BlockScalar,
        '&' | '*' | '!' => ValueText::Node,
        _ => ValueText::Scalar(value.to_string()),
    };
    (kind, comment)
}

/// Where a ` #` comment begins in `body`, looking from `from` (past a quoted scalar).
fn comment_start(body: &str, from: usize) -> Option<usize> {
    let bytes = body.as_bytes();
    (from.max(1)..bytes.len())
        .find(|&at| bytes[at] == b'#' && matches!(bytes[at - 1], b' ' | b'\t'))
        .map(|at| {
            let mut start = at;
            while start > 0 && matches!(bytes[start - 1], b' ' | b'\t') {
                start -= 1;
            }
            start
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<LineKind> {
        read(text).into_iter().map(|l| l.kind).collect()
    }

    fn entry(key: &str, value: ValueText) -> LineKind {
        LineKind::Entry {
            key: key.to_string(),
            value,
        }
    }

    #[test]
    fn reads_entries_items_comments_and_markers() {
        let text = "---\n# top\nkind: MasterConfig # why\n  apiServerArguments: \n    - etcd3\n\n\"quoted key\": 'it''s'\nurl: http://a:1\nlogoutURL: \"\"\nstaticNodeNames: []\nx: {a: 1}\nb: |\n  text: here\n";
        assert_eq!(
            kinds(text),
            vec![
                LineKind::Marker,
                LineKind::Comment,
                entry("kind", ValueText::Scalar("MasterConfig".into())),
                entry("apiServerArguments", ValueText::Empty),
                LineKind::Item,
                LineKind::Blank,
                entry("quoted key", ValueText::Scalar("'it''s'".into())),
                entry("url", ValueText::Scalar("http://a:1".into())),
                entry("logoutURL", ValueText::Scalar("\"\"".into())),
                entry("staticNodeNames", ValueText::EmptyFlow),
                entry("x", ValueText::Flow),
                entry("b", ValueText::BlockScalar),
                entry("text", ValueText::Scalar("here".into())),
            ]
        );
        let lines = read(text);
        assert_eq!(lines[3].indent, 2);
        assert_eq!(&text[lines[2].comment.unwrap()..lines[2].end], " # why");
    }

    #[test]
    fn keeps_line_endings_and_a_last_line_without_one() {
        let text = "a: 1\r\nb: 2\nc: 3";
        let lines = read(text);
        assert_eq!(lines.len(), 3);
        assert_eq!(&text[lines[0].start..lines[0].end], "a: 1");
        assert_eq!(&text[lines[0].end..lines[0].full_end], "\r\n");
        assert_eq!(&text[lines[1].end..lines[1].full_end], "\n");
        assert_eq!(lines[2].full_end, text.len());
    }

    #[test]
    fn a_hash_inside_a_value_or_quotes_is_not_a_comment() {
        let text = "a: b#c\nd: \"e # f\" # g\nh: i\t# j\n";
        let lines = read(text);
        assert_eq!(lines[0].comment, None);
        assert_eq!(&text[lines[1].comment.unwrap()..lines[1].end], " # g");
        assert_eq!(&text[lines[2].comment.unwrap()..lines[2].end], "\t# j");
        assert_eq!(
            lines[1].kind,
            entry("d", ValueText::Scalar("\"e # f\"".into()))
        );
    }

    #[test]
    fn anchors_aliases_and_odd_lines() {
        assert_eq!(
            kinds("a: &x 1\nb: *x\n? complex\n[1, 2]\n  continued text\n"),
            vec![
                entry("a", ValueText::Node),
                entry("b", ValueText::Node),
                LineKind::Other,
                LineKind::Other,
                LineKind::Other,
            ]
        );
    }
}
