//! One step of an operation run as a shell snippet on a member's host, with an
//! error that names the host, the step and what the command said.

use crate::transport::{CommandOutput, RunOptions, Transport, TransportError};
use tokio_util::sync::CancellationToken;

/// Why a step could not be carried out on a host.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StepError {
    #[error("{host}: {step} failed (exit {code}): {detail}")]
    #[diagnostic(
        code(runbook::etcd::host_step),
        help("the command ran on {host}; check its message above, the paths in the inventory (etcd_data_dir) and that the connecting user may read and write there")
    )]
    Failed {
        host: String,
        step: String,
        code: i32,
        detail: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
}

impl StepError {
    /// The error for a command that exited non-zero.
    pub fn failed(host: &str, step: &str, output: &CommandOutput) -> StepError {
        StepError::Failed {
            host: host.to_string(),
            step: step.to_string(),
            code: output.code,
            detail: output_detail(output),
        }
    }
}

/// The command's stderr, else its stdout, trimmed and shortened for a message.
pub fn output_detail(output: &CommandOutput) -> String {
    let stderr = output.stderr_text();
    let text = if stderr.trim().is_empty() {
        output.stdout_text()
    } else {
        stderr
    };
    tail(&text)
}

/// The last 2000 characters of a command's output, trimmed (the end says why it stopped).
pub fn tail(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "no output".to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    if chars.len() > 2000 {
        let end: String = chars[chars.len() - 2000..].iter().collect();
        format!("...{end}")
    } else {
        text.to_string()
    }
}

/// Runs `script` with `sh -c`; any exit code comes back in the output.
pub async fn run(
    transport: &Transport,
    script: &str,
    options: &RunOptions,
    cancel: &CancellationToken,
) -> Result<CommandOutput, StepError> {
    Ok(transport.run(script, options, cancel).await?)
}

/// Runs `script`, which must exit 0.
pub async fn run_ok(
    transport: &Transport,
    step: &str,
    script: &str,
    cancel: &CancellationToken,
) -> Result<CommandOutput, StepError> {
    let output = run(transport, script, &RunOptions::default(), cancel).await?;
    if output.success() {
        Ok(output)
    } else {
        Err(StepError::failed(transport.host_name(), step, &output))
    }
}

/// An error's message followed by its causes, for a one-line report.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let next = inner.to_string();
        // Transparent wrappers repeat their source's message.
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = inner.source();
    }
    text
}
