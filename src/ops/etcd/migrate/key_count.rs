//! Counting the v3 keyspace without fetching it: the playbook's guard against
//! migrating a cluster that already holds v3 data.

use crate::ops::etcd::client::access::{AccessError, EtcdAccess};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::client::v3;
use crate::ops::etcd::migrate::facts::KeyCount;
use chrono::Utc;

/// Counts every v3 key of the cluster (`count_only`, no values transferred).
pub async fn v3_key_count(
    access: &EtcdAccess,
    members: &[EtcdMember],
) -> Result<KeyCount, AccessError> {
    let endpoints: Vec<String> = members
        .iter()
        .map(|m| m.endpoint.client_url.clone())
        .collect();
    let mut client = access.v3_cluster(members).await?;
    let count = v3::count_keys(&mut client, &endpoints).await?;
    Ok(KeyCount {
        count,
        at: Utc::now(),
        endpoints,
    })
}
