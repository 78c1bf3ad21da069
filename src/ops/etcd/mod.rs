//! etcd operations: v2 HTTP API, v3 client, endpoints and TLS.

pub mod access;
pub mod backup;
pub mod backup_verify;
pub mod disk_space;
pub mod endpoint;
pub mod etcd_stopped;
pub mod facts;
pub mod host_step;
pub mod key_count;
pub mod manifest;
pub mod member;
pub mod migrate;
pub mod migrate_guards;
pub mod migration_record;
pub mod snapshot_check;
pub mod tls;
pub mod v2;
pub mod v3;

pub use access::{AccessError, EtcdAccess};
pub use endpoint::{EndpointError, EtcdEndpoint};
pub use member::EtcdMember;
pub use tls::{TlsError, TlsFiles, TlsMaterial};
pub use v2::{V2Client, V2Error, V2Node};
