//! etcd operations: v2 HTTP API, v3 client, endpoints and TLS.
