//! Editing an `etcd.conf` environment file (`ETCD_NAME=...` lines, as RHEL's etcd
//! package ships it) while keeping its comments, order and unrelated lines.

/// An environment file held as lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    lines: Vec<String>,
}

impl EnvFile {
    pub fn parse(text: &str) -> EnvFile {
        EnvFile {
            lines: text.lines().map(str::to_string).collect(),
        }
    }

    /// The value of an active (uncommented) assignment, unquoted.
    pub fn get(&self, name: &str) -> Option<String> {
        self.lines
            .iter()
            .rev()
            .find_map(|line| assignment(line, name))
            .map(unquote)
    }

    /// Sets `name=value`: replaces every active assignment (the first in place,
    /// later duplicates removed), or appends one.
    pub fn set(&mut self, name: &str, value: &str) {
        let line = format!("{name}={}", quote(value));
        let mut replaced = false;
        self.lines.retain_mut(|existing| {
            if assignment(existing, name).is_none() {
                return true;
            }
            if replaced {
                return false;
            }
            replaced = true;
            *existing = line.clone();
            true
        });
        if !replaced {
            self.lines.push(line);
        }
    }

    /// Removes every active assignment of `name`; true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.lines.len();
        self.lines.retain(|line| assignment(line, name).is_none());
        before != self.lines.len()
    }

    pub fn render(&self) -> String {
        let mut text = self.lines.join("\n");
        text.push('\n');
        text
    }
}

/// The raw value if `line` assigns `name` (optionally with `export `), else None.
fn assignment<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let trimmed = line.trim_start();
    let trimmed = trimmed.strip_prefix("export ").unwrap_or(trimmed);
    let rest = trimmed.strip_prefix(name)?;
    rest.strip_prefix('=')
}

fn unquote(raw: &str) -> String {
    let raw = raw.trim();
    for quote in ['"', '\''] {
        if raw.len() >= 2 && raw.starts_with(quote) && raw.ends_with(quote) {
            return raw[1..raw.len() - 1].to_string();
        }
    }
    raw.to_string()
}

/// Values are written bare, as RHEL's etcd.conf does, unless the shell or
/// systemd would split or expand them.
fn quote(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.,:/=@+%".contains(c));
    if plain && !value.is_empty() {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RHEL: &str = "# [member]\nETCD_NAME=etcd-1\nETCD_DATA_DIR=/var/lib/etcd/\n#ETCD_WAL_DIR=\"\"\nETCD_INITIAL_CLUSTER=\"etcd-1=https://10.0.0.1:2380\"\n";

    #[test]
    fn reads_bare_and_quoted_values_and_ignores_comments() {
        let file = EnvFile::parse(RHEL);
        assert_eq!(file.get("ETCD_NAME").as_deref(), Some("etcd-1"));
        assert_eq!(
            file.get("ETCD_INITIAL_CLUSTER").as_deref(),
            Some("etcd-1=https://10.0.0.1:2380")
        );
        assert_eq!(file.get("ETCD_WAL_DIR"), None);
        assert_eq!(file.get("ETCD_NAM"), None);
    }

    #[test]
    fn set_replaces_in_place_or_appends_and_keeps_everything_else() {
        let mut file = EnvFile::parse(RHEL);
        file.set("ETCD_NAME", "etcd-9");
        file.set("ETCD_FORCE_NEW_CLUSTER", "true");
        file.set(
            "ETCD_INITIAL_CLUSTER",
            "a=https://1.2.3.4:2380,b=https://1.2.3.5:2380",
        );
        assert_eq!(
            file.render(),
            "# [member]\nETCD_NAME=etcd-9\nETCD_DATA_DIR=/var/lib/etcd/\n#ETCD_WAL_DIR=\"\"\nETCD_INITIAL_CLUSTER=a=https://1.2.3.4:2380,b=https://1.2.3.5:2380\nETCD_FORCE_NEW_CLUSTER=true\n"
        );
        assert!(file.remove("ETCD_FORCE_NEW_CLUSTER"));
        assert!(!file.remove("ETCD_FORCE_NEW_CLUSTER"));
        assert_eq!(file.get("ETCD_FORCE_NEW_CLUSTER"), None);
    }

    #[test]
    fn duplicates_collapse_to_one_assignment() {
        let mut file = EnvFile::parse("A=1\nB=2\nA=3\n");
        assert_eq!(file.get("A").as_deref(), Some("3"));
        file.set("A", "4");
        assert_eq!(file.render(), "A=4\nB=2\n");
    }

    #[test]
    fn values_that_need_quotes_get_them() {
        let mut file = EnvFile::parse("");
        file.set("X", "a b$c");
        file.set("Y", "it's");
        assert_eq!(file.render(), "X='a b$c'\nY='it'\\''s'\n");
    }
}
