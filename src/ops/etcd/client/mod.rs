//! Connecting to etcd members: endpoints and TLS, tunnels, the v2 HTTP and v3 gRPC clients, fan-out to every member, and paging through v3 keys.

pub mod access;
pub mod endpoint;
pub mod fanout;
pub mod member;
pub mod paging;
pub mod tls;
pub mod tls_check;
pub mod tls_insecure;
pub mod tls_name;
pub mod tunnel;
pub mod v2;
pub mod v3;
pub mod v3_rustls;
