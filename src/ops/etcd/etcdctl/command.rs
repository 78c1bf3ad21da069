//! One etcdctl call on a member's host: the member's client URL and TLS files as flags
//! (file names only), `ETCDCTL_API` exported, the caller's arguments after them, and the
//! answer (stdout) or an error with etcdctl's stderr.

use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::step::output_detail;
use crate::transport::{shell_quote, CommandOutput, RunOptions, Transport, TransportError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The exit code of the probe that finds no etcdctl on the host.
const NO_ETCDCTL: i32 = 127;

/// Which etcdctl API a call uses (`ETCDCTL_API`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    V2,
    V3,
}

impl Api {
    pub fn number(self) -> u8 {
        match self {
            Api::V2 => 2,
            Api::V3 => 3,
        }
    }
}

/// What to run: the arguments (shell text, already quoted), the API, and whether etcdctl
/// prints JSON (`-w json` for v3, `-o json` for v2).
#[derive(Debug, Clone)]
pub struct EtcdctlCall {
    pub api: Api,
    /// The arguments after etcdctl's own flags, as shell text.
    pub args: String,
    pub json: bool,
    /// How long the command may run; `None` for the transport's default.
    pub timeout: Option<Duration>,
}

/// Why an etcdctl call failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EtcdctlError {
    #[error("{host}: `{command}` does not run there")]
    #[diagnostic(
        code(runbook::etcd::etcdctl::missing),
        help("install etcdctl on {host} (the etcd package: `yum install etcd`), or set runbook_etcdctl_command for {host} to how etcdctl runs there")
    )]
    Missing { host: String, command: String },
    #[error("{host}: etcdctl {args} exited {code}: {stderr}")]
    #[diagnostic(
        code(runbook::etcd::etcdctl::failed),
        help("etcdctl ran on {host} against {endpoint}; its message above says why it failed")
    )]
    Failed {
        host: String,
        endpoint: String,
        args: String,
        code: i32,
        stderr: String,
    },
    #[error("{host}: etcdctl {args} printed no JSON: {reason}")]
    #[diagnostic(
        code(runbook::etcd::etcdctl::json),
        help("run it without `json: true` to see what it printed")
    )]
    NotJson {
        host: String,
        args: String,
        reason: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
}

/// ETCDCTL_* variables that would shadow (or clash with) the flags given here.
const SHADOWED: &str = "ETCDCTL_ENDPOINTS ETCDCTL_ENDPOINT ETCDCTL_PEERS ETCDCTL_CACERT ETCDCTL_CERT ETCDCTL_KEY ETCDCTL_CA_FILE ETCDCTL_CERT_FILE ETCDCTL_KEY_FILE ETCDCTL_WRITE_OUT ETCDCTL_INSECURE_SKIP_TLS_VERIFY";

/// etcdctl's own flags for `member`: its client URL, its TLS files (as the inventory names
/// them on its host), and the output format.
pub fn flags(member: &EtcdMember, api: Api, json: bool) -> Vec<String> {
    let endpoint = &member.endpoint;
    let mut flags = vec![format!("--endpoints={}", endpoint.client_url)];
    if let Some(tls) = &endpoint.tls {
        let (ca, cert, key) = match api {
            Api::V3 => ("--cacert", "--cert", "--key"),
            Api::V2 => ("--ca-file", "--cert-file", "--key-file"),
        };
        flags.push(format!("{ca}={}", tls.ca_file.display()));
        flags.push(format!("{cert}={}", tls.cert_file.display()));
        flags.push(format!("{key}={}", tls.key_file.display()));
    }
    if endpoint.insecure_skip_verify {
        flags.push("--insecure-skip-tls-verify".to_string());
    }
    if json {
        flags.push(match api {
            Api::V3 => "--write-out=json".to_string(),
            Api::V2 => "--output=json".to_string(),
        });
    }
    flags
}

/// The shell text that runs `etcdctl` (`command`: `etcdctl`, or the inventory's
/// runbook_etcdctl_command) for `member` with `call`'s arguments: the variables that would
/// shadow the flags unset, `ETCDCTL_API` exported, etcdctl checked to exist first, and
/// umask 077 (a file etcdctl writes, such as a snapshot, is owner-only).
pub fn script(member: &EtcdMember, command: &str, call: &EtcdctlCall) -> String {
    let program = command.split_whitespace().next().unwrap_or("etcdctl");
    let flags: Vec<String> = flags(member, call.api, call.json)
        .iter()
        .map(|f| shell_quote(f))
        .collect();
    format!(
        "umask 077; unset {SHADOWED}; export ETCDCTL_API={api}\ncommand -v {program} >/dev/null 2>&1 || exit {NO_ETCDCTL}\n{command} {flags} {args}",
        api = call.api.number(),
        program = shell_quote(program),
        flags = flags.join(" "),
        args = call.args,
    )
}

/// Runs `call` on the member's host through `transport` with the member's etcdctl command;
/// stdout on exit 0.
pub async fn run(
    transport: &Transport,
    member: &EtcdMember,
    call: &EtcdctlCall,
    cancel: &CancellationToken,
) -> Result<CommandOutput, EtcdctlError> {
    run_with(transport, member, &member.etcdctl_command, call, cancel).await
}

/// Like [`run`] with another etcdctl command (the host's own `etcdctl` for work on files
/// of the host, which a containerized etcdctl would not see).
pub async fn run_with(
    transport: &Transport,
    member: &EtcdMember,
    command: &str,
    call: &EtcdctlCall,
    cancel: &CancellationToken,
) -> Result<CommandOutput, EtcdctlError> {
    let options = RunOptions {
        timeout: call.timeout,
        stdin: None,
    };
    let output = transport
        .run(&script(member, command, call), &options, cancel)
        .await?;
    match output.code {
        0 => Ok(output),
        NO_ETCDCTL if output.stdout.is_empty() && output.stderr.is_empty() => {
            Err(EtcdctlError::Missing {
                host: member.host_name().to_string(),
                command: command.to_string(),
            })
        }
        code => Err(EtcdctlError::Failed {
            host: member.host_name().to_string(),
            endpoint: member.endpoint.client_url.clone(),
            args: call.args.clone(),
            code,
            stderr: output_detail(&output),
        }),
    }
}

/// stdout without its final newline.
pub fn stdout_text(output: &CommandOutput) -> String {
    let text = output.stdout_text();
    text.strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text)
        .to_string()
}

/// stdout parsed as JSON.
pub fn stdout_json(
    member: &EtcdMember,
    call: &EtcdctlCall,
    output: &CommandOutput,
) -> Result<serde_json::Value, EtcdctlError> {
    serde_json::from_slice(&output.stdout).map_err(|e| EtcdctlError::NotJson {
        host: member.host_name().to_string(),
        args: call.args.clone(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Host;

    fn member(vars: serde_json::Value) -> EtcdMember {
        let serde_json::Value::Object(map) = vars else {
            panic!("vars must be an object")
        };
        EtcdMember::from_host(&Host {
            name: "etcd-1".into(),
            vars: map.into_iter().collect(),
        })
        .unwrap()
    }

    #[test]
    fn flags_name_the_tls_files_of_each_api() {
        let m = member(serde_json::json!({"etcd_ip": "10.0.0.1", "etcd_conf_dir": "/e"}));
        assert_eq!(
            flags(&m, Api::V3, true),
            [
                "--endpoints=https://10.0.0.1:2379",
                "--cacert=/e/ca.crt",
                "--cert=/e/peer.crt",
                "--key=/e/peer.key",
                "--write-out=json"
            ]
        );
        assert_eq!(
            flags(&m, Api::V2, false),
            [
                "--endpoints=https://10.0.0.1:2379",
                "--ca-file=/e/ca.crt",
                "--cert-file=/e/peer.crt",
                "--key-file=/e/peer.key",
            ]
        );
        let plain = member(serde_json::json!({"etcd_url_scheme": "http"}));
        assert_eq!(
            flags(&plain, Api::V2, true),
            ["--endpoints=http://etcd-1:2379", "--output=json"]
        );
    }

    #[test]
    fn the_script_checks_for_etcdctl_and_exports_the_api() {
        let m = member(serde_json::json!({}));
        let call = EtcdctlCall {
            api: Api::V2,
            args: "ls /".into(),
            json: false,
            timeout: None,
        };
        let text = script(
            &m,
            "docker exec -e ETCDCTL_API etcd_container etcdctl",
            &call,
        );
        assert!(text.contains("export ETCDCTL_API=2"), "{text}");
        assert!(text.contains("command -v docker"), "{text}");
        assert!(
            text.ends_with("--key-file=/etc/etcd/peer.key ls /"),
            "{text}"
        );
    }

    #[test]
    fn the_final_newline_goes() {
        let out = |s: &str| CommandOutput {
            code: 0,
            stdout: s.as_bytes().to_vec(),
            stderr: vec![],
        };
        assert_eq!(stdout_text(&out("a\nb\n")), "a\nb");
        assert_eq!(stdout_text(&out("a")), "a");
        assert_eq!(stdout_text(&out("")), "");
    }
}
