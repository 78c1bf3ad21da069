//! The integration tests, one binary with a module per feature, against the real things:
//! etcd 3.4 members, `etcdctl`, `sshd`, terminals and files. `support` holds what the
//! modules share (the binary, labs, sshd, etcdctl, terminals, migration checks).

mod support;

/// The bench's reading of the master writer's log, run with the tests.
#[path = "../benches/support/master_writes.rs"]
mod bench_master_writes;

mod architecture;
mod bad_input;
mod certs;
mod check;
mod cli;
mod debug;
mod diagnostics;
mod doc;
mod embedded_to_external;
mod etcd_backup;
mod etcd_data;
mod etcd_maintenance;
mod etcd_membership;
mod etcd_migrate;
mod etcd_status;
mod etcd_tunnel;
mod etcd_verify;
mod faults;
mod fresh_machine;
mod hosts;
mod interrupt;
mod inventory;
mod inventory_ansible;
mod journal;
mod lab;
mod lab_netns;
mod lease_attach;
mod lease_restore;
mod master;
mod privilege;
mod properties;
mod repl;
mod rollback;
mod script_functions;
mod secrets;
mod security;
mod service;
mod shipped_runbooks;
mod transport_local;
mod transport_ssh;
mod transport_unreachable;
mod v2_to_v3;
mod v2_to_v3_become;
mod v2_to_v3_docker;
mod v2_to_v3_embedded;
mod v2_to_v3_resume;
mod v2_to_v3_ssh;
mod v2store;
