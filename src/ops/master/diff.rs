//! A unified diff of a file's text before and after a change, for the operator to read.

/// `---`/`+++` headers and hunks with 2 lines of context; empty when equal.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{path} (before)"), &format!("{path} (after)"))
        .to_string()
}

/// The lines [`unified_diff`] marks as removed or added, without headers and context (for
/// tests that assert exactly what a change touches).
#[cfg(test)]
pub fn changed_lines(before: &str, after: &str) -> Vec<String> {
    unified_diff("m", before, after)
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_added_lines_with_context() {
        let diff = super::unified_diff("m.yaml", "a: 1\nb: 2\n", "a: 1\nb: 2\nc: 3\n");
        assert!(
            diff.contains("--- m.yaml (before)\n+++ m.yaml (after)\n"),
            "{diff}"
        );
        assert!(diff.contains(" b: 2\n+c: 3\n"), "{diff}");
        assert_eq!(super::unified_diff("m", "x", "x"), "");
    }
}
