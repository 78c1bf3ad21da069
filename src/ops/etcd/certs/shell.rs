//! Running the `sh` scripts that call openssl on a host: the host's command time limit,
//! openssl missing told apart (exit 127), a failure reported with what it was doing and
//! the end of what openssl said. Keys never pass through these scripts' arguments.

use super::error::CertError;
use crate::inventory::Host;
use crate::transport::{command_timeout, CommandOutput, RunOptions, Transport};
use tokio_util::sync::CancellationToken;

/// The exit code of a script that found no `openssl` (as `sh` gives a missing command).
pub const NO_OPENSSL: i32 = 127;

/// `sh` that exits [`NO_OPENSSL`] when the host has no openssl.
pub fn need_openssl() -> String {
    format!("command -v openssl >/dev/null 2>&1 || exit {NO_OPENSSL}")
}

/// Runs `script` on `host`, with `stdin` if given; any exit other than 0 is an error that
/// names `what` it was doing and the CA `config` to check.
pub async fn run(
    host: &Host,
    transport: &Transport,
    script: &str,
    stdin: Option<Vec<u8>>,
    what: &str,
    config: &str,
    cancel: &CancellationToken,
) -> Result<CommandOutput, CertError> {
    let output = run_unchecked(host, transport, script, stdin, cancel).await?;
    if output.success() {
        return Ok(output);
    }
    Err(CertError::Openssl {
        host: host.name.clone(),
        what: what.to_string(),
        config: config.to_string(),
        stderr: tail(&output),
    })
}

/// Runs `script`, leaving the exit code to the caller except for a missing openssl.
pub async fn run_unchecked(
    host: &Host,
    transport: &Transport,
    script: &str,
    stdin: Option<Vec<u8>>,
    cancel: &CancellationToken,
) -> Result<CommandOutput, CertError> {
    let options = RunOptions {
        timeout: command_timeout(host)?,
        stdin,
    };
    let output = transport.run(script, &options, cancel).await?;
    if output.code == NO_OPENSSL {
        return Err(CertError::NoOpenssl {
            host: host.name.clone(),
        });
    }
    Ok(output)
}

/// The last lines of stderr without openssl's key-generation dots, or the exit code.
pub fn tail(output: &CommandOutput) -> String {
    let stderr = output.stderr_text();
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| matches!(c, '.' | '+' | '*' | '-')))
        .collect();
    let start = lines.len().saturating_sub(6);
    let text = lines[start..].join("; ");
    if text.is_empty() {
        format!("exit code {}", output.code)
    } else {
        text
    }
}
