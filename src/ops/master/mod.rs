//! The OpenShift masters: their master-config.yaml, their certificates for an embedded
//! etcd, and their services.

pub mod config_file;
pub mod config_patch;
pub mod diff;
pub mod embedded_certs;
pub mod etcd_client_config;
pub mod outage;
pub mod services;
pub mod ttl_durations;
pub mod yaml;
