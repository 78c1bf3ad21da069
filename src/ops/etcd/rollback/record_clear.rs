//! Moving a member's migration record aside after a rollback, once the cluster it
//! serves holds no v3 data any more: the record guards against a second migration
//! overwriting v3 data, so it goes only when there is none left to overwrite.

use crate::ops::etcd::client::access::{AccessError, EtcdAccess};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::client::v3;
use crate::ops::etcd::host::member_host::stamp;
use crate::ops::etcd::migrate::record::{self as migration_record, RecordError};
use crate::transport::Transport;
use tokio_util::sync::CancellationToken;

/// Why a record was kept.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ClearError {
    #[error("{host}: cannot count the v3 keys its etcd serves: {source}")]
    #[diagnostic(
        code(runbook::etcd::record::not_serving),
        help("the record is moved aside only once the member serves the restored cluster: restore the first member, start it as a new cluster (etcd.force_new_cluster) and join {host} (etcd.join) first")
    )]
    NotServing {
        host: String,
        #[source]
        source: Box<AccessError>,
    },
    #[error("{host}: the cluster still holds {count} v3 key(s) (counted through {host}), so its migration record stays")]
    #[diagnostic(
        code(runbook::etcd::record::v3_data),
        help("the record keeps a new migration from overwriting v3 data: restore the pre-migration backups first (runbooks/rollback.rhai)")
    )]
    V3Data { host: String, count: u64 },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Record(#[from] RecordError),
}

/// Moves `member`'s record to `<record>.rolled-back.<stamp>` if the cluster, seen
/// through that member's running etcd, has no v3 keys. Returns where it went.
pub async fn clear_record(
    access: &EtcdAccess,
    transport: &Transport,
    member: &EtcdMember,
    cancel: &CancellationToken,
) -> Result<Option<String>, ClearError> {
    let not_serving = |source: AccessError| ClearError::NotServing {
        host: member.host_name().to_string(),
        source: Box::new(source),
    };
    let mut client = access.v3_member(member).await.map_err(not_serving)?;
    let endpoints = [member.endpoint.client_url.clone()];
    let count = v3::count_keys(&mut client, &endpoints)
        .await
        .map_err(|e| not_serving(e.into()))?;
    if count != 0 {
        return Err(ClearError::V3Data {
            host: member.host_name().to_string(),
            count,
        });
    }
    Ok(migration_record::move_aside(transport, member, &stamp(), cancel).await?)
}
