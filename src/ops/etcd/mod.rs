//! etcd operations: v2 HTTP API, v3 client, endpoints and TLS.

pub mod access;
pub mod conf_edit;
pub mod endpoint;
pub mod facts;
pub mod force_new_cluster;
pub mod join;
pub mod member;
pub mod member_host;
pub mod member_ready;
pub mod membership;
pub mod membership_error;
pub mod tls;
pub mod v2;
pub mod v3;

pub use access::{AccessError, EtcdAccess};
pub use endpoint::{EndpointError, EtcdEndpoint};
pub use member::EtcdMember;
pub use tls::{TlsError, TlsFiles, TlsMaterial};
pub use v2::{V2Client, V2Error, V2Node};
