//! Ansible inventories (INI and YAML) as openshift-ansible users write them.

pub mod defaults;
pub mod error;
pub mod format;
pub mod host;
pub mod ini;
pub mod load;
pub mod model;
pub mod range;
pub mod raw;
pub mod release;
pub mod resolve;
pub mod source;
pub mod value;
pub mod yaml;

pub use error::InventoryError;
pub use host::Host;
pub use model::{Inventory, VarMap};
