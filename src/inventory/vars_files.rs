//! `group_vars/` and `host_vars/` next to the inventory file, found and read as Ansible's
//! `host_group_vars` plugin does: `<name>`, `<name>.yml`, `<name>.yaml` or `<name>.json` (the
//! first that exists), or a directory `<name>/` whose files are read in sorted order.

use super::error::{self, InventoryError};
use super::source::SourceFile;
use super::yaml_tree;
use super::VarMap;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The extensions Ansible tries, in order (`YAML_FILENAME_EXTENSIONS`, after none).
const EXTENSIONS: [&str; 4] = ["", ".yml", ".yaml", ".json"];

/// The variables the files give each group and host, and the loader's warnings.
#[derive(Debug, Clone, Default)]
pub struct VarsFiles {
    pub groups: HashMap<String, VarMap>,
    pub hosts: HashMap<String, VarMap>,
    pub warnings: Vec<String>,
}

impl VarsFiles {
    /// Reads `group_vars/<group>` for each group and `host_vars/<host>` for each host, in the
    /// directory that holds `inventory`.
    pub fn load<'a>(
        inventory: &Path,
        groups: impl IntoIterator<Item = &'a String>,
        hosts: impl IntoIterator<Item = &'a String>,
    ) -> Result<VarsFiles, InventoryError> {
        let dir = match inventory.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let mut out = VarsFiles::default();
        for (subdir, names, into) in [
            ("group_vars", groups.into_iter().collect::<Vec<_>>(), 0),
            ("host_vars", hosts.into_iter().collect(), 1),
        ] {
            let base = dir.join(subdir);
            if !base.is_dir() {
                if base.exists() {
                    out.warnings
                        .push(format!("{} is not a directory: skipped", base.display()));
                }
                continue;
            }
            for name in names {
                // Ansible skips names like `/path/to/chroot`.
                if name.starts_with('/') {
                    continue;
                }
                let mut vars = VarMap::new();
                for file in find(&base, name) {
                    read_into(&file, &mut vars, &mut out.warnings)?;
                }
                if !vars.is_empty() {
                    let map = if into == 0 {
                        &mut out.groups
                    } else {
                        &mut out.hosts
                    };
                    map.insert(name.clone(), vars);
                }
            }
        }
        Ok(out)
    }
}

/// The files holding `name`'s variables under `base`, in the order they are read.
pub fn find(base: &Path, name: &str) -> Vec<PathBuf> {
    for ext in EXTENSIONS {
        let path = base.join(format!("{name}{ext}"));
        if path.is_dir() {
            return directory_files(&path);
        }
        if path.exists() {
            return vec![path];
        }
    }
    Vec::new()
}

/// Files of a vars directory, sorted by name, recursing into directories without an
/// extension; hidden files, backups (`~`) and files with other extensions are skipped.
fn directory_files(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut found = Vec::new();
    for name in names {
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let path = dir.join(&name);
        let ext = Path::new(&name)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()));
        if path.is_dir() && ext.is_none() {
            found.extend(directory_files(&path));
        } else if path.is_file() && ext.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            found.push(path);
        }
    }
    found
}

/// Reads one vars file into `vars` (later files win). An empty file, or one holding a false
/// value, adds nothing; anything else must be a mapping.
fn read_into(
    path: &Path,
    vars: &mut VarMap,
    warnings: &mut Vec<String>,
) -> Result<(), InventoryError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| InventoryError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| InventoryError::Read {
        path: shown.clone(),
        reason: format!(
            "not UTF-8 text (bad byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    let file = SourceFile::new(&shown, text);
    let loaded =
        yaml_tree::load(file.text()).map_err(|e| located(&file, e.mark.index, e.message))?;
    for (message, mark) in loaded.warnings {
        warnings.push(format!("{shown}:{}: {message}", file.line_of(mark.index)));
    }
    let Some(root) = loaded.root else {
        return Ok(());
    };
    match root.to_value() {
        Value::Object(map) => {
            vars.extend(map);
            Ok(())
        }
        Value::Null | Value::Bool(false) => Ok(()),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(()),
        Value::String(s) if s.is_empty() => Ok(()),
        Value::Array(a) if a.is_empty() => Ok(()),
        _ => Err(located(
            &file,
            root.mark.index,
            format!("expected a mapping of variables, found {}", root.kind()),
        )),
    }
}

fn located(file: &SourceFile, index: usize, message: String) -> InventoryError {
    let text = file.text();
    let mut offset = index.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line = file.line_of(offset);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    InventoryError::from(error::VarsFileError {
        file: file.name().to_string(),
        line,
        column: text[line_start..offset].chars().count() + 1,
        message,
        src: file.src(),
        span: file.span(offset, 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_files_as_ansible_does() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::write(base.join("etcd.yaml"), "a: 1\n").unwrap();
        std::fs::write(base.join("etcd.yml"), "a: 2\n").unwrap();
        std::fs::create_dir_all(base.join("all/sub")).unwrap();
        for f in ["b.yml", "a.json", ".hidden.yml", "c.txt", "d~", "e"] {
            std::fs::write(base.join("all").join(f), "x: 1\n").unwrap();
        }
        std::fs::write(base.join("all/sub/z.yml"), "x: 1\n").unwrap();
        assert_eq!(find(base, "etcd"), vec![base.join("etcd.yml")]);
        let names: Vec<String> = find(base, "all")
            .iter()
            .map(|p| p.strip_prefix(base).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            vec!["all/a.json", "all/b.yml", "all/e", "all/sub/z.yml"]
        );
        assert!(find(base, "nodes").is_empty());
    }

    #[test]
    fn a_file_that_is_not_a_mapping_is_an_error_naming_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.yml");
        std::fs::write(&path, "# vars\n- a\n- b\n").unwrap();
        let mut vars = VarMap::new();
        let e = read_into(&path, &mut vars, &mut Vec::new()).unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(
            e.to_string()
                .contains("expected a mapping of variables, found a list"),
            "{e}"
        );
        std::fs::write(&path, "a: [1\n").unwrap();
        let e = read_into(&path, &mut vars, &mut Vec::new()).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!("{}:2:", path.display())),
            "{e}"
        );
        std::fs::write(&path, "").unwrap();
        assert!(read_into(&path, &mut vars, &mut Vec::new()).is_ok());
    }
}
