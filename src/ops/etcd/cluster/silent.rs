//! Which members do not answer now, each asked on its own (a v3 status within a timeout): a
//! client that spreads requests over every member shows a dead one only as a failed request.

use crate::ops::etcd::{EtcdAccess, EtcdMember};
use std::time::Duration;

/// The host names of the members of `members` that gave no status within `timeout`.
pub async fn silent_members(
    access: &EtcdAccess,
    members: &[EtcdMember],
    timeout: Duration,
) -> Vec<String> {
    let mut silent = Vec::new();
    for member in members {
        let answer = tokio::time::timeout(timeout, async {
            let mut client = access.v3_member(member).await.map_err(|e| e.to_string())?;
            client.status().await.map_err(|e| e.to_string())
        })
        .await;
        if !matches!(answer, Ok(Ok(_))) {
            silent.push(member.host.name.clone());
        }
    }
    silent
}
