//! Which syntax reads a file: Ansible's plugin order (yaml, then ini), and which one a file
//! that neither reads looks like, for the error report.

use std::path::Path;

/// The two inventory syntaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ini,
    Yaml,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Ini => "INI",
            Format::Yaml => "YAML",
        }
    }
}

/// The syntaxes to try, in Ansible's order: its yaml plugin takes a file with no extension or
/// `.yml`, `.yaml`, `.json`; its ini plugin takes any file.
pub fn candidates(path: &Path) -> Vec<Format> {
    let ext = path.extension().and_then(|e| e.to_str());
    match ext {
        None | Some("yml" | "yaml" | "json") => vec![Format::Yaml, Format::Ini],
        Some(_) => vec![Format::Ini],
    }
}

/// The syntax a file looks like, judged by its first line that is not blank or a comment:
/// `[section]` or a host line is INI; `---`, `{`, or a `key:` line without `=` is YAML.
pub fn looks_like(text: &str) -> Format {
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
    fn plugin_order_by_extension() {
        assert_eq!(
            candidates(Path::new("hosts")),
            vec![Format::Yaml, Format::Ini]
        );
        assert_eq!(
            candidates(Path::new("x.yml")),
            vec![Format::Yaml, Format::Ini]
        );
        assert_eq!(
            candidates(Path::new("x.json")),
            vec![Format::Yaml, Format::Ini]
        );
        assert_eq!(candidates(Path::new("hosts.ini")), vec![Format::Ini]);
        assert_eq!(candidates(Path::new("hosts.example")), vec![Format::Ini]);
        assert_eq!(candidates(Path::new("x.YML")), vec![Format::Ini]);
    }

    #[test]
    fn looks_like_by_content() {
        assert_eq!(
            looks_like("# c\n\n[OSEv3:children]\nmasters\n"),
            Format::Ini
        );
        assert_eq!(looks_like("# c\nall:\n  hosts:\n"), Format::Yaml);
        assert_eq!(looks_like("---\nall: {}\n"), Format::Yaml);
        assert_eq!(
            looks_like("localhost ansible_connection=local\n"),
            Format::Ini
        );
        assert_eq!(looks_like("etcd1:2222\n"), Format::Ini);
        assert_eq!(looks_like(""), Format::Ini);
    }
}
