//! Real etcd members for tests (in progress).
