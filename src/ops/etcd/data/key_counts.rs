//! `etcd.key_counts`: every member's own count of its v3 keys (a serializable count-only
//! range, answered from that member's store), so members that disagree show.
//!
//! v2 keys are not counted here: the v2 API can only count them with a recursive read of
//! the whole store, which costs a large member gigabytes. `etcd.compare_with_backup` and the
//! migration's checks count them from the members' files instead.

use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::fanout::{ask_each, error_text, v3_error_text};
use crate::ops::etcd::client::member::EtcdMember;
use etcd_client::GetOptions;

/// One member's counts, or why it could not give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberKeyCount {
    pub member: String,
    pub host: String,
    /// v3 keys in that member's store.
    pub v3: Result<u64, String>,
}

/// Asks every member for its v3 key count, concurrently, each within the run's timeout.
pub async fn collect(access: &EtcdAccess, members: &[EtcdMember]) -> Vec<MemberKeyCount> {
    let answers = ask_each(members, access.timeout(), |member| count(access, member)).await;
    members
        .iter()
        .zip(answers)
        .map(|(member, v3)| MemberKeyCount {
            member: member.name.clone(),
            host: member.host.name.clone(),
            v3,
        })
        .collect()
}

async fn count(access: &EtcdAccess, member: &EtcdMember) -> Result<u64, String> {
    let client = access.v3_member(member).await.map_err(|e| error_text(&e))?;
    let options = GetOptions::new()
        .with_all_keys()
        .with_count_only()
        .with_serializable();
    let answer = client
        .kv_client()
        .get(vec![0], Some(options))
        .await
        .map_err(|e| v3_error_text(&e))?;
    Ok(u64::try_from(answer.count()).unwrap_or(0))
}
