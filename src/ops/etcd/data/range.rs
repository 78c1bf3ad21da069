//! `etcd.get`: one v3 key, or every key under a prefix read in pages of bounded size at one
//! pinned revision (a large prefix is never asked for in one response).

use crate::ops::etcd::client::paging::{range_end, PageCursor};
use crate::ops::etcd::data::error::{v3_failed, DataError};
use etcd_client::{GetOptions, KeyValue};
use tokio_util::sync::CancellationToken;

/// Keys per page: small enough that a page of large values stays far below the answer limit.
pub const PAGE_KEYS: usize = 500;

/// The largest page answer accepted.
const MAX_PAGE_BYTES: usize = 256 * 1024 * 1024;

/// What to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeRequest {
    /// The key, or with `prefix` the bytes every key read starts with (empty: every key).
    pub key: Vec<u8>,
    pub prefix: bool,
    /// Keys and revisions without values.
    pub keys_only: bool,
    /// At most this many keys (in key order).
    pub limit: Option<u64>,
    /// Read at this revision instead of the current one.
    pub revision: Option<i64>,
    /// Keys per page (0: [`PAGE_KEYS`]).
    pub page_keys: usize,
}

/// One key as v3 holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    pub key: Vec<u8>,
    /// Empty with `keys_only`.
    pub value: Vec<u8>,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    /// The lease the key is attached to, 0 for none.
    pub lease: i64,
}

impl From<&KeyValue> for KeyEntry {
    fn from(kv: &KeyValue) -> KeyEntry {
        KeyEntry {
            key: kv.key().to_vec(),
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
            version: kv.version(),
            lease: kv.lease(),
        }
    }
}

/// The keys read and the revision they were read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeAnswer {
    pub entries: Vec<KeyEntry>,
    pub revision: i64,
}

/// `[start, end)` of the request: the key alone, or the keys starting with it.
fn bounds(request: &RangeRequest) -> (Vec<u8>, Option<Vec<u8>>) {
    if !request.prefix {
        return (request.key.clone(), None);
    }
    if request.key.is_empty() {
        // etcd's "every key": from \0 to the end.
        return (vec![0], Some(vec![0]));
    }
    (request.key.clone(), Some(range_end(&request.key)))
}

fn label(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

/// Reads what `request` names through `client`, page by page; stops when `cancel` fires.
pub async fn get(
    client: &etcd_client::Client,
    request: &RangeRequest,
    cancel: &CancellationToken,
) -> Result<RangeAnswer, DataError> {
    if request.key.is_empty() && !request.prefix {
        return Err(DataError::EmptyKey);
    }
    let key = label(&request.key);
    if let Some(revision) = request.revision {
        check_revision(client, &key, revision).await?;
    }
    let (start, end) = bounds(request);
    let page_keys = if request.page_keys == 0 {
        PAGE_KEYS
    } else {
        request.page_keys
    };
    let mut kv = client.kv_client().max_decoding_message_size(MAX_PAGE_BYTES);
    let mut revision = request.revision.unwrap_or(0);
    let mut entries = Vec::new();
    let Some(end) = end else {
        let mut options = GetOptions::new().with_revision(revision);
        if request.keys_only {
            options = options.with_keys_only();
        }
        let answer = kv
            .get(start, Some(options))
            .await
            .map_err(|e| failed(&key, revision, &e))?;
        let read_at = answer.header().map(|h| h.revision()).unwrap_or(revision);
        entries.extend(answer.kvs().iter().map(KeyEntry::from));
        return Ok(RangeAnswer {
            entries,
            revision: if revision > 0 { revision } else { read_at },
        });
    };
    let mut cursor = PageCursor::new(start, end);
    while let Some((from, to)) = cursor.range() {
        let (from, to) = (from.to_vec(), to.to_vec());
        let left = request
            .limit
            .map(|limit| limit.saturating_sub(entries.len() as u64));
        if left == Some(0) {
            break;
        }
        let page = left.map_or(page_keys as u64, |left| left.min(page_keys as u64));
        let mut options = GetOptions::new()
            .with_range(to)
            .with_revision(revision)
            .with_limit(i64::try_from(page).unwrap_or(i64::MAX));
        if request.keys_only {
            options = options.with_keys_only();
        }
        let mut answer = tokio::select! {
            _ = cancel.cancelled() => return Err(DataError::Request {
                operation: "get",
                key,
                reason: "interrupted".into(),
            }),
            answer = kv.get(from, Some(options)) => answer.map_err(|e| failed(&key, revision, &e))?,
        };
        // Every later page at the revision the first one was read at: one consistent view.
        if revision == 0 {
            revision = answer.header().map(|h| h.revision()).unwrap_or(0);
        }
        let more = answer.more();
        let kvs = answer.take_kvs();
        cursor.advance(kvs.last().map(KeyValue::key), more);
        entries.extend(kvs.iter().map(KeyEntry::from));
    }
    if revision == 0 {
        // No page was read (a limit of 0 cannot be asked for): the current revision.
        revision = current_revision(client, &key).await?;
    }
    Ok(RangeAnswer { entries, revision })
}

fn failed(key: &str, revision: i64, error: &etcd_client::Error) -> DataError {
    v3_failed("get", key, revision, error)
}

/// The cluster's current revision, from a count-only read's header.
pub async fn current_revision(client: &etcd_client::Client, key: &str) -> Result<i64, DataError> {
    let answer = client
        .kv_client()
        .get("health", Some(GetOptions::new().with_count_only()))
        .await
        .map_err(|e| v3_failed("get", key, 0, &e))?;
    Ok(answer.header().map(|h| h.revision()).unwrap_or(0))
}

/// A read at a revision above the current one, as its own error (etcd says only "future
/// revision").
pub async fn check_revision(
    client: &etcd_client::Client,
    key: &str,
    revision: i64,
) -> Result<(), DataError> {
    let current = current_revision(client, key).await?;
    if revision > current {
        return Err(DataError::FutureRevision {
            key: key.to_string(),
            revision,
            current,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_covers_the_keys_that_start_with_it() {
        let request = |key: &str, prefix| RangeRequest {
            key: key.as_bytes().to_vec(),
            prefix,
            ..RangeRequest::default()
        };
        assert_eq!(bounds(&request("/a", false)), (b"/a".to_vec(), None));
        assert_eq!(
            bounds(&request("/a", true)),
            (b"/a".to_vec(), Some(b"/b".to_vec()))
        );
        assert_eq!(bounds(&request("", true)), (vec![0], Some(vec![0])));
    }
}
