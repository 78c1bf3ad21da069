//! etcd operations, plain async Rust, grouped by concern. The arrows point one way:
//! `client` <- `host` <- {`cluster`, `membership`, `backup`} <- `migrate` <- `rollback`;
//! `lease` and `v2store` depend on `client` (and files) only; `data` on `client`, `etcdctl`
//! on `client` and `host`, `maintenance` on those and `etcdctl`.

pub mod backup;
pub mod certs;
pub mod client;
pub mod cluster;
pub mod data;
pub mod embedded;
pub mod etcdctl;
pub mod host;
pub mod lease;
pub mod maintenance;
pub mod membership;
pub mod migrate;
pub mod relocate;
pub mod rollback;
pub mod v2store;

pub use client::access::{AccessError, EtcdAccess};
pub use client::endpoint::{EndpointError, EtcdEndpoint};
pub use client::member::EtcdMember;
pub use client::tls::{TlsError, TlsFiles, TlsMaterial};
pub use client::v2::{V2Client, V2Error, V2Node};
