//! An inventory file's text, kept so that errors can point into it.

use miette::{NamedSource, SourceSpan};
use std::sync::Arc;

/// The source code an error report shows: the file's name and full text.
pub type Src = Arc<NamedSource<String>>;

/// An inventory file being parsed: its display name and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    name: String,
    text: Arc<NamedSource<String>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let name = name.into();
        let text = Arc::new(NamedSource::new(&name, text.into()));
        SourceFile { name, text }
    }

    /// The file name as given (e.g. the `-i` argument).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        self.text.inner()
    }

    /// The source code for a miette report.
    pub fn src(&self) -> Src {
        Arc::clone(&self.text)
    }

    /// The 1-based line that holds byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        let text = self.text();
        let end = offset.min(text.len());
        text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// The byte offset of a 1-based `line` and 1-based `column` counted in characters
    /// (as YAML parsers report them), clamped to the line's end.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let text = self.text();
        let mut start = 0;
        for _ in 1..line.max(1) {
            match text[start..].find('\n') {
                Some(i) => start += i + 1,
                None => return text.len(),
            }
        }
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        text[start..line_end]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(line_end, |(i, _)| start + i)
    }

    /// A span of `len` bytes at `offset`, widened to cover a whole character at the end of a
    /// line so that the caret always has something to point at.
    pub fn span(&self, offset: usize, len: usize) -> SourceSpan {
        let text = self.text();
        let offset = offset.min(text.len());
        let mut end = (offset + len).min(text.len());
        if end == offset {
            if let Some(c) = text[offset..].chars().next() {
                if c != '\n' {
                    end = offset + c.len_utf8();
                }
            }
        }
        SourceSpan::new(offset.into(), end - offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_characters_not_bytes() {
        let f = SourceFile::new("x", "ä: 1\nhé: ü\n");
        assert_eq!(f.offset_of(1, 1), 0);
        assert_eq!(f.offset_of(1, 2), 2);
        assert_eq!(f.offset_of(2, 1), 6);
        assert_eq!(f.offset_of(2, 5), 11);
        assert_eq!(&f.text()[11..], "ü\n");
        assert_eq!(f.line_of(11), 2);
        assert_eq!(f.line_of(0), 1);
    }
}
