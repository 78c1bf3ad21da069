//! Walking the v3 keys under a prefix in bounded pages at one pinned revision,
//! so a large keyspace is read once, consistently, without holding it all in memory.

use etcd_client::{GetOptions, KeyValue};

/// The largest page answer accepted (long keys, or values when reading them).
const MAX_PAGE_BYTES: usize = 256 * 1024 * 1024;

/// Why a page could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PagingError {
    #[error("reading the keys under {prefix} at revision {revision} failed: {reason}")]
    #[diagnostic(
        code(runbook::etcd::paging),
        help("check that etcd is healthy; if the revision was compacted meanwhile, run the operation again")
    )]
    Read {
        prefix: String,
        revision: i64,
        reason: String,
    },
}

/// The `[start, end)` range of the keys under `prefix` + `/` (the `/` is implied, so
/// `/a/events` never matches `/a/eventsX`). An empty prefix or `/` covers every key
/// starting with `/`.
pub fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let mut start = prefix.as_bytes().to_vec();
    if start.last() != Some(&b'/') {
        start.push(b'/');
    }
    let end = range_end(&start);
    (start, end)
}

/// The smallest key greater than every key starting with `prefix` (etcd's `GetPrefixRangeEnd`):
/// the prefix with its last byte below 0xff incremented; `\0` (to the end) if all bytes are 0xff.
pub fn range_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// Where the next page of `[start, end)` starts: the paging arithmetic on its own, so it can
/// be checked against a model of etcd's limited range reads without a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    next: Option<Vec<u8>>,
    end: Vec<u8>,
}

impl PageCursor {
    pub fn new(start: Vec<u8>, end: Vec<u8>) -> PageCursor {
        PageCursor {
            next: Some(start),
            end,
        }
    }

    /// The `[from, end)` range the next page reads, or `None` after the last page.
    pub fn range(&self) -> Option<(&[u8], &[u8])> {
        self.next.as_deref().map(|from| (from, self.end.as_slice()))
    }

    /// Moves past a page that ended with `last` (`None` if it was empty); `more` is etcd's
    /// answer to whether the range holds keys beyond the page.
    pub fn advance(&mut self, last: Option<&[u8]>, more: bool) {
        self.next = match (more, last) {
            // The smallest key after `last`.
            (true, Some(last)) => {
                let mut next = last.to_vec();
                next.push(0);
                Some(next)
            }
            _ => None,
        };
    }
}

/// Pages of keys in `[start, end)` at one revision, in key order.
pub struct KeyPager {
    client: etcd_client::Client,
    prefix: String,
    cursor: PageCursor,
    revision: i64,
    page_size: i64,
    keys_only: bool,
}

impl KeyPager {
    /// Pins the current revision and counts the keys under `prefix/` (count only, no keys sent).
    /// Returns the pager and the count.
    pub async fn pin(
        client: &etcd_client::Client,
        prefix: &str,
        page_size: usize,
        keys_only: bool,
    ) -> Result<(KeyPager, u64), PagingError> {
        let (start, end) = prefix_range(prefix);
        KeyPager::pin_range(client, prefix, start, end, page_size, keys_only).await
    }

    /// Like [`KeyPager::pin`] for the keys in `[start, end)`; `label` names the range in errors.
    pub async fn pin_range(
        client: &etcd_client::Client,
        label: &str,
        start: Vec<u8>,
        end: Vec<u8>,
        page_size: usize,
        keys_only: bool,
    ) -> Result<(KeyPager, u64), PagingError> {
        let mut kv = client.kv_client();
        let answer = kv
            .get(
                start.clone(),
                Some(GetOptions::new().with_range(end.clone()).with_count_only()),
            )
            .await
            .map_err(|e| PagingError::Read {
                prefix: label.to_string(),
                revision: 0,
                reason: e.to_string(),
            })?;
        let revision = answer.header().map(|h| h.revision()).unwrap_or(0);
        let pager = KeyPager {
            client: client.clone(),
            prefix: label.to_string(),
            cursor: PageCursor::new(start, end),
            revision,
            page_size: i64::try_from(page_size.max(1)).unwrap_or(i64::MAX),
            keys_only,
        };
        Ok((pager, u64::try_from(answer.count()).unwrap_or(0)))
    }

    /// The revision every page is read at.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// A pager over `[start, end)` at this pager's revision, page size and key-only setting.
    pub fn with_range(&self, start: Vec<u8>, end: Vec<u8>) -> KeyPager {
        KeyPager {
            client: self.client.clone(),
            prefix: self.prefix.clone(),
            cursor: PageCursor::new(start, end),
            revision: self.revision,
            page_size: self.page_size,
            keys_only: self.keys_only,
        }
    }

    /// The next page, or `None` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<Vec<KeyValue>>, PagingError> {
        let Some((start, end)) = self.cursor.range() else {
            return Ok(None);
        };
        let (start, end) = (start.to_vec(), end.to_vec());
        let mut options = GetOptions::new()
            .with_range(end)
            .with_revision(self.revision)
            .with_limit(self.page_size);
        if self.keys_only {
            options = options.with_keys_only();
        }
        let mut answer = self
            .client
            .kv_client()
            .max_decoding_message_size(MAX_PAGE_BYTES)
            .get(start, Some(options))
            .await
            .map_err(|e| PagingError::Read {
                prefix: self.prefix.clone(),
                revision: self.revision,
                reason: e.to_string(),
            })?;
        let more = answer.more();
        let page = answer.take_kvs();
        // Only a page that was read moves the cursor: after an error the same page is read again.
        self.cursor.advance(page.last().map(KeyValue::key), more);
        if page.is_empty() {
            return Ok(None);
        }
        Ok(Some(page))
    }
}

/// Why [`join_sorted`] stopped.
#[derive(Debug)]
pub enum JoinError {
    Paging(PagingError),
    Cancelled,
}

/// Walks v3 over the span of `keys` (sorted by their bytes, as v3 orders them) at one pinned
/// revision and pairs each key with its v3 entry: `each(i, Some(kv))` for the keys v3 has,
/// `each(i, None)` for those it lacks, in order. Returns the revision read at.
///
/// The span is read chunk by chunk, each chunk bounded by the expected keys themselves
/// (`page_size` of them), because etcd 3.4 walks the whole rest of a range for every limited
/// read: pages over one open range cost O(n²), chunks with their own end cost O(n). Keys v3
/// holds between two expected ones (none, after a clean migration) only lengthen their chunk,
/// which is then read in pages of the same size.
pub async fn join_sorted<K: AsRef<[u8]>>(
    client: &etcd_client::Client,
    label: &str,
    keys: &[K],
    page_size: usize,
    keys_only: bool,
    cancel: &tokio_util::sync::CancellationToken,
    mut each: impl FnMut(usize, Option<&KeyValue>),
) -> Result<i64, JoinError> {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return Ok(0);
    };
    let mut end = last.as_ref().to_vec();
    end.push(0);
    let (pinned, _) = KeyPager::pin_range(
        client,
        label,
        first.as_ref().to_vec(),
        end.clone(),
        page_size,
        keys_only,
    )
    .await
    .map_err(JoinError::Paging)?;
    let revision = pinned.revision();
    let page_size = page_size.max(1);
    let mut next = 0;
    for (start, chunk_end) in chunk_bounds(keys, page_size, &end) {
        let mut pager = pinned.with_range(start, chunk_end);
        loop {
            let page = tokio::select! {
                _ = cancel.cancelled() => return Err(JoinError::Cancelled),
                page = pager.next_page() => page.map_err(JoinError::Paging)?,
            };
            let Some(page) = page else { break };
            for kv in &page {
                while next < keys.len() && keys[next].as_ref() < kv.key() {
                    each(next, None);
                    next += 1;
                }
                if next < keys.len() && keys[next].as_ref() == kv.key() {
                    each(next, Some(kv));
                    next += 1;
                }
            }
        }
    }
    for i in next..keys.len() {
        each(i, None);
    }
    Ok(revision)
}

/// The `[start, end)` ranges that cover `[keys[0], end)`, each starting at every
/// `page_size`-th key and ending where the next starts.
fn chunk_bounds<K: AsRef<[u8]>>(
    keys: &[K],
    page_size: usize,
    end: &[u8],
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let starts: Vec<&[u8]> = keys.iter().step_by(page_size).map(AsRef::as_ref).collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, start)| {
            let chunk_end = starts.get(i + 1).copied().unwrap_or(end);
            (start.to_vec(), chunk_end.to_vec())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slash_is_implied() {
        let (start, end) = prefix_range("/kubernetes.io/events");
        assert_eq!(start, b"/kubernetes.io/events/");
        assert_eq!(end, b"/kubernetes.io/events0");
        assert!(b"/kubernetes.io/eventsX/a".as_slice() >= end.as_slice());
        assert_eq!(prefix_range("/a/").0, b"/a/");
        assert_eq!(prefix_range("").0, b"/");
    }

    #[test]
    fn chunks_cover_the_span_without_gaps_or_overlaps() {
        let keys = ["/a", "/b", "/c", "/d", "/e"];
        let end = b"/e\0".to_vec();
        let bounds = chunk_bounds(&keys, 2, &end);
        let expected: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"/a".to_vec(), b"/c".to_vec()),
            (b"/c".to_vec(), b"/e".to_vec()),
            (b"/e".to_vec(), end.clone()),
        ];
        assert_eq!(bounds, expected);
        assert_eq!(chunk_bounds(&keys, 10, &end), vec![(b"/a".to_vec(), end)]);
    }

    #[test]
    fn range_end_carries_over_0xff() {
        assert_eq!(range_end(b"a\xff"), b"b");
        assert_eq!(range_end(b"\xff\xff"), vec![0]);
        assert_eq!(range_end(b"ab"), b"ac");
    }
}
