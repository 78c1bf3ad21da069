//! What happens on a member's host: shell steps, etcd stopped or not, etcd.conf edits, stamps and paths, the host's clock.

pub mod clock;
pub mod conf_edit;
pub mod member_host;
pub mod services;
pub mod step;
pub mod stopped;
