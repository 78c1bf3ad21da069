//! Reading an inventory: a file or text, INI or YAML (chosen by the name and the content),
//! resolved into an [`Inventory`]; or the implicit localhost when there is none.

use super::format::{self, Format};
use super::model::Inventory;
use super::source::SourceFile;
use super::{ini, resolve, yaml, InventoryError};
use std::path::Path;

impl Inventory {
    /// Reads an INI or YAML inventory (chosen by content), then applies `overrides` (`-e NAME=VALUE`).
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
        let mut inventory = Inventory::from_text(&shown, &text, overrides)?;
        inventory.source = Some(path.to_path_buf());
        Ok(inventory)
    }

    /// Parses inventory text; `name` is shown in errors, and an extension `.yml`/`.yaml`/`.json`
    /// on it selects YAML (otherwise the content decides).
    pub fn from_text(
        name: &str,
        text: &str,
        overrides: &[(String, String)],
    ) -> Result<Inventory, InventoryError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let file = SourceFile::new(name, text);
        let raw = match format::detect(Path::new(name), text) {
            Format::Yaml => yaml::parse(&file)?,
            Format::Ini => ini::parse(&file)?,
        };
        Ok(resolve::resolve(raw, overrides))
    }

    /// An inventory with no file: the implicit `localhost` (local connection) only.
    pub fn implicit_localhost(overrides: &[(String, String)]) -> Inventory {
        let mut raw = super::raw::RawInventory::default();
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
        let mut inventory = resolve::resolve(raw, overrides);
        // Ansible's implicit localhost belongs to `all` only.
        if let Some(ungrouped) = inventory.groups.get_mut("ungrouped") {
            ungrouped.members.clear();
        }
        inventory
    }
}
