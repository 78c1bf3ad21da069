//! Editing YAML documents in place: reading their lines, and changing only the lines a
//! change needs.

pub mod edit;
pub mod lines;
