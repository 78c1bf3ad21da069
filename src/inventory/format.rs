//! Telling an INI inventory from a YAML one.

use std::path::Path;

/// The two inventory syntaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ini,
    Yaml,
}

/// `.yml`, `.yaml` and `.json` files are YAML (JSON is YAML too). Otherwise the first line that
/// is not blank or a comment decides: `[section]` or a host line is INI; `---`, `{`, or a
/// `key:` line without `=` is YAML.
pub fn detect(path: &Path, text: &str) -> Format {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if matches!(ext.as_deref(), Some("yml" | "yaml" | "json")) {
        return Format::Yaml;
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    let Some(line) = first else {
        return Format::Ini;
    };
    if line.starts_with("---") || line.starts_with('{') {
        return Format::Yaml;
    }
    if line.starts_with('[') || line.contains('=') {
        return Format::Ini;
    }
    // A YAML mapping key ends in `:` followed by a space or the end of the line; an INI host
    // line may hold `name:port`, which has neither.
    let yaml_key = line.ends_with(':') || line.contains(": ") || line.contains(":\t");
    if yaml_key {
        Format::Yaml
    } else {
        Format::Ini
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_then_content() {
        let p = Path::new("inventory");
        assert_eq!(detect(Path::new("x.yml"), "[etcd]\n"), Format::Yaml);
        assert_eq!(detect(p, "# c\n\n[OSEv3:children]\nmasters\n"), Format::Ini);
        assert_eq!(detect(p, "# c\nall:\n  hosts:\n"), Format::Yaml);
        assert_eq!(detect(p, "---\nall: {}\n"), Format::Yaml);
        assert_eq!(
            detect(p, "localhost ansible_connection=local\n"),
            Format::Ini
        );
        assert_eq!(detect(p, "etcd1:2222\n"), Format::Ini);
        assert_eq!(detect(p, ""), Format::Ini);
    }
}
