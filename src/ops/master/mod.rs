//! The OpenShift masters: their master-config.yaml and their services.

pub mod config_file;
pub mod config_patch;
pub mod diff;
pub mod etcd_client_config;
pub mod outage;
pub mod services;
pub mod ttl_durations;
pub mod yaml;
