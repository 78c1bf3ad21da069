//! Counting the v3 keyspace without fetching it: the playbook's guard against
//! migrating a cluster that already holds v3 data.

use super::access::{AccessError, EtcdAccess};
use super::facts::KeyCount;
use super::member::EtcdMember;
use super::v3;
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
