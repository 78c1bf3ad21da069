//! `Host` in Rhai: run commands, read and write files, control services on one inventory host.

use super::error::{to_rhai, ScriptError};
use super::options::Options;
use super::service::ScriptService;
use crate::inventory::Host;
use crate::script::context::RunContext;
use crate::transport::run_all::run_all;
use crate::transport::secret::{is_secret_variable, HIDDEN};
use crate::transport::target::command_timeout;
use crate::transport::{CommandOutput, RunOptions};
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde::Serialize;
use std::sync::Arc;

/// One inventory host as a script sees it.
#[derive(Clone)]
pub struct ScriptHost {
    pub host: Arc<Host>,
    pub ctx: Arc<RunContext>,
}

/// A command that exited non-zero, where the script asked it to succeed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("command failed on {host} (exit {code}): `{command}`{stderr_part}")]
#[diagnostic(
    code(runbook::host::command_failed),
    help("the command ran on {host} and exited {code}; use `try_run` to inspect the result instead of failing")
)]
pub struct CommandFailed {
    pub host: String,
    pub command: String,
    pub code: i32,
    stderr_part: String,
}

impl CommandFailed {
    pub fn new(host: &str, command: &str, output: &CommandOutput) -> CommandFailed {
        let stderr = output.stderr_text();
        let stderr = stderr.trim();
        CommandFailed {
            host: host.to_string(),
            command: command.to_string(),
            code: output.code,
            stderr_part: if stderr.is_empty() {
                String::new()
            } else {
                format!("\nstderr: {stderr}")
            },
        }
    }
}

impl ScriptHost {
    pub fn new(host: Host, ctx: Arc<RunContext>) -> ScriptHost {
        ScriptHost {
            host: Arc::new(host),
            ctx,
        }
    }

    pub fn name(&self) -> &str {
        &self.host.name
    }

    /// Options from a script map (`#{timeout: "30s", stdin: "...", read_only: true}`),
    /// defaulting the timeout from `runbook_command_timeout`.
    fn run_options(&self, options: &Map) -> Result<CommandOptions, Box<EvalAltResult>> {
        let options = Options::new("host.run", options, &["timeout", "stdin", "read_only"])?;
        let mut run = RunOptions {
            timeout: command_timeout(&self.host).map_err(to_rhai)?,
            ..RunOptions::default()
        };
        let read_only = options.bool("read_only")?.unwrap_or(false);
        if let Some(timeout) = options.duration("timeout")? {
            run.timeout = Some(timeout);
        }
        if let Some(stdin) = options.value("stdin") {
            run.stdin = Some(match stdin.clone().try_cast::<rhai::Blob>() {
                Some(bytes) => bytes,
                None => stdin.to_string().into_bytes(),
            });
        }
        Ok(CommandOptions { run, read_only })
    }

    /// Runs a command and returns its output whatever its exit code. A `read_only` command
    /// runs for real even under `runbook check` (it joins no plan); any other is a change.
    pub fn execute(
        &self,
        command: &str,
        options: &CommandOptions,
    ) -> Result<CommandOutput, Box<EvalAltResult>> {
        if !options.read_only
            && self
                .ctx
                .planned_change("host.run", || format!("run `{command}` on {}", self.name()))?
        {
            return Ok(planned_output());
        }
        let ctx = &self.ctx;
        ctx.block_on(async {
            let transport = ctx.transport(&self.host).await?;
            transport
                .run(command, &options.run, &ctx.cancel.token())
                .await
        })
    }

    /// Runs a command that must succeed; returns its stdout without the final newline.
    pub fn run_checked(
        &self,
        command: &str,
        options: &CommandOptions,
    ) -> Result<String, Box<EvalAltResult>> {
        let output = self.execute(command, options)?;
        if !output.success() {
            return Err(to_rhai(CommandFailed::new(self.name(), command, &output)));
        }
        Ok(trim_final_newline(output.stdout_text()))
    }
}

/// How a script runs one command: the transport's options, and whether the command only
/// reads (`read_only: true`: it runs for real under `runbook check` too).
pub struct CommandOptions {
    pub run: RunOptions,
    pub read_only: bool,
}

/// What a command that was only planned "prints": exit 0, no output.
fn planned_output() -> CommandOutput {
    CommandOutput {
        code: 0,
        stdout: Vec::new(),
        stderr: Vec::new(),
    }
}

fn trim_final_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// A command's result as a script sees it: `#{host, code, stdout, stderr}`, stdout
/// without its final newline (as `run` returns it).
#[derive(Serialize)]
struct OutputView<'a> {
    host: &'a str,
    code: i64,
    stdout: String,
    stderr: String,
}

fn output_view(host: &str, output: &CommandOutput) -> Result<Dynamic, Box<EvalAltResult>> {
    rhai::serde::to_dynamic(OutputView {
        host,
        code: i64::from(output.code),
        stdout: trim_final_newline(output.stdout_text()),
        stderr: output.stderr_text(),
    })
}

/// Runs one command on many hosts at once; results in host order.
fn run_on_all(
    hosts: &Array,
    command: &str,
    options: &Map,
    checked: bool,
) -> Result<Array, Box<EvalAltResult>> {
    let mut targets = Vec::with_capacity(hosts.len());
    for (index, value) in hosts.iter().enumerate() {
        match value.clone().try_cast::<ScriptHost>() {
            Some(host) => targets.push(host),
            None => {
                return Err(ScriptError::new(
                    format!(
                        "element {index} of the array is a {}, not a host",
                        value.type_name()
                    ),
                    "runbook::host::not_a_host",
                    Some("pass an array of hosts, such as `inventory.group(\"etcd\")`".into()),
                )
                .into_rhai())
            }
        }
    }
    let Some(first) = targets.first() else {
        return Ok(Array::new());
    };
    let ctx = first.ctx.clone();
    let names: Vec<&str> = targets.iter().map(|h| h.name()).collect();
    let mut jobs = Vec::with_capacity(targets.len());
    let mut read_only = true;
    for host in &targets {
        let options = host.run_options(options)?;
        read_only &= options.read_only;
        jobs.push((ctx.transport(&host.host), options.run));
    }
    if !read_only
        && ctx.planned_change("hosts.run_all", || {
            format!("run `{command}` on {}", names.join(", "))
        })?
    {
        return targets
            .iter()
            .map(|h| output_view(h.name(), &planned_output()))
            .collect();
    }
    let results = ctx
        .runtime
        .block_on(run_all(jobs, command, &ctx.cancel.token()));
    let mut maps = Array::with_capacity(results.len());
    let mut failures = Vec::new();
    for (host, result) in targets.iter().zip(results) {
        let output = result.map_err(to_rhai)?;
        if checked && !output.success() {
            failures.push(CommandFailed::new(host.name(), command, &output).to_string());
        }
        maps.push(output_view(host.name(), &output)?);
    }
    if !failures.is_empty() {
        return Err(ScriptError::new(
            format!(
                "{} of {} hosts failed:\n{}",
                failures.len(),
                maps.len(),
                failures.join("\n")
            ),
            "runbook::host::command_failed",
            Some("use `try_run_all` to inspect every result instead of failing".into()),
        )
        .into_rhai());
    }
    Ok(maps)
}

#[export_module]
pub mod host_api {
    use super::*;

    pub type Host = ScriptHost;

    /// The host's inventory name.
    #[rhai_fn(get = "name", pure)]
    pub fn name(host: &mut ScriptHost) -> String {
        host.host.name.clone()
    }

    /// The host's effective inventory variables, as a map; passwords (`ansible_become_pass`
    /// and the like) read `(hidden)`: runbook hands them to sudo itself.
    #[rhai_fn(get = "vars", pure, return_raw)]
    pub fn vars(host: &mut ScriptHost) -> Result<Dynamic, Box<EvalAltResult>> {
        let mut vars = host.host.vars.clone();
        for (name, value) in vars.iter_mut() {
            if is_secret_variable(name) {
                *value = HIDDEN.into();
            }
        }
        rhai::serde::to_dynamic(&vars)
    }

    /// One inventory variable of the host, or `()` when it is not set; a password reads
    /// `(hidden)`.
    #[rhai_fn(pure, return_raw)]
    pub fn variable(host: &mut ScriptHost, name: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        match host.host.vars.get(name) {
            Some(_) if is_secret_variable(name) => Ok(HIDDEN.into()),
            Some(value) => rhai::serde::to_dynamic(value),
            None => Ok(Dynamic::UNIT),
        }
    }

    /// Runs a shell command; throws (with host, command, exit code and stderr) unless it exits 0.
    /// Returns stdout without its final newline.
    #[rhai_fn(pure, return_raw)]
    pub fn run(host: &mut ScriptHost, command: &str) -> Result<String, Box<EvalAltResult>> {
        let options = host.run_options(&Map::new())?;
        host.run_checked(command, &options)
    }

    /// `run` with options: `#{timeout: "30s", stdin: "text"}`.
    #[rhai_fn(name = "run", pure, return_raw)]
    pub fn run_with(
        host: &mut ScriptHost,
        command: &str,
        options: Map,
    ) -> Result<String, Box<EvalAltResult>> {
        let options = host.run_options(&options)?;
        host.run_checked(command, &options)
    }

    /// Runs a shell command and returns `#{code, stdout, stderr}` whatever its exit code.
    #[rhai_fn(pure, return_raw)]
    pub fn try_run(host: &mut ScriptHost, command: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        let options = host.run_options(&Map::new())?;
        let output = host.execute(command, &options)?;
        output_view(host.name(), &output)
    }

    /// `try_run` with options: `#{timeout: "30s", stdin: "text"}`.
    #[rhai_fn(name = "try_run", pure, return_raw)]
    pub fn try_run_with(
        host: &mut ScriptHost,
        command: &str,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let options = host.run_options(&options)?;
        let output = host.execute(command, &options)?;
        output_view(host.name(), &output)
    }

    /// Reads a text file on the host.
    #[rhai_fn(pure, return_raw)]
    pub fn read(host: &mut ScriptHost, path: &str) -> Result<String, Box<EvalAltResult>> {
        let ctx = host.ctx.clone();
        let bytes = ctx.block_on(async {
            let transport = ctx
                .transport(&host.host)
                .await
                .map_err(crate::transport::files::FileError::from)?;
            transport.read_file(path, &ctx.cancel.token()).await
        })?;
        String::from_utf8(bytes).map_err(|_| {
            ScriptError::new(
                format!("{path} on {} is not UTF-8 text", host.name()),
                "runbook::file::not_text",
                Some("read binary files with `read_blob`".into()),
            )
            .into_rhai()
        })
    }

    /// Reads a file on the host as bytes.
    #[rhai_fn(pure, return_raw)]
    pub fn read_blob(host: &mut ScriptHost, path: &str) -> Result<rhai::Blob, Box<EvalAltResult>> {
        let ctx = host.ctx.clone();
        ctx.block_on(async {
            let transport = ctx
                .transport(&host.host)
                .await
                .map_err(crate::transport::files::FileError::from)?;
            transport.read_file(path, &ctx.cancel.token()).await
        })
    }

    /// Writes a file on the host atomically (temp file + rename), keeping an existing file's mode.
    #[rhai_fn(pure, return_raw)]
    pub fn write(host: &mut ScriptHost, path: &str, text: &str) -> Result<(), Box<EvalAltResult>> {
        if host
            .ctx
            .planned_change("host.write", || format!("write {path} on {}", host.name()))?
        {
            return Ok(());
        }
        let ctx = host.ctx.clone();
        ctx.block_on(async {
            let transport = ctx
                .transport(&host.host)
                .await
                .map_err(crate::transport::files::FileError::from)?;
            transport
                .write_file(path, text.as_bytes(), &ctx.cancel.token())
                .await
        })
    }

    /// Whether a file or directory exists on the host.
    #[rhai_fn(pure, return_raw)]
    pub fn exists(host: &mut ScriptHost, path: &str) -> Result<bool, Box<EvalAltResult>> {
        let ctx = host.ctx.clone();
        ctx.block_on(async {
            let transport = ctx
                .transport(&host.host)
                .await
                .map_err(crate::transport::files::FileError::from)?;
            transport.path_exists(path, &ctx.cancel.token()).await
        })
    }

    /// A service on the host: `.start()`, `.stop()`, `.restart()`, `.is_active()`.
    #[rhai_fn(pure)]
    pub fn service(host: &mut ScriptHost, name: &str) -> ScriptService {
        ScriptService::new(host.host.clone(), host.ctx.clone(), name)
    }

    #[rhai_fn(pure)]
    pub fn to_string(host: &mut ScriptHost) -> String {
        host.host.name.clone()
    }

    #[rhai_fn(pure)]
    pub fn to_debug(host: &mut ScriptHost) -> String {
        format!("Host({})", host.host.name)
    }

    #[rhai_fn(name = "==", pure)]
    pub fn equals(host: &mut ScriptHost, other: ScriptHost) -> bool {
        host.host.name == other.host.name
    }

    /// Runs a command on every host of an array at once; throws if any exits non-zero.
    /// Returns `#{host, code, stdout, stderr}` per host, in the array's order.
    #[rhai_fn(pure, return_raw)]
    pub fn run_all(hosts: &mut Array, command: &str) -> Result<Array, Box<EvalAltResult>> {
        run_on_all(hosts, command, &Map::new(), true)
    }

    /// `run_all` with options: `#{timeout: "30s", read_only: true}`.
    #[rhai_fn(name = "run_all", pure, return_raw)]
    pub fn run_all_with(
        hosts: &mut Array,
        command: &str,
        options: Map,
    ) -> Result<Array, Box<EvalAltResult>> {
        run_on_all(hosts, command, &options, true)
    }

    /// Like `run_all`, but returns every result without failing on non-zero exits.
    #[rhai_fn(pure, return_raw)]
    pub fn try_run_all(hosts: &mut Array, command: &str) -> Result<Array, Box<EvalAltResult>> {
        run_on_all(hosts, command, &Map::new(), false)
    }

    /// `try_run_all` with options: `#{timeout: "30s", read_only: true}`.
    #[rhai_fn(name = "try_run_all", pure, return_raw)]
    pub fn try_run_all_with(
        hosts: &mut Array,
        command: &str,
        options: Map,
    ) -> Result<Array, Box<EvalAltResult>> {
        run_on_all(hosts, command, &options, false)
    }
}
