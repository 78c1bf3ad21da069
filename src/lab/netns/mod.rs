//! A lab of separate hosts (`runbook lab up --hosts netns`): each etcd host and the master is
//! its own network and mount namespace with its own address, sshd on port 22, etcd on
//! 2379/2380 configured as openshift-ansible 3.7 configures it, and a systemctl with the
//! units' semantics. Its inventory names only the groups and the ssh login, so everything
//! else comes from defaults and from the hosts themselves.

pub mod down;
pub mod etcd_conf;
pub mod exec;
pub mod host;
pub mod network;
pub mod sshd;
pub mod up;
