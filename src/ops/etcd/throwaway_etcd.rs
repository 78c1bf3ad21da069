//! A throwaway etcd on a member's host, serving a copy of a backup: the host's own
//! `etcd` binary, `--force-new-cluster`, the v2 API on, no TLS, on loopback ports
//! found free on the host, its data a temporary copy of the backup's `member`
//! directory. It runs in the background with its PID recorded; [`Throwaway::remove`]
//! stops it by that PID and removes the copy, and is meant to run however the work
//! in between ended. Reads go through `curl` on the host, so nothing but the
//! results leaves it and no port needs to be reachable from the control machine.

use super::host_step::{self, StepError};
use super::v2::V2Node;
use crate::transport::{shell_quote, RunOptions, Transport};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

/// Start attempts when the ports picked are taken before etcd binds them.
const ATTEMPTS: usize = 3;

/// Why the throwaway etcd could not be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ThrowawayError {
    #[error("{host}: cannot copy the backup {backup} for a throwaway etcd: {detail}")]
    #[diagnostic(
        code(runbook::etcd::throwaway::copy),
        help("the copy goes into {data_dir}/runbook-compare.*; check the free space there (`df {data_dir}`) and that the connecting user may write there")
    )]
    Copy {
        host: String,
        backup: String,
        data_dir: String,
        detail: String,
    },
    #[error("{host}: the throwaway etcd on a copy of {backup} did not start: {detail}")]
    #[diagnostic(
        code(runbook::etcd::throwaway::start),
        help("the check runs the host's own etcd (on PATH, or /usr/bin/etcd) and curl on {host}; the message above ends with etcd's log")
    )]
    Start {
        host: String,
        backup: String,
        detail: String,
    },
    #[error("{host}: reading the v2 keys of the throwaway etcd failed: {detail}")]
    #[diagnostic(
        code(runbook::etcd::throwaway::read),
        help("the throwaway etcd serves a copy of the backup on 127.0.0.1 of {host}; the message says why curl could not read it")
    )]
    Read { host: String, detail: String },
    #[error(
        "{host}: the throwaway etcd (pid {pid}) or its copy {dir} could not be removed: {detail}"
    )]
    #[diagnostic(
        code(runbook::etcd::throwaway::cleanup),
        help("on {host}: `kill {pid}` if it still runs, then `rm -rf {dir}`")
    )]
    Cleanup {
        host: String,
        pid: String,
        dir: String,
        detail: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
}

/// A throwaway etcd (or, before [`Throwaway::start`], its data) on one host.
#[derive(Debug, Clone)]
pub struct Throwaway {
    host: String,
    backup: String,
    /// The temporary directory: `data/` (the copy), `etcd.log`, `etcd.pid`.
    pub dir: String,
    pub pid: Option<u32>,
    pub client_port: Option<u16>,
}

#[derive(Deserialize)]
struct NodeResponse {
    node: V2Node,
}

impl Throwaway {
    /// Copies `<backup>/member` into a new `<data_dir>/runbook-compare.XXXXXX/data`.
    pub async fn prepare(
        transport: &Transport,
        data_dir: &str,
        backup: &str,
        cancel: &CancellationToken,
    ) -> Result<Throwaway, ThrowawayError> {
        let host = transport.host_name().to_string();
        let script = format!(
            r#"b={backup}
t=$(mktemp -d {data}/runbook-compare.XXXXXX) || exit 10
printf '%s\n' "$t"
mkdir -m 0700 -- "$t/data" && cp -a -- "$b/member" "$t/data/member" || exit 11
exit 0"#,
            backup = shell_quote(backup.trim_end_matches('/')),
            data = shell_quote(data_dir.trim_end_matches('/')),
        );
        let output = host_step::run(transport, &script, &RunOptions::default(), cancel).await?;
        let dir = output
            .stdout_text()
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let copy_failed = |detail| ThrowawayError::Copy {
            host: host.clone(),
            backup: backup.to_string(),
            data_dir: data_dir.to_string(),
            detail,
        };
        if output.code == 10 || dir.is_empty() {
            return Err(copy_failed(host_step::output_detail(&output)));
        }
        let made = Throwaway {
            host: host.clone(),
            backup: backup.to_string(),
            dir,
            pid: None,
            client_port: None,
        };
        if !output.success() {
            let error = copy_failed(host_step::output_detail(&output));
            return Err(match made.remove(transport).await {
                Ok(()) => error,
                Err(cleanup) => cleanup,
            });
        }
        Ok(made)
    }

    /// Starts etcd on the copy and waits until it reports healthy. The PID is kept
    /// as soon as it is known, so [`Throwaway::remove`] stops it also after a failure.
    pub async fn start(
        &mut self,
        transport: &Transport,
        cancel: &CancellationToken,
    ) -> Result<(), ThrowawayError> {
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            let output = host_step::run(
                transport,
                &start_script(&self.dir),
                &RunOptions::default(),
                cancel,
            )
            .await?;
            for line in output.stdout_text().lines() {
                if let Some(pid) = line.strip_prefix("pid ") {
                    self.pid = pid.trim().parse().ok();
                }
                if let Some(port) = line.strip_prefix("port ") {
                    self.client_port = port.trim().parse().ok();
                }
            }
            match output.code {
                0 if self.client_port.is_some() => return Ok(()),
                // The ports were taken before etcd bound them: stop what is left, pick others.
                24 => {
                    last = host_step::output_detail(&output);
                    self.stop(transport).await?;
                }
                _ => {
                    return Err(ThrowawayError::Start {
                        host: self.host.clone(),
                        backup: self.backup.clone(),
                        detail: host_step::output_detail(&output),
                    })
                }
            }
        }
        Err(ThrowawayError::Start {
            host: self.host.clone(),
            backup: self.backup.clone(),
            detail: format!("no free pair of loopback ports after {ATTEMPTS} tries: {last}"),
        })
    }

    /// The whole v2 tree it serves, read with `curl` on the host.
    pub async fn read_tree(
        &self,
        transport: &Transport,
        cancel: &CancellationToken,
    ) -> Result<V2Node, ThrowawayError> {
        let fail = |detail: String| ThrowawayError::Read {
            host: self.host.clone(),
            detail,
        };
        let Some(port) = self.client_port else {
            return Err(fail("it was not started".into()));
        };
        let script = format!(
            "curl -fsS --max-time 600 'http://127.0.0.1:{port}/v2/keys/?recursive=true&sorted=true'"
        );
        let output = host_step::run(transport, &script, &RunOptions::default(), cancel).await?;
        if !output.success() {
            return Err(fail(host_step::output_detail(&output)));
        }
        serde_json::from_slice::<NodeResponse>(&output.stdout)
            .map(|r| r.node)
            .map_err(|e| fail(format!("unexpected answer: {e}")))
    }

    /// Stops the etcd by its PID (TERM, then KILL after 10 s), if it still runs as ours.
    async fn stop(&mut self, transport: &Transport) -> Result<(), ThrowawayError> {
        let Some(pid) = self.pid else { return Ok(()) };
        // Its own token: a run interrupted by Ctrl-C still stops what it started.
        let cancel = CancellationToken::new();
        let script = stop_script(pid, &self.dir);
        let output = host_step::run(transport, &script, &RunOptions::default(), &cancel)
            .await
            .map_err(|e| self.cleanup_error(e.to_string()))?;
        if !output.success() {
            return Err(self.cleanup_error(host_step::output_detail(&output)));
        }
        self.pid = None;
        self.client_port = None;
        Ok(())
    }

    /// Stops the etcd (by PID) and removes the temporary directory.
    pub async fn remove(mut self, transport: &Transport) -> Result<(), ThrowawayError> {
        self.stop(transport).await?;
        let cancel = CancellationToken::new();
        // Only a directory this module made (mktemp's name) is ever removed.
        let script = format!(
            r#"t={dir}
case "$t" in */runbook-compare.??????) rm -rf -- "$t" ;; *) echo "not a throwaway directory: $t" >&2; exit 1 ;; esac"#,
            dir = shell_quote(&self.dir)
        );
        let output = host_step::run(transport, &script, &RunOptions::default(), &cancel)
            .await
            .map_err(|e| self.cleanup_error(e.to_string()))?;
        if !output.success() {
            return Err(self.cleanup_error(host_step::output_detail(&output)));
        }
        Ok(())
    }

    fn cleanup_error(&self, detail: String) -> ThrowawayError {
        ThrowawayError::Cleanup {
            host: self.host.clone(),
            pid: self
                .pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "none".into()),
            dir: self.dir.clone(),
            detail,
        }
    }
}

/// `sh` that picks two loopback ports no socket listens on (from /proc/net/tcp*),
/// starts etcd on `<dir>/data` in its own session, prints `pid N` and `port N`, and
/// waits up to 30 s for `/health`. Exit 24: a port was taken (try again).
fn start_script(dir: &str) -> String {
    format!(
        r#"t={dir}
command -v curl >/dev/null 2>&1 || {{ echo "curl is not installed on this host" >&2; exit 20; }}
etcd=$(command -v etcd 2>/dev/null) || etcd=/usr/bin/etcd
[ -x "$etcd" ] || {{ echo "no etcd binary (not on PATH, no /usr/bin/etcd)" >&2; exit 21; }}
listening() {{
  h=$(printf ':%04X' "$1")
  awk -v h="$h" '$4 == "0A" && substr($2, length($2) - 4) == h {{ f = 1 }} END {{ exit !f }}' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}}
pick() {{
  i=0
  while [ $i -lt 100 ]; do
    p=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 16000 + 44000 ))
    if ! listening "$p"; then printf '%s' "$p"; return 0; fi
    i=$((i + 1))
  done
  return 1
}}
c=$(pick) && p=$(pick) || {{ echo "no free loopback port found" >&2; exit 22; }}
[ "$c" != "$p" ] || exit 24
client=http://127.0.0.1:$c; peer=http://127.0.0.1:$p
if command -v setsid >/dev/null 2>&1; then run=setsid; else run=nohup; fi
$run "$etcd" --name runbook-compare --data-dir "$t/data" --force-new-cluster --enable-v2 \
  --listen-client-urls "$client" --advertise-client-urls "$client" \
  --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
  --initial-cluster "runbook-compare=$peer" >>"$t/etcd.log" 2>&1 </dev/null &
pid=$!
printf '%s\n' "$pid" >"$t/etcd.pid"
printf 'pid %s\nport %s\n' "$pid" "$c"
alive() {{ [ -r "/proc/$1/stat" ] && ! grep -q ') [ZX] ' "/proc/$1/stat"; }}
i=0
while [ $i -lt 300 ]; do
  if ! alive "$pid"; then
    grep -q 'address already in use' "$t/etcd.log" && exit 24
    echo "etcd exited; the end of its log:" >&2; tail -n 15 "$t/etcd.log" >&2; exit 25
  fi
  if curl -fsS --max-time 2 "$client/health" 2>/dev/null | grep -q '"health":"true"'; then exit 0; fi
  sleep 0.1 2>/dev/null || sleep 1
  i=$((i + 1))
done
echo "etcd did not report healthy within 30s; the end of its log:" >&2; tail -n 15 "$t/etcd.log" >&2
exit 26"#,
        dir = shell_quote(dir)
    )
}

/// `sh` that stops process `pid` if it is alive and its command line names `dir`
/// (so a reused PID is never signalled): TERM, up to 10 s, then KILL.
fn stop_script(pid: u32, dir: &str) -> String {
    format!(
        r#"pid={pid}; t={dir}
alive() {{ [ -r "/proc/$pid/stat" ] && ! grep -q ') [ZX] ' "/proc/$pid/stat"; }}
ours() {{ alive && tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$t/data"; }}
ours || exit 0
kill -TERM "$pid" 2>/dev/null
i=0; while alive && [ $i -lt 100 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done
if alive; then
  kill -KILL "$pid" 2>/dev/null
  i=0; while alive && [ $i -lt 50 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done
fi
if alive; then echo "process $pid is still running" >&2; exit 1; fi
exit 0"#,
        dir = shell_quote(dir)
    )
}
