//! etcd operations: v2 HTTP API, v3 client, endpoints and TLS.

pub mod access;
pub mod conf_edit;
pub mod converge;
pub mod endpoint;
pub mod facts;
pub mod fanout;
pub mod force_new_cluster;
pub mod hashkv;
pub mod health;
pub mod join;
pub mod lease_attach;
pub mod lease_paging;
pub mod member;
pub mod member_host;
pub mod member_ready;
pub mod membership;
pub mod membership_error;
pub mod status;
pub mod table;
pub mod tls;
pub mod tls_name;
pub mod tunnel;
pub mod v2;
pub mod v3;
pub mod verify;

pub use access::{AccessError, EtcdAccess};
pub use endpoint::{EndpointError, EtcdEndpoint};
pub use member::EtcdMember;
pub use tls::{TlsError, TlsFiles, TlsMaterial};
pub use v2::{V2Client, V2Error, V2Node};
