//! etcd embedded in an OpenShift master: its `etcdConfig`, and running it on its own
//! while the master is stopped.

pub mod etcd_config;
pub mod standalone;
