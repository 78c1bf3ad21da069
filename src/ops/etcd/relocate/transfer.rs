//! Copying a verified backup's `member` directory into another host's data dir, through
//! runbook: the backup is re-hashed against its manifest where it is, each file is read
//! there in chunks and appended on the other host, and the copy is hashed there against the
//! same manifest before it is renamed to `member`. Nothing passes through a third machine,
//! and a half-done copy is only ever the working directory, never `member`.

use crate::ops::etcd::backup::manifest::{self, Discrepancy, FileEntry, ManifestError};
use crate::ops::etcd::backup::verify::{self as backup_verify, VerifyError};
use crate::ops::etcd::backup::working_copy::WORKING_COPY;
use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::report::Reporter;
use crate::transport::{shell_quote, RunOptions, Transport};
use tokio_util::sync::CancellationToken;

/// How much of a file one read carries: bounded memory, few round trips.
const CHUNK_BYTES: u64 = 16 << 20;

/// What a transfer did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transferred {
    pub from_host: String,
    pub backup: String,
    pub host: String,
    /// The `member` directory now in the target's data dir.
    pub member_dir: String,
    pub files: u64,
    pub bytes: u64,
    /// The target already held this very copy (a resumed run): nothing was copied.
    pub already: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TransferError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    File(#[from] crate::transport::files::FileError),
    #[error("{host}: {member_dir} already holds etcd data, and not the data of {backup}")]
    #[diagnostic(
        code(runbook::etcd::transfer::target_has_data),
        help("the copy goes into an empty data dir only: if that data is not needed, move {member_dir} aside on {host} (it is never overwritten), or name another host")
    )]
    TargetHasData {
        host: String,
        member_dir: String,
        backup: String,
    },
    #[error(
        "{host}: reading {path} from {backup} gave {got} bytes at offset {offset}, not {expected}"
    )]
    #[diagnostic(
        code(runbook::etcd::transfer::short_read),
        help("the backup changed while it was copied; nothing was put in place: verify it (etcd.verify_backup) and copy again")
    )]
    ShortRead {
        host: String,
        backup: String,
        path: String,
        offset: u64,
        expected: u64,
        got: u64,
    },
    #[error("{host}: the copy of {backup} in {dir} does not match its manifest: {problems}")]
    #[diagnostic(
        code(runbook::etcd::transfer::mismatch),
        help("the copy was left in {dir} and not put in place; run the step again (it starts the copy afresh)")
    )]
    Mismatch {
        host: String,
        backup: String,
        dir: String,
        problems: String,
    },
}

/// The manifest's files under `member/`, with paths relative to it.
fn member_files(files: &[FileEntry]) -> Vec<FileEntry> {
    files
        .iter()
        .filter_map(|f| {
            f.path.strip_prefix("member/").map(|rest| FileEntry {
                path: rest.to_string(),
                ..f.clone()
            })
        })
        .collect()
}

fn describe(problems: &[Discrepancy]) -> String {
    let mut text: Vec<String> = problems.iter().take(5).map(|p| p.to_string()).collect();
    if problems.len() > 5 {
        text.push(format!("and {} more", problems.len() - 5));
    }
    text.join("; ")
}

/// Copies the `member` directory of the verified backup `backup` on `source` into
/// `data_dir` on `target`. Other data found there is refused, or with `aside` (a stamp)
/// moved to `member.old.<stamp>` first: never deleted.
pub async fn transfer_backup(
    source: &Transport,
    backup: &str,
    target: &Transport,
    data_dir: &str,
    aside: Option<&str>,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Transferred, TransferError> {
    let (manifest, _) = backup_verify::verify_backup(source, backup, cancel).await?;
    let wanted = member_files(&manifest.files);
    let data_dir = data_dir.trim_end_matches('/').to_string();
    let member_dir = format!("{data_dir}/member");
    let done = |already: bool| Transferred {
        from_host: source.host_name().to_string(),
        backup: backup.to_string(),
        host: target.host_name().to_string(),
        member_dir: member_dir.clone(),
        files: wanted.len() as u64,
        bytes: wanted.iter().map(|f| f.size).sum(),
        already,
    };
    if target.path_exists(&member_dir, cancel).await? {
        let present = manifest::hash_tree(target, &member_dir, cancel).await?;
        if manifest::compare(&wanted, &present).is_empty() {
            return Ok(done(true));
        }
        let Some(stamp) = aside else {
            return Err(TransferError::TargetHasData {
                host: target.host_name().to_string(),
                member_dir,
                backup: backup.to_string(),
            });
        };
        let kept = format!("{member_dir}.old.{stamp}");
        host_step::run_ok(
            target,
            "moving the data there aside",
            &format!("mv -- {} {}", shell_quote(&member_dir), shell_quote(&kept)),
            cancel,
        )
        .await?;
        reporter.status(&format!(
            "{}: the data in {member_dir} moved aside to {kept}",
            target.host_name()
        ));
    }
    let work = format!("{data_dir}/{WORKING_COPY}");
    // A working dir is only ever an interrupted copy of this step: start it afresh.
    host_step::run_ok(
        target,
        "preparing the copy",
        &format!(
            "d={}; w={}; mkdir -p -- \"$d\" && chmod 700 -- \"$d\" && rm -rf -- \"$w\" && mkdir -m 700 -- \"$w\"",
            shell_quote(&data_dir),
            shell_quote(&work)
        ),
        cancel,
    )
    .await?;
    let total: u64 = wanted.iter().map(|f| f.size).sum();
    let mut copied = 0u64;
    for file in &wanted {
        copy_file(source, backup, target, &work, file, cancel).await?;
        copied += file.size;
        reporter.progress(
            &format!("copying {backup} to {}", target.host_name()),
            copied,
            total,
        );
    }
    let present = manifest::hash_tree(target, &work, cancel).await?;
    let problems = manifest::compare(&wanted, &present);
    if !problems.is_empty() {
        return Err(TransferError::Mismatch {
            host: target.host_name().to_string(),
            backup: backup.to_string(),
            dir: work,
            problems: describe(&problems),
        });
    }
    // The data dir's owner (the etcd user of a package install) owns the copy too.
    host_step::run_ok(
        target,
        "putting the copy in place",
        &format!(
            "d={}; w={}; chown -R --reference=\"$d\" -- \"$w\" 2>/dev/null; chmod -R go-rwx -- \"$w\" && sync && mv -- \"$w\" \"$d/member\" && sync",
            shell_quote(&data_dir),
            shell_quote(&work)
        ),
        cancel,
    )
    .await?;
    Ok(done(false))
}

/// Copies one file chunk by chunk, appending on the target.
async fn copy_file(
    source: &Transport,
    backup: &str,
    target: &Transport,
    work: &str,
    file: &FileEntry,
    cancel: &CancellationToken,
) -> Result<(), TransferError> {
    let from = format!("{}/member/{}", backup.trim_end_matches('/'), file.path);
    let to = format!("{work}/{}", file.path);
    host_step::run_ok(
        target,
        "creating a file of the copy",
        &format!(
            "f={}; mkdir -p -- \"$(dirname -- \"$f\")\" && : > \"$f\" && chmod 600 -- \"$f\"",
            shell_quote(&to)
        ),
        cancel,
    )
    .await?;
    let mut offset = 0u64;
    while offset < file.size {
        let expected = CHUNK_BYTES.min(file.size - offset);
        let read = format!(
            "dd if={} iflag=skip_bytes,count_bytes skip={offset} count={expected} bs=1M status=none",
            shell_quote(&from)
        );
        let chunk = host_step::run_ok(source, "reading the backup", &read, cancel).await?;
        let got = chunk.stdout.len() as u64;
        if got != expected {
            return Err(TransferError::ShortRead {
                host: source.host_name().to_string(),
                backup: backup.to_string(),
                path: from,
                offset,
                expected,
                got,
            });
        }
        let options = RunOptions {
            timeout: None,
            stdin: Some(chunk.stdout),
        };
        let output = target
            .run(&format!("cat >> {}", shell_quote(&to)), &options, cancel)
            .await
            .map_err(StepError::from)?;
        if !output.success() {
            return Err(StepError::failed(target.host_name(), "writing the copy", &output).into());
        }
        offset += expected;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_member_directory_is_copied() {
        let entry = |path: &str| FileEntry {
            path: path.to_string(),
            size: 1,
            sha256: "0".repeat(64),
        };
        let files = vec![
            entry("member/snap/db"),
            entry("member/wal/0000000000000000-0000000000000000.wal"),
            entry("notes.txt"),
        ];
        let paths: Vec<String> = member_files(&files).into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            ["snap/db", "wal/0000000000000000-0000000000000000.wal"]
        );
    }
}
