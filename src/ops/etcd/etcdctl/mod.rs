//! etcdctl run on a member's host, pointed at that member: its client URL and the TLS files
//! the inventory names there (paths on the command line, never key material).

pub mod command;
