//! Ansible inventories (INI and YAML) as openshift-ansible users write them.

pub mod defaults;
pub mod error;
pub mod format;
pub mod host;
pub mod ini;
pub mod listing;
pub mod load;
pub mod model;
pub mod neither_format;
pub mod python_literal;
pub mod range;
pub mod raw;
pub mod release;
pub mod resolve;
pub mod source;
pub mod value;
pub mod vars_files;
pub mod yaml;
pub mod yaml11;
pub mod yaml_events;
pub mod yaml_tree;

pub use error::InventoryError;
pub use host::Host;
pub use model::{Inventory, VarMap};
