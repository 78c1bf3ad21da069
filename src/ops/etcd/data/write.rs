//! `etcd.put` and `etcd.delete`: one v3 write each, answered with the revision it made.

use crate::ops::etcd::client::paging::range_end;
use crate::ops::etcd::data::error::{v3_failed, DataError};
use etcd_client::{DeleteOptions, PutOptions};

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    pub key: Vec<u8>,
    /// The revision the put made.
    pub revision: i64,
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub deleted: i64,
    /// The cluster's revision after the delete (a new one only if a key went).
    pub revision: i64,
}

fn label(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

/// Puts `value` under `key`, on `lease` when given.
pub async fn put(
    client: &etcd_client::Client,
    key: &[u8],
    value: &[u8],
    lease: Option<i64>,
) -> Result<Put, DataError> {
    if key.is_empty() {
        return Err(DataError::EmptyKey);
    }
    let options = lease.map(|id| PutOptions::new().with_lease(id));
    let answer = client
        .kv_client()
        .put(key.to_vec(), value.to_vec(), options)
        .await
        .map_err(|e| v3_failed("put", &label(key), 0, &e))?;
    Ok(Put {
        key: key.to_vec(),
        revision: answer.header().map(|h| h.revision()).unwrap_or(0),
    })
}

/// Deletes `key`, or with `prefix` every key starting with it (never the whole keyspace:
/// an empty key is refused).
pub async fn delete(
    client: &etcd_client::Client,
    key: &[u8],
    prefix: bool,
) -> Result<Deleted, DataError> {
    if key.is_empty() {
        return Err(DataError::EmptyKey);
    }
    let options = prefix.then(|| DeleteOptions::new().with_range(range_end(key)));
    let answer = client
        .kv_client()
        .delete(key.to_vec(), options)
        .await
        .map_err(|e| v3_failed("delete", &label(key), 0, &e))?;
    Ok(Deleted {
        deleted: answer.deleted(),
        revision: answer.header().map(|h| h.revision()).unwrap_or(0),
    })
}
