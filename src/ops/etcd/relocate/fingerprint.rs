//! Whether two etcds that are no members of one cluster hold the same v3 data, as after a
//! data dir is copied to a new member: each one's fingerprint (revision, number of keys, and
//! `HashKV` there: a hash of every key, value and revision up to it, and of the compaction
//! revision), taken while nothing writes, must be the same, so equal means equal, revisions
//! included. A fingerprint can be taken before a member stops and compared after its data
//! serves elsewhere.

use crate::ops::etcd::client::access::EtcdAccess;
use crate::ops::etcd::client::fanout::error_text;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::client::v3;
use crate::ops::etcd::cluster::hashkv::{current_revision, member_hash, NoRevision};

/// What identifies the v3 data an etcd serves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    pub host: String,
    pub revision: i64,
    pub keys: u64,
    pub hash: u32,
    pub compact_revision: i64,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StoreDiffers {
    #[error(transparent)]
    #[diagnostic(transparent)]
    NoRevision(#[from] NoRevision),
    #[error("{target} does not hold the v3 data of {origin}: {reason}")]
    #[diagnostic(
        code(runbook::etcd::fingerprint::differs),
        help("the copy is not the data it was made from: do not point the masters at {target}; compare the keys (`etcdctl get --prefix \"\" -w json` on both), and copy the data again")
    )]
    Differs {
        origin: String,
        target: String,
        reason: String,
    },
    #[error("cannot read the v3 data of {host}: {reason}")]
    #[diagnostic(
        code(runbook::etcd::fingerprint::unreadable),
        help("it must serve: start it (etcd.start), or for etcd embedded in a stopped master, run it on its own (etcd.start_standalone)")
    )]
    Unreadable { host: String, reason: String },
}

async fn count(access: &EtcdAccess, member: &EtcdMember) -> Result<u64, String> {
    let mut client = access.v3_member(member).await.map_err(|e| error_text(&e))?;
    v3::count_keys(
        &mut client,
        std::slice::from_ref(&member.endpoint.client_url),
    )
    .await
    .map_err(|e| e.to_string())
}

/// The revision, key count and hash of what `member` serves now.
pub async fn fingerprint(
    access: &EtcdAccess,
    member: &EtcdMember,
) -> Result<Fingerprint, StoreDiffers> {
    let unreadable = |reason: String| StoreDiffers::Unreadable {
        host: member.host.name.clone(),
        reason,
    };
    let revision = current_revision(access, std::slice::from_ref(member)).await?;
    let hash = member_hash(access, member, revision)
        .await
        .map_err(unreadable)?;
    let keys = count(access, member).await.map_err(unreadable)?;
    Ok(Fingerprint {
        host: member.host.name.clone(),
        revision,
        keys,
        hash: hash.hash,
        compact_revision: hash.compact_revision,
    })
}

/// Whether `copy` holds the data `origin` held: revision, key count and hash.
pub fn compare(origin: &Fingerprint, copy: &Fingerprint) -> Result<(), StoreDiffers> {
    let differs = |reason: String| StoreDiffers::Differs {
        origin: origin.host.clone(),
        target: copy.host.clone(),
        reason,
    };
    if origin.revision != copy.revision {
        return Err(differs(format!(
            "revision {} there, {} on the copy",
            origin.revision, copy.revision
        )));
    }
    if origin.keys != copy.keys {
        return Err(differs(format!(
            "{} keys there, {} on the copy",
            origin.keys, copy.keys
        )));
    }
    if (origin.hash, origin.compact_revision) != (copy.hash, copy.compact_revision) {
        return Err(differs(format!(
            "at revision {}, hash {} (compacted at {}) there, {} (compacted at {}) on the copy",
            origin.revision, origin.hash, origin.compact_revision, copy.hash, copy.compact_revision
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(host: &str, revision: i64, keys: u64, hash: u32) -> Fingerprint {
        Fingerprint {
            host: host.to_string(),
            revision,
            keys,
            hash,
            compact_revision: 0,
        }
    }

    #[test]
    fn a_copy_must_match_in_revision_keys_and_hash() {
        let origin = print("master-1", 1200, 400, 77);
        assert!(compare(&origin, &print("etcd-1", 1200, 400, 77)).is_ok());
        let text = |copy: Fingerprint| compare(&origin, &copy).unwrap_err().to_string();
        assert!(
            text(print("etcd-1", 1201, 400, 77)).contains("revision 1200 there, 1201 on the copy")
        );
        assert!(text(print("etcd-1", 1200, 399, 77)).contains("400 keys there, 399"));
        assert!(text(print("etcd-1", 1200, 400, 78)).contains("hash 77"));
    }
}
