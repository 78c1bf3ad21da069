//! Reading a v2 store from a `member` directory on a host (a data dir's, or a backup's):
//! the names in `snap/` and `wal/`, every WAL segment, then snapshot files newest first until
//! one decodes and is named by the WAL, as etcd 3.4 chooses. Files are only read. A file
//! that goes away while a running member is read (etcd purges old ones) makes it start over.

use super::snap_file::{self, SnapError, Snapshot};
use super::wal::{self, Segment, WalError};
use super::{leaves, replay, tree::Tree, ReplayStats, V2Store};
use crate::transport::files::FileError;
use crate::transport::{shell_quote, RunOptions, Transport};
use tokio_util::sync::CancellationToken;

/// Exit code of the listing when `snap/` or `wal/` is missing.
const NOT_A_MEMBER_DIR: i32 = 44;
/// Reads of a running member that may meet a purged file.
const ATTEMPTS: usize = 3;

/// Why a v2 store could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum V2StoreError {
    #[error("{host}: {dir} is not an etcd member directory (no snap/ and wal/ in it)")]
    #[diagnostic(
        code(runbook::etcd::v2store::not_member_dir),
        help("point at the `member` directory of an etcd 3.x data dir or backup (etcd_data_dir in the inventory + /member)")
    )]
    NotMemberDir { host: String, dir: String },
    #[error("{host}: the WAL in {dir}/wal cannot be read: {source}")]
    #[diagnostic(
        code(runbook::etcd::v2store::wal),
        help("etcd itself would refuse this data dir; keep it as it is, and restore the member from its backup if it is the one to migrate")
    )]
    Wal {
        host: String,
        dir: String,
        #[source]
        source: WalError,
    },
    #[error("{host}: no snapshot in {dir}/snap is usable: {detail}")]
    #[diagnostic(
        code(runbook::etcd::v2store::snapshot),
        help("etcd starts from the newest snapshot file that decodes and that its WAL names; none here does, so etcd would not start on this data dir either")
    )]
    Snapshot {
        host: String,
        dir: String,
        detail: String,
    },
    #[error("{host}: replaying the WAL of {dir} failed at {source}")]
    #[diagnostic(
        code(runbook::etcd::v2store::replay),
        help("the entry is not one etcd 3.4 writes for the v2 store; the data dir was not changed. Report the entry with `etcd-dump-logs --data-dir` output")
    )]
    Replay {
        host: String,
        dir: String,
        #[source]
        source: replay::ReplayError,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    File(#[from] FileError),
    #[error("{host}: listing the etcd files in {dir} failed (exit {code}): {detail}")]
    #[diagnostic(
        code(runbook::etcd::v2store::listing),
        help("the files are read as the connecting user: check that it may read {dir} on {host}")
    )]
    Listing {
        host: String,
        dir: String,
        code: i32,
        detail: String,
    },
}

/// The names in `<dir>/snap` and `<dir>/wal`.
struct Listing {
    snaps: Vec<String>,
    wals: Vec<String>,
}

async fn list(
    transport: &Transport,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<Listing, V2StoreError> {
    let script = format!(
        r#"d={dir}
[ -d "$d/snap" ] && [ -d "$d/wal" ] || exit {NOT_A_MEMBER_DIR}
for f in "$d"/snap/*.snap; do [ -f "$f" ] && printf 'snap %s\n' "${{f##*/}}"; done
for f in "$d"/wal/*.wal; do [ -f "$f" ] && printf 'wal %s\n' "${{f##*/}}"; done
exit 0"#,
        dir = shell_quote(dir)
    );
    let output = transport
        .run(&script, &RunOptions::default(), cancel)
        .await
        .map_err(FileError::from)?;
    if output.code == NOT_A_MEMBER_DIR {
        return Err(V2StoreError::NotMemberDir {
            host: transport.host_name().to_string(),
            dir: dir.to_string(),
        });
    }
    if !output.success() {
        let stderr = output.stderr_text();
        return Err(V2StoreError::Listing {
            host: transport.host_name().to_string(),
            dir: dir.to_string(),
            code: output.code,
            detail: stderr.trim().to_string(),
        });
    }
    let mut listing = Listing {
        snaps: Vec::new(),
        wals: Vec::new(),
    };
    for line in output.stdout_text().lines() {
        if let Some(name) = line.strip_prefix("snap ") {
            listing.snaps.push(name.to_string());
        } else if let Some(name) = line.strip_prefix("wal ") {
            listing.wals.push(name.to_string());
        }
    }
    Ok(listing)
}

/// Reads the v2 store of the member directory `dir` (`.../member`) on `transport`'s host.
pub async fn read_member_dir(
    transport: &Transport,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<V2Store, V2StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match read_once(transport, dir, cancel).await {
            Err(V2StoreError::File(FileError::NotFound { .. })) if attempt < ATTEMPTS => continue,
            other => return other,
        }
    }
}

async fn read_once(
    transport: &Transport,
    dir: &str,
    cancel: &CancellationToken,
) -> Result<V2Store, V2StoreError> {
    let host = transport.host_name().to_string();
    let dir = dir.trim_end_matches('/').to_string();
    let started = std::time::Instant::now();
    let listing = list(transport, &dir, cancel).await?;
    let mut segments = Vec::with_capacity(listing.wals.len());
    for name in listing.wals.iter().filter(|n| wal::parse_name(n).is_some()) {
        let bytes = transport
            .read_file(&format!("{dir}/wal/{name}"), cancel)
            .await?;
        segments.push(Segment {
            name: name.clone(),
            bytes,
        });
    }
    let wal_error = |source| V2StoreError::Wal {
        host: host.clone(),
        dir: dir.clone(),
        source,
    };
    let wal_read = started.elapsed();
    let named = wal::valid_snapshots(&segments).map_err(wal_error)?;

    let mut tried = Vec::new();
    let mut snapshot: Option<Snapshot> = None;
    for name in snap_file::newest_first(&listing.snaps) {
        let bytes = transport
            .read_file(&format!("{dir}/snap/{name}"), cancel)
            .await?;
        match snap_file::decode(&name, bytes.into()) {
            Ok(found) if snap_file::named_by(&found, &named) => {
                snapshot = Some(found);
                break;
            }
            Ok(_) => tried.push(format!("{name} is not named by the WAL")),
            Err(error) => tried.push(error.to_string()),
        }
    }
    if snapshot.is_none() && !listing.snaps.is_empty() && named.iter().all(|s| s.index != 0) {
        return Err(V2StoreError::Snapshot {
            host,
            dir,
            detail: tried.join("; "),
        });
    }
    let snapshot_read = started.elapsed();
    let store = assemble(&host, &dir, snapshot, segments);
    tracing::debug!(
        host = %host,
        dir = %dir,
        wal_read_s = wal_read.as_secs_f64(),
        snapshot_read_s = (snapshot_read - wal_read).as_secs_f64(),
        assembled_s = (started.elapsed() - snapshot_read).as_secs_f64(),
        "v2 store read from the files"
    );
    store
}

/// The store from a chosen snapshot (or none: an empty store at index 0) and the WAL.
pub fn assemble(
    host: &str,
    dir: &str,
    snapshot: Option<Snapshot>,
    segments: Vec<Segment>,
) -> Result<V2Store, V2StoreError> {
    let (start_index, start_term) = snapshot.as_ref().map_or((0, 0), |s| (s.index, s.term));
    let mut tree = match &snapshot {
        Some(found) => snap_file::store(found).map_err(|e: SnapError| V2StoreError::Snapshot {
            host: host.to_string(),
            dir: dir.to_string(),
            detail: e.to_string(),
        })?,
        None => Tree::new(),
    };
    let wal_error = |source| V2StoreError::Wal {
        host: host.to_string(),
        dir: dir.to_string(),
        source,
    };
    let tree_built = std::time::Instant::now();
    let selected = wal::select(segments, start_index).map_err(wal_error)?;
    let contents = wal::read_all(&selected, start_index, start_term).map_err(wal_error)?;
    drop(selected);
    let stats: ReplayStats =
        replay::replay(&mut tree, &contents.entries).map_err(|source| V2StoreError::Replay {
            host: host.to_string(),
            dir: dir.to_string(),
            source,
        })?;
    let last_index = contents.entries.last().map_or(start_index, |e| e.index);
    let store_index = tree.index;
    let replayed = std::time::Instant::now();
    let leaves = leaves::collect(tree);
    tracing::debug!(
        host = %host,
        wal_and_replay_s = (replayed - tree_built).as_secs_f64(),
        leaves_s = replayed.elapsed().as_secs_f64(),
        entries = contents.entries.len(),
        "v2 store assembled"
    );
    Ok(V2Store {
        source: format!("{host}:{dir}"),
        snapshot: snapshot.map(|s| s.name),
        snapshot_index: start_index,
        last_index,
        store_index,
        replay: stats,
        leaves,
    })
}
