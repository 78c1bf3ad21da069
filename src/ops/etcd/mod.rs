//! etcd operations: v2 HTTP API, v3 client, endpoints and TLS.

pub mod access;
pub mod endpoint;
pub mod facts;
pub mod lease_attach;
pub mod lease_paging;
pub mod member;
pub mod tls;
pub mod v2;
pub mod v3;
pub mod verify;

pub use access::{AccessError, EtcdAccess};
pub use endpoint::{EndpointError, EtcdEndpoint};
pub use member::EtcdMember;
pub use tls::{TlsError, TlsFiles, TlsMaterial};
pub use v2::{V2Client, V2Error, V2Node};
