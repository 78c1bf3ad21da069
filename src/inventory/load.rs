//! Reading an inventory: a file or text, read by the syntaxes Ansible would try in its order,
//! with the group_vars/ and host_vars/ beside it, resolved into an [`Inventory`]; or the
//! implicit localhost when there is none.

use super::format::{self, Format};
use super::model::Inventory;
use super::neither_format::NeitherFormat;
use super::raw::RawInventory;
use super::source::SourceFile;
use super::vars_files::VarsFiles;
use super::{ini, resolve, yaml, InventoryError};
use std::path::Path;

impl Inventory {
    /// Reads an INI or YAML inventory and the group_vars/ and host_vars/ next to it, then
    /// applies `overrides` (`-e NAME=VALUE`). Warnings go to the log (stderr) and stay in
    /// [`Inventory::warnings`].
    pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<Inventory, InventoryError> {
        let shown = path.display().to_string();
        let read_error = |reason: String| InventoryError::Read {
            path: shown.clone(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            read_error(format!(
                "not UTF-8 text (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        let raw = parse(&shown, &text)?;
        let files = VarsFiles::load(path, raw.groups.keys(), raw.hosts.keys())?;
        let mut inventory = resolve::resolve(raw, files, overrides);
        inventory.source = Some(path.to_path_buf());
        log_warnings(&inventory);
        Ok(inventory)
    }

    /// Parses inventory text alone (no group_vars/host_vars); `name` is shown in errors, and
    /// its extension decides which syntaxes are tried, as for a file.
    pub fn from_text(
        name: &str,
        text: &str,
        overrides: &[(String, String)],
    ) -> Result<Inventory, InventoryError> {
        let raw = parse(name, text)?;
        let inventory = resolve::resolve(raw, VarsFiles::default(), overrides);
        log_warnings(&inventory);
        Ok(inventory)
    }

    /// An inventory with no file: the implicit `localhost` (local connection) only.
    pub fn implicit_localhost(overrides: &[(String, String)]) -> Inventory {
        let mut raw = RawInventory::default();
        raw.add_host("all", "localhost");
        if let Some(host) = raw.hosts.get_mut("localhost") {
            let loc = super::raw::Loc {
                line: 0,
                span: (0, 0).into(),
            };
            host.vars.insert(
                "ansible_connection".to_string(),
                (serde_json::Value::String("local".to_string()), loc),
            );
        }
        let mut inventory = resolve::resolve(raw, VarsFiles::default(), overrides);
        // Ansible's implicit localhost belongs to `all` only.
        if let Some(ungrouped) = inventory.groups.get_mut("ungrouped") {
            ungrouped.members.clear();
            ungrouped.hosts.clear();
        }
        inventory
    }
}

fn log_warnings(inventory: &Inventory) {
    for warning in inventory.warnings() {
        tracing::warn!("{warning}");
    }
}

/// Tries each syntax Ansible would, in its order; the first that reads the file wins. When
/// none does, the error is that of the syntax the file looks like.
fn parse(name: &str, text: &str) -> Result<RawInventory, InventoryError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let file = SourceFile::new(name, text);
    let read = |format: Format| match format {
        Format::Yaml => yaml::parse(&file),
        Format::Ini => ini::parse(&file),
    };
    let candidates = format::candidates(Path::new(name));
    let mut failures: Vec<(Format, InventoryError)> = Vec::new();
    for format in candidates {
        match read(format) {
            Ok(raw) => return Ok(raw),
            Err(e) => failures.push((format, e)),
        }
    }
    if failures.len() == 1 {
        return Err(failures.remove(0).1);
    }
    let looks = format::looks_like(text);
    let at = failures.iter().position(|(f, _)| *f == looks).unwrap_or(0);
    let (primary_format, primary) = failures.remove(at);
    let (other_format, other) = failures.remove(0);
    Err(InventoryError::NeitherFormat(Box::new(NeitherFormat {
        primary,
        primary_format: primary_format.name(),
        other_format: other_format.name(),
        other_error: other.to_string(),
    })))
}
