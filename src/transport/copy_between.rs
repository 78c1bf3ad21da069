//! Copying one file from a host to another through runbook: hashed where it is, read
//! there in chunks and appended on the other host under a temporary name, hashed there,
//! and only then renamed into place. Memory stays bounded by one chunk; a copy cut short
//! is never the destination.

use super::{shell_quote, CommandOutput, RunOptions, Transport, TransportError};
use tokio_util::sync::CancellationToken;

/// How much of the file one read carries.
const CHUNK_BYTES: u64 = 16 << 20;

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    pub from_host: String,
    pub path: String,
    pub host: String,
    pub dest: String,
    pub bytes: u64,
    /// The SHA-256 both ends computed.
    pub sha256: String,
    /// The destination already held these very bytes: nothing was copied.
    pub already: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CopyError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
    #[error("{host}: {what} failed (exit {code}): {stderr}")]
    #[diagnostic(
        code(runbook::host::copy_failed),
        help("the copy was not put in place; check the path, the free space and the permissions on {host}, then run it again")
    )]
    Failed {
        host: String,
        what: String,
        code: i32,
        stderr: String,
    },
    #[error("{host}: {path} is not a regular file")]
    #[diagnostic(
        code(runbook::host::copy_source),
        help("copy_to copies one file; name the file itself (a directory can be packed first, e.g. `tar -czf`)")
    )]
    NotAFile { host: String, path: String },
    #[error("{host}: {dest} already exists and holds other bytes than {from_host}:{path}")]
    #[diagnostic(
        code(runbook::host::copy_exists),
        help("nothing was overwritten: choose another destination, or move {dest} aside on {host} if it is not needed")
    )]
    DestinationDiffers {
        host: String,
        dest: String,
        from_host: String,
        path: String,
    },
    #[error("{host}: the copy of {from_host}:{path} hashes to {got}, not {expected}")]
    #[diagnostic(
        code(runbook::host::copy_mismatch),
        help("the source changed while it was copied, or a write was lost; the copy was removed and nothing put in place: run it again")
    )]
    Mismatch {
        host: String,
        from_host: String,
        path: String,
        expected: String,
        got: String,
    },
}

async fn run_ok(
    transport: &Transport,
    what: &str,
    command: &str,
    stdin: Option<Vec<u8>>,
    cancel: &CancellationToken,
) -> Result<CommandOutput, CopyError> {
    let options = RunOptions {
        timeout: None,
        stdin,
    };
    let output = transport.run(command, &options, cancel).await?;
    if !output.success() {
        return Err(CopyError::Failed {
            host: transport.host_name().to_string(),
            what: what.to_string(),
            code: output.code,
            stderr: output.stderr_text().trim().to_string(),
        });
    }
    Ok(output)
}

/// `(size, sha256)` of the regular file at `path`, or `None` when there is none.
async fn size_and_hash(
    transport: &Transport,
    path: &str,
    cancel: &CancellationToken,
) -> Result<Option<(u64, String)>, CopyError> {
    let script = format!(
        "p={}; [ -e \"$p\" ] || exit 3; [ -f \"$p\" ] || exit 4; stat -c %s -- \"$p\" && sha256sum -- \"$p\"",
        shell_quote(path)
    );
    let output = transport
        .run(&script, &RunOptions::default(), cancel)
        .await?;
    let not_a_file = || CopyError::NotAFile {
        host: transport.host_name().to_string(),
        path: path.to_string(),
    };
    match output.code {
        3 => return Ok(None),
        4 => return Err(not_a_file()),
        0 => {}
        code => {
            return Err(CopyError::Failed {
                host: transport.host_name().to_string(),
                what: format!("hashing {path}"),
                code,
                stderr: output.stderr_text().trim().to_string(),
            })
        }
    }
    let text = output.stdout_text();
    let mut lines = text.lines();
    let size = lines.next().and_then(|l| l.trim().parse::<u64>().ok());
    let hash = lines
        .next()
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_string);
    match (size, hash) {
        (Some(size), Some(hash)) => Ok(Some((size, hash))),
        _ => Err(CopyError::Failed {
            host: transport.host_name().to_string(),
            what: format!("hashing {path}"),
            code: 0,
            stderr: format!("unexpected output: {text}"),
        }),
    }
}

/// Copies `path` on `source` to `dest` on `target` (mode 0600, its directory made if
/// missing). A destination with the same bytes is left as it is; one with other bytes is
/// refused. `progress(done, total)` follows the bytes.
pub async fn copy_between(
    source: &Transport,
    path: &str,
    target: &Transport,
    dest: &str,
    mut progress: impl FnMut(u64, u64),
    cancel: &CancellationToken,
) -> Result<Copied, CopyError> {
    let (size, sha256) =
        size_and_hash(source, path, cancel)
            .await?
            .ok_or_else(|| CopyError::Failed {
                host: source.host_name().to_string(),
                what: format!("reading {path}"),
                code: 1,
                stderr: "no such file".into(),
            })?;
    let copied = |already: bool| Copied {
        from_host: source.host_name().to_string(),
        path: path.to_string(),
        host: target.host_name().to_string(),
        dest: dest.to_string(),
        bytes: size,
        sha256: sha256.clone(),
        already,
    };
    match size_and_hash(target, dest, cancel).await {
        Ok(None) => {}
        Ok(Some((_, existing))) if existing == sha256 => return Ok(copied(true)),
        Ok(Some(_)) | Err(CopyError::NotAFile { .. }) => {
            return Err(CopyError::DestinationDiffers {
                host: target.host_name().to_string(),
                dest: dest.to_string(),
                from_host: source.host_name().to_string(),
                path: path.to_string(),
            })
        }
        Err(other) => return Err(other),
    }
    let work = format!("{dest}.runbook-copy");
    run_ok(
        target,
        &format!("creating {work}"),
        &format!(
            "f={}; mkdir -p -- \"$(dirname -- \"$f\")\" && : > \"$f\" && chmod 600 -- \"$f\"",
            shell_quote(&work)
        ),
        None,
        cancel,
    )
    .await?;
    let mut offset = 0u64;
    progress(0, size);
    while offset < size {
        let expected = CHUNK_BYTES.min(size - offset);
        let read = format!(
            "dd if={} iflag=skip_bytes,count_bytes skip={offset} count={expected} bs=1M status=none",
            shell_quote(path)
        );
        let chunk = run_ok(source, &format!("reading {path}"), &read, None, cancel).await?;
        let got = chunk.stdout.len() as u64;
        if got != expected {
            // The file shrank under the copy: the hash below would say so too, later.
            let _ = discard(target, &work, cancel).await;
            return Err(CopyError::Mismatch {
                host: target.host_name().to_string(),
                from_host: source.host_name().to_string(),
                path: path.to_string(),
                expected: sha256,
                got: format!("a short read at offset {offset} ({got} of {expected} bytes)"),
            });
        }
        run_ok(
            target,
            &format!("writing {work}"),
            &format!("cat >> {}", shell_quote(&work)),
            Some(chunk.stdout),
            cancel,
        )
        .await?;
        offset += expected;
        progress(offset, size);
    }
    let landed = size_and_hash(target, &work, cancel).await?;
    match landed {
        Some((_, got)) if got == sha256 => {}
        other => {
            let _ = discard(target, &work, cancel).await;
            return Err(CopyError::Mismatch {
                host: target.host_name().to_string(),
                from_host: source.host_name().to_string(),
                path: path.to_string(),
                expected: sha256,
                got: other.map(|(_, h)| h).unwrap_or_else(|| "nothing".into()),
            });
        }
    }
    run_ok(
        target,
        &format!("renaming {work} to {dest}"),
        &format!(
            "sync -- {w} 2>/dev/null || sync; mv -f -- {w} {d}",
            w = shell_quote(&work),
            d = shell_quote(dest)
        ),
        None,
        cancel,
    )
    .await?;
    Ok(copied(false))
}

async fn discard(
    target: &Transport,
    work: &str,
    cancel: &CancellationToken,
) -> Result<(), CopyError> {
    run_ok(
        target,
        &format!("removing {work}"),
        &format!("rm -f -- {}", shell_quote(work)),
        None,
        cancel,
    )
    .await
    .map(|_| ())
}
