//! etcd operations: v2 HTTP API, v3 client, endpoints and TLS.

pub mod endpoint;
pub mod tls;
pub mod v2;
pub mod v3;

pub use endpoint::{EndpointError, EtcdEndpoint};
pub use tls::{TlsError, TlsFiles, TlsMaterial};
pub use v2::{V2Client, V2Error, V2Node};
