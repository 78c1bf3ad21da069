//! `etcd.v2_get` and `etcd.v2_ls`: one v2 key, or one level of a v2 directory, through the
//! v2 HTTP API of the first member that answers (never a recursive read).

use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::fanout::error_text;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::client::v2::{V2Client, V2Error, V2Node};
use crate::ops::etcd::data::error::DataError;

/// A v2 client of the first member that accepts one.
async fn client(access: &EtcdAccess, members: &[EtcdMember]) -> Result<V2Client, DataError> {
    let mut reasons = Vec::new();
    for member in members {
        match access.v2_member(member).await {
            Ok(client) => return Ok(client),
            Err(error) => reasons.push(format!("{}: {}", member.name, error_text(&error))),
        }
    }
    Err(DataError::Unreachable {
        reasons: if reasons.is_empty() {
            "no members".into()
        } else {
            reasons.join("; ")
        },
    })
}

/// Whether a v2 error says the member did not answer at all (try the next one).
fn unanswered(error: &V2Error) -> bool {
    matches!(error, V2Error::Request { .. })
}

/// Reads `key` (not recursively) from the first member that answers; `None` when absent.
async fn read(
    access: &EtcdAccess,
    members: &[EtcdMember],
    key: &str,
) -> Result<Option<V2Node>, DataError> {
    let mut last = None;
    for (i, member) in members.iter().enumerate() {
        let client = match client(access, std::slice::from_ref(member)).await {
            Ok(client) => client,
            Err(error) if i + 1 < members.len() => {
                last = Some(error);
                continue;
            }
            Err(error) => return Err(error),
        };
        match client.get_opt(key, false).await {
            Err(error) if unanswered(&error) && i + 1 < members.len() => last = Some(error.into()),
            answer => return Ok(answer?),
        }
    }
    Err(last.unwrap_or(DataError::Unreachable {
        reasons: "no members".into(),
    }))
}

/// One v2 key: its value (or a directory), TTL and indexes, or `None` when absent.
pub async fn v2_get(
    access: &EtcdAccess,
    members: &[EtcdMember],
    key: &str,
) -> Result<Option<V2Node>, DataError> {
    let mut node = read(access, members, key).await?;
    if let Some(node) = &mut node {
        // One key is asked for, not its children.
        node.nodes.clear();
    }
    Ok(node)
}

/// The keys of the children of the v2 directory `dir` (one level), sorted; empty when it
/// does not exist or is no directory.
pub async fn v2_ls(
    access: &EtcdAccess,
    members: &[EtcdMember],
    dir: &str,
) -> Result<Vec<String>, DataError> {
    let Some(node) = read(access, members, dir).await? else {
        return Ok(Vec::new());
    };
    let mut keys: Vec<String> = node.nodes.into_iter().filter_map(|n| n.key).collect();
    keys.sort();
    Ok(keys)
}
