//! Inventory errors, each naming the file and line and how to fix it.

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InventoryError {
    #[error("cannot read inventory {path}: {reason}")]
    #[diagnostic(code(runbook::inventory::read), help("check the path given to -i"))]
    Read { path: String, reason: String },
}
