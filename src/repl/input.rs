//! Whether a line of REPL input is complete, or needs more lines (unbalanced
//! braces, brackets or parentheses, an open string or block comment).

/// True when `text` can be evaluated as it is; false when the REPL should read another line.
pub fn is_complete(text: &str) -> bool {
    if text.trim_start().starts_with(':') {
        return true;
    }
    let mut depth: i64 = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                // A line comment runs to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut closed = false;
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    previous = c;
                }
                if !closed {
                    return false;
                }
            }
            '"' | '`' | '\'' => {
                let quote = c;
                let mut closed = false;
                while let Some(c) = chars.next() {
                    if c == '\\' && quote != '`' {
                        chars.next();
                    } else if c == quote {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    // A back-tick string may span lines; other strings are an error Rhai reports.
                    return quote != '`';
                }
            }
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth -= 1,
            _ => {}
        }
    }
    // Too many closers is an error for Rhai to report, not a reason to wait.
    depth <= 0
}

#[cfg(test)]
mod tests {
    use super::is_complete;

    #[test]
    fn balanced_input_is_complete() {
        assert!(is_complete("let x = 1;"));
        assert!(is_complete("fn f(a) { a + 1 }"));
        assert!(is_complete("print(\"{ not a brace\")"));
        assert!(is_complete("let s = \"a\\\"{\";"));
        assert!(is_complete("x // {"));
        assert!(is_complete(":help etcd.health"));
        assert!(
            is_complete("}"),
            "an extra closer is Rhai's error to report"
        );
    }

    #[test]
    fn open_blocks_and_strings_ask_for_more() {
        assert!(!is_complete("fn f(a) {"));
        assert!(!is_complete("fn f(a) {\n  if a > 1 {\n    a\n  }"));
        assert!(!is_complete("etcd.backup(#{"));
        assert!(!is_complete("let list = ["));
        assert!(!is_complete("let s = `line one"));
        assert!(!is_complete("/* comment"));
        assert!(is_complete("fn f(a) {\n  a\n}"));
    }
}
