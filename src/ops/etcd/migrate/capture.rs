//! The v2 store as `etcdctl migrate` is about to read it, kept for what comes after. Before
//! the migration, the stopped member's snapshot and WAL are read and then copied beside its
//! data, into `<data_dir>/runbook-v2-store/member/{snap,wal}` (owner-only). Once etcd starts
//! on the migrated data its own files move on (new entries, new snapshots, expired keys), so
//! `etcd.verify`, `etcd.migrate_missing` and `lease.restore_ttls` read this copy instead,
//! in the same run or in a resumed one. When the member's backup is already its stopped data
//! dir, verified (the files moved there, or copied), that backup is read and kept as the
//! copy: no second copy is made.

use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::ops::etcd::v2store::source::{read_member_dir, V2StoreError};
use crate::ops::etcd::v2store::V2Store;
use crate::transport::{shell_quote, RunOptions, Transport};
use tokio_util::sync::CancellationToken;

/// The directory, inside the data dir, that holds the copy.
pub const CAPTURE_DIR: &str = "runbook-v2-store";

/// Why the store could not be kept.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CaptureError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Read(#[from] V2StoreError),
    #[error("{host}: cannot copy the v2 store's files into {dir}: {detail}")]
    #[diagnostic(
        code(runbook::etcd::v2store::capture),
        help("the migration keeps a copy of the snapshot and WAL it migrates (about the size of member/snap/*.snap plus member/wal); free space in {dir}'s filesystem (`df`), or make it writable, then run the step again: nothing was migrated")
    )]
    Copy {
        host: String,
        dir: String,
        detail: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
}

/// Where a member's copy lives.
pub fn capture_dir(member: &EtcdMember) -> String {
    format!("{}/{CAPTURE_DIR}", member.data_dir.trim_end_matches('/'))
}

/// The `member` directory inside a copy, which [`read_member_dir`] reads.
pub fn member_dir_of(capture: &str) -> String {
    format!("{}/member", capture.trim_end_matches('/'))
}

/// Reads the store of `member`'s (stopped) data dir and copies the files it came from into
/// [`capture_dir`], replacing an earlier copy; or, given `stopped_copy` (a verified backup made
/// of the stopped data dir), reads that backup and keeps it as the copy. Returns the
/// copy's directory and the store.
pub async fn capture(
    transport: &Transport,
    member: &EtcdMember,
    stopped_copy: Option<&str>,
    cancel: &CancellationToken,
) -> Result<(String, V2Store), CaptureError> {
    if let Some(backup) = stopped_copy {
        let store = read_member_dir(transport, &member_dir_of(backup), cancel).await?;
        return Ok((backup.trim_end_matches('/').to_string(), store));
    }
    let data_dir = member.data_dir.trim_end_matches('/');
    let store = read_member_dir(transport, &format!("{data_dir}/member"), cancel).await?;
    let dir = capture_dir(member);
    let snapshot = match &store.snapshot {
        Some(name) => format!(
            "cp -p -- \"$d/member/snap/\"{} \"$t/member/snap/\" || exit 11",
            shell_quote(name)
        ),
        None => String::new(),
    };
    // A new copy is made beside the old one and swapped in, so a failure leaves the old.
    let script = format!(
        r#"umask 077
d={data_dir}; c={dir}
t=$(mktemp -d "$d/.{CAPTURE_DIR}.XXXXXX") || exit 10
trap 'rm -rf -- "$t"' EXIT
mkdir -p -- "$t/member/snap" "$t/member/wal" || exit 11
{snapshot}
for f in "$d"/member/wal/*.wal; do [ -f "$f" ] || continue; cp -p -- "$f" "$t/member/wal/" || exit 11; done
sync -- "$t"/member/snap/* "$t"/member/wal/* 2>/dev/null || sync
if [ -e "$c" ]; then rm -rf -- "$c" || exit 12; fi
mv -- "$t" "$c" || exit 12
trap - EXIT
exit 0"#,
        data_dir = shell_quote(data_dir),
        dir = shell_quote(&dir),
    );
    let output = host_step::run(transport, &script, &RunOptions::default(), cancel).await?;
    if !output.success() {
        return Err(CaptureError::Copy {
            host: transport.host_name().to_string(),
            dir,
            detail: host_step::output_detail(&output),
        });
    }
    Ok((dir, store))
}
