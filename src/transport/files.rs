//! File operations on a host, built on shell commands so local and ssh hosts
//! behave alike: read, atomic write (temp file + rename, mode kept), exists.

use super::{shell_quote, CommandOutput, RunOptions, Transport, TransportError};
use tokio_util::sync::CancellationToken;

/// Exit code the read snippet uses for "no such file", distinct from `cat`'s 1.
const NOT_FOUND: i32 = 44;

/// Why a file operation failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FileError {
    #[error("{path} does not exist on {host}")]
    #[diagnostic(
        code(runbook::file::not_found),
        help("check the path, or the inventory variable it came from")
    )]
    NotFound { host: String, path: String },
    #[error("cannot {operation} {path} on {host}: {stderr}")]
    #[diagnostic(
        code(runbook::file::failed),
        help("check that the directory exists on {host} and that the connecting user may {operation} {path}")
    )]
    Failed {
        host: String,
        path: String,
        operation: &'static str,
        stderr: String,
    },
    #[error("cannot {operation} {path} on {host}: permission denied ({stderr})")]
    #[diagnostic(code(runbook::file::permission), help("{help}"))]
    PermissionDenied {
        host: String,
        path: String,
        operation: &'static str,
        stderr: String,
        help: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
}

impl FileError {
    /// Whether this says how the host is set up (who runs the commands there), not
    /// something about the file's contents: see [`TransportError::is_setup_problem`].
    pub fn is_setup_problem(&self) -> bool {
        match self {
            FileError::PermissionDenied { .. } => true,
            FileError::Transport(error) => error.is_setup_problem(),
            FileError::NotFound { .. } | FileError::Failed { .. } => false,
        }
    }
}

/// `sh` that says why `$p` cannot be seen, if it is a permission (a directory on the way
/// the user may not search), and exits `code` then: `[ -e ]` alone cannot tell that from
/// a missing file.
fn unless_denied(code: i32) -> String {
    format!(
        "e=$(LC_ALL=C stat -- \"$p\" 2>&1 >/dev/null); case $e in *'Permission denied'*) echo \"$e\" >&2; exit {code};; esac"
    )
}

/// `sh` that prints the file at `$p`, or exits [`NOT_FOUND`] if there is none.
fn read_script(path: &str) -> String {
    format!(
        "p={}; [ -e \"$p\" ] || {{ {}; exit {NOT_FOUND}; }}; exec cat -- \"$p\"",
        shell_quote(path),
        unless_denied(1)
    )
}

/// `sh` that replaces the file at `$p` with its stdin atomically.
///
/// The temp file lives in the target's directory so the final `mv` is a
/// rename(2) on one filesystem; a symlink is followed so its target is
/// replaced, not the link. Mode (and, where permitted, owner) of an existing
/// file are copied onto the temp file before the rename; a new file gets 0644.
/// With `mode`, the file gets that mode instead, whatever it had.
fn write_script(path: &str, mode: Option<u32>) -> String {
    // mktemp creates the temp file 0600, so a private file is never readable by others.
    let keep_or_default = match mode {
        Some(mode) => format!("chmod {mode:04o} -- \"$tmp\""),
        None => "if [ -e \"$p\" ]; then\n  chmod --reference=\"$p\" -- \"$tmp\"\nelse\n  chmod 0644 -- \"$tmp\"\nfi".to_string(),
    };
    format!(
        r#"set -e
p={path}
if [ -L "$p" ]; then
  t=$(readlink -f -- "$p"; echo .); t=${{t%.}}; t=${{t%?}}
  [ -n "$t" ] || {{ echo "cannot resolve the symlink $p" >&2; exit 1; }}
  p=$t
fi
d=$(dirname -- "$p"; echo .); d=${{d%??}}
b=$(basename -- "$p"; echo .); b=${{b%??}}
tmp=$(mktemp -- "$d/.$b.runbook-XXXXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
{keep_or_default}
[ ! -e "$p" ] || chown --reference="$p" -- "$tmp" 2>/dev/null || true
sync -- "$tmp" 2>/dev/null || sync
mv -f -- "$tmp" "$p"
trap - EXIT
sync -- "$d" 2>/dev/null || true
"#,
        path = shell_quote(path)
    )
}

/// `sh` that exits 0 if `$p` exists (file, directory or anything else), 1 if not, 2 if the
/// user may not look.
fn exists_script(path: &str) -> String {
    format!(
        "p={}; [ -e \"$p\" ] && exit 0; {}; exit 1",
        shell_quote(path),
        unless_denied(2)
    )
}

impl Transport {
    /// Reads a whole file.
    pub async fn read_file(
        &self,
        path: &str,
        cancel: &CancellationToken,
    ) -> Result<Vec<u8>, FileError> {
        let output = self
            .run(&read_script(path), &RunOptions::default(), cancel)
            .await?;
        match output.code {
            0 => Ok(output.stdout),
            NOT_FOUND => Err(FileError::NotFound {
                host: self.host_name().to_string(),
                path: path.to_string(),
            }),
            _ => Err(self.failed(path, "read", &output)),
        }
    }

    /// Writes a whole file atomically: a temp file in the same directory,
    /// then rename. An existing file's mode is kept; a new file gets 0644.
    pub async fn write_file(
        &self,
        path: &str,
        data: &[u8],
        cancel: &CancellationToken,
    ) -> Result<(), FileError> {
        self.write_with_mode(path, data, None, cancel).await
    }

    /// Like [`Transport::write_file`], but the file is owner-only (0600) from
    /// the start, whatever mode a file it replaces had: backups, records, copies.
    pub async fn write_private_file(
        &self,
        path: &str,
        data: &[u8],
        cancel: &CancellationToken,
    ) -> Result<(), FileError> {
        self.write_with_mode(path, data, Some(0o600), cancel).await
    }

    async fn write_with_mode(
        &self,
        path: &str,
        data: &[u8],
        mode: Option<u32>,
        cancel: &CancellationToken,
    ) -> Result<(), FileError> {
        let options = RunOptions {
            timeout: None,
            stdin: Some(data.to_vec()),
        };
        let output = self
            .run(&write_script(path, mode), &options, cancel)
            .await?;
        if output.success() {
            Ok(())
        } else {
            Err(self.failed(path, "write", &output))
        }
    }

    /// A whole file's bytes, or `None` when there is no such file.
    pub async fn read_existing(
        &self,
        path: &str,
        cancel: &CancellationToken,
    ) -> Result<Option<Vec<u8>>, FileError> {
        match self.read_file(path, cancel).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(FileError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `base`, or `base.1`, `base.2`, ... whichever does not exist yet: where a copy goes
    /// that must never overwrite an earlier one.
    pub async fn free_name(
        &self,
        base: &str,
        cancel: &CancellationToken,
    ) -> Result<String, FileError> {
        let mut candidate = base.to_string();
        let mut n = 0;
        while self.path_exists(&candidate, cancel).await? {
            n += 1;
            candidate = format!("{base}.{n}");
        }
        Ok(candidate)
    }

    /// Whether a path (file or directory) exists.
    pub async fn path_exists(
        &self,
        path: &str,
        cancel: &CancellationToken,
    ) -> Result<bool, FileError> {
        let output = self
            .run(&exists_script(path), &RunOptions::default(), cancel)
            .await?;
        match output.code {
            0 => Ok(true),
            1 => Ok(false),
            _ => Err(self.failed(path, "check", &output)),
        }
    }

    fn failed(&self, path: &str, operation: &'static str, output: &CommandOutput) -> FileError {
        let stderr = output.stderr_text().trim().to_string();
        if stderr.contains("Permission denied") || stderr.contains("Operation not permitted") {
            let host = self.host_name();
            let (who, instead) = match self {
                Transport::Local(_) => ("runbook's user", "run runbook as a user who may"),
                Transport::Ssh(_) => ("the login user", "log in as a user who may (ansible_user)"),
            };
            let help = match self.escalation() {
                None => format!(
                    "{who} may not {operation} {path} on {host}: set ansible_become=true for {host} so that runbook's commands there run through sudo as root (with a sudoers rule for {who}, and ansible_become_pass if sudo asks for a password), or {instead}"
                ),
                Some(escalation) => format!(
                    "{user} (ansible_become_user) may not {operation} {path} on {host}: become a user who may (root, the default, unless ansible_become_user is set)",
                    user = escalation.user
                ),
            };
            return FileError::PermissionDenied {
                host: host.to_string(),
                path: path.to_string(),
                operation,
                stderr,
                help,
            };
        }
        FileError::Failed {
            host: self.host_name().to_string(),
            path: path.to_string(),
            operation,
            stderr: if stderr.is_empty() {
                format!("exit code {}", output.code)
            } else {
                stderr
            },
        }
    }
}
