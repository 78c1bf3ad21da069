//! Proving etcd is stopped on a member before its data dir is rewritten:
//! the service is not active, no process holds files of the data dir open for writing
//! (a `/proc/*/fd` scan, which needs nothing beyond `ls`), the v3 backend is
//! not locked (when `flock` exists) and the client port accepts no connection
//! (tried from the control machine, and from the host when it has bash).
//!
//! `etcdctl migrate` on a data dir that a running etcd holds waits forever for
//! the lock on `member/snap/db`; these checks say why instead.

use crate::ops::etcd::backup::working_copy::WORKING_COPY;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::host::step::{self as host_step, StepError};
use crate::ops::service::{ServiceError, ServiceManager};
use crate::transport::{shell_quote, Transport};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const STOP_HELP: &str = "stop etcd on every member first (`systemctl stop etcd`, or `host.service(\"etcd\").stop()` in a runbook) and try again";

/// Why etcd is not (provably) stopped on a member.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EtcdRunning {
    #[error("etcd is still running on {host}: `{command}` reports the service {service} active")]
    #[diagnostic(code(runbook::etcd::running::service), help("{STOP_HELP}"))]
    ServiceActive {
        host: String,
        service: String,
        command: String,
    },
    #[error("etcd is still running on {host}: process(es) {processes} hold files of {data_dir}")]
    #[diagnostic(
        code(runbook::etcd::running::process),
        help("stop them (etcd, or anything else using the data dir) and try again; `ls -l /proc/<pid>/fd` on {host} shows what they hold")
    )]
    ProcessHoldsDataDir {
        host: String,
        data_dir: String,
        processes: String,
    },
    #[error("etcd is still running on {host}: {db} is locked by another process")]
    #[diagnostic(
        code(runbook::etcd::running::locked),
        help("a process (etcd, or a running `etcdctl migrate`/`backup --with-v3`) holds the lock on the v3 backend; stop it and try again")
    )]
    DbLocked { host: String, db: String },
    #[error("etcd is still running on {host}: its client port {address} accepts connections (checked from {from})")]
    #[diagnostic(code(runbook::etcd::running::port), help("{STOP_HELP}"))]
    PortOpen {
        host: String,
        address: String,
        from: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(#[from] StepError),
}

/// Host and port of the member's client URL.
fn client_address(member: &EtcdMember) -> Option<(String, u16)> {
    let url = reqwest::Url::parse(&member.endpoint.client_url).ok()?;
    let host = url.host_str()?.trim_matches(['[', ']']).to_string();
    Some((host, url.port_or_known_default()?))
}

/// Fails if the member's service is active.
pub async fn check_service(
    transport: &Transport,
    member: &EtcdMember,
    cancel: &CancellationToken,
) -> Result<(), EtcdRunning> {
    let manager = ServiceManager::from_host(&member.host);
    if manager
        .is_active(transport, &member.service, cancel)
        .await?
    {
        return Err(EtcdRunning::ServiceActive {
            host: member.host_name().to_string(),
            service: member.service.clone(),
            command: manager.command(
                crate::ops::service::ServiceAction::IsActive,
                &member.service,
            ),
        });
    }
    Ok(())
}

/// Fails if the client port accepts a TCP connection from the control machine.
pub async fn check_port_from_here(member: &EtcdMember) -> Result<(), EtcdRunning> {
    let Some((ip, port)) = client_address(member) else {
        return Ok(());
    };
    let connect = tokio::net::TcpStream::connect((ip.as_str(), port));
    // Refused, unreachable or silent: nothing serves the port as far as this machine can tell.
    if let Ok(Ok(_stream)) = tokio::time::timeout(Duration::from_secs(3), connect).await {
        return Err(EtcdRunning::PortOpen {
            host: member.host_name().to_string(),
            address: format!("{ip}:{port}"),
            from: "the control machine".into(),
        });
    }
    Ok(())
}

/// The directories of a data dir whose files a process must not hold: etcd's `member`,
/// and the copy a stopped backup puts back (an interrupted run's `cp` may still be
/// writing it, over SSH or after a SIGKILL).
const WATCHED: [&str; 2] = ["member", WORKING_COPY];

/// The open files (pid, fd) that `ls -l /proc/[0-9]*/fd` output shows in the data dir
/// itself or under its [`WATCHED`] directories (not the backups beside it). The paths are
/// as each process sees them: a process in another mount namespace (a container, another
/// lab host) may show the same path for another directory, so these are only candidates.
pub fn candidates(listing: &str, data_dirs: &[&str]) -> Vec<(u32, String)> {
    let inside = |target: &str| {
        data_dirs.iter().any(|dir| {
            let dir = dir.trim_end_matches('/');
            target == dir
                || WATCHED.iter().any(|sub| {
                    let sub = format!("{dir}/{sub}");
                    target == sub || target.starts_with(&format!("{sub}/"))
                })
        })
    };
    let mut found = Vec::new();
    let mut current: Option<u32> = None;
    for line in listing.lines() {
        if let Some(header) = line.strip_prefix("/proc/") {
            current = header.strip_suffix("/fd:").and_then(|pid| pid.parse().ok());
            continue;
        }
        let Some(pid) = current else { continue };
        if let Some((head, target)) = line.split_once(" -> ") {
            let target = target.strip_suffix(" (deleted)").unwrap_or(target);
            let fd = head.split_whitespace().last().unwrap_or_default();
            if inside(target) && !fd.is_empty() {
                found.push((pid, fd.to_string()));
            }
        }
    }
    found
}

/// The pids of `candidates` whose file is really one of ours and open for writing: `inodes`
/// lists `<dev>:<ino>` of the data dir's files, `stats` has `fd /proc/<pid>/fd/<n>
/// <dev>:<ino>` lines for the candidates' files and `flags /proc/<pid>/fd/<n> <octal>` lines
/// with their open flags, or `closed` when the file was closed (or its process ended)
/// between the two reads. A process that only reads (a backup's hashing, say) changes
/// nothing etcd would, nor does one that no longer holds the file; one whose flags cannot
/// be read counts.
pub fn holders(inodes: &str, stats: &str) -> Vec<u32> {
    let ours: std::collections::HashSet<&str> = inodes.lines().map(str::trim).collect();
    let not_writing: std::collections::HashSet<&str> = stats
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (Some("flags"), Some(path), Some(flags)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return None;
            };
            if flags == "closed" {
                return Some(path);
            }
            let flags = u32::from_str_radix(flags, 8).ok()?;
            (flags & 0o3 == 0).then_some(path)
        })
        .collect();
    let mut pids = Vec::new();
    for line in stats.lines() {
        let mut fields = line.split_whitespace();
        let (Some("fd"), Some(path), Some(id)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let pid = path
            .strip_prefix("/proc/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|pid| pid.parse().ok());
        if let Some(pid) = pid {
            if ours.contains(id) && !not_writing.contains(path) && !pids.contains(&pid) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// Fails if a process holds files of the data dir, or the v3 backend is locked.
pub async fn check_host(
    transport: &Transport,
    member: &EtcdMember,
    cancel: &CancellationToken,
) -> Result<(), EtcdRunning> {
    let host = member.host_name().to_string();
    let data = shell_quote(&member.data_dir);
    // The first line is the data dir with symlinks resolved, as /proc shows paths.
    let scan = format!(
        r#"d={data}
readlink -f -- "$d" 2>/dev/null || printf '%s\n' "$d"
ls -l /proc/[0-9]*/fd 2>/dev/null
exit 0"#
    );
    let output = host_step::run_ok(transport, "scanning /proc for etcd", &scan, cancel).await?;
    let text = output.stdout_text();
    let (real, listing) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    let real = real.trim();
    let open = candidates(listing, &[&member.data_dir, real]);
    let mut pids = Vec::new();
    if !open.is_empty() {
        // Which of them are this data dir's files, by device and inode.
        let files: Vec<String> = open
            .iter()
            .map(|(pid, fd)| shell_quote(&format!("/proc/{pid}/fd/{fd}")))
            .collect();
        let compare = format!(
            r#"r={real}
find "$r" -maxdepth 0 -printf '%D:%i\n' 2>/dev/null
for s in {watched}; do find "$r/$s" -printf '%D:%i\n' 2>/dev/null; done
echo ---
stat -L -c 'fd %n %d:%i' {files} 2>/dev/null
for f in {files}; do
  i=$(printf '%s' "$f" | sed 's|/fd/|/fdinfo/|')
  fl=$(sed -n 's/^flags:[[:space:]]*//p' "$i" 2>/dev/null)
  if [ -z "$fl" ] && [ ! -e "$f" ]; then fl=closed; fi
  printf 'flags %s %s\n' "$f" "$fl"
done
exit 0"#,
            real = shell_quote(real),
            watched = WATCHED.map(shell_quote).join(" "),
            files = files.join(" ")
        );
        let output =
            host_step::run_ok(transport, "checking the open files", &compare, cancel).await?;
        let text = output.stdout_text();
        let (inodes, stats) = text.split_once("---\n").unwrap_or((text.as_str(), ""));
        pids = holders(inodes, stats);
    }
    if !pids.is_empty() {
        let list = pids
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        // A process that ended since the scan (a killed run's hasher finishing) holds
        // nothing: only the living are named, and if none is left the check goes on.
        let names = format!(
            "for p in {list}; do [ -d /proc/$p ] && printf '%s (%s)\\n' \"$p\" \"$(cat /proc/$p/comm 2>/dev/null)\"; done; exit 0"
        );
        let described = host_step::run_ok(transport, "naming processes", &names, cancel)
            .await
            .map(|o| o.stdout_text().lines().collect::<Vec<_>>().join(", "))
            .unwrap_or(list);
        if !described.is_empty() {
            return Err(EtcdRunning::ProcessHoldsDataDir {
                host,
                data_dir: member.data_dir.clone(),
                processes: described,
            });
        }
    }

    let db = format!("{}/member/snap/db", member.data_dir.trim_end_matches('/'));
    let (ip, port) = client_address(member).unwrap_or_default();
    // flock(1) creates missing files, so only an existing db is tried.
    let probe = format!(
        r#"db={db}
if [ -f "$db" ] && command -v flock >/dev/null 2>&1; then
  flock -n -s "$db" true || echo locked
fi
if [ -n {ip} ] && command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' {ip} {port} 2>/dev/null && echo open
fi
exit 0"#,
        db = shell_quote(&db),
        ip = shell_quote(&ip),
    );
    let output =
        host_step::run_ok(transport, "probing etcd's lock and port", &probe, cancel).await?;
    let said = output.stdout_text();
    if said.lines().any(|l| l == "locked") {
        return Err(EtcdRunning::DbLocked { host, db });
    }
    if said.lines().any(|l| l == "open") {
        return Err(EtcdRunning::PortOpen {
            host: host.clone(),
            address: format!("{ip}:{port}"),
            from: host,
        });
    }
    Ok(())
}

/// Every check, for the member whose data dir is about to be rewritten.
pub async fn check_stopped(
    transport: &Transport,
    member: &EtcdMember,
    cancel: &CancellationToken,
) -> Result<(), EtcdRunning> {
    check_service(transport, member, cancel).await?;
    check_host(transport, member, cancel).await?;
    check_port_from_here(member).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_candidates_in_the_member_dir_only() {
        let listing = "\
/proc/10/fd:
total 0
lr-x------ 1 root root 64 Nov 24 10:28 0 -> /dev/null
l-wx------ 1 root root 64 Nov 24 10:28 11 -> /var/lib/etcd/member/wal/0.tmp
l-wx------ 1 root root 64 Nov 24 10:28 12 -> /var/lib/etcd/.member.runbook-copy/snap/db
l-wx------ 1 root root 64 Nov 24 10:28 13 -> /var/lib/etcd/.member.runbook-copy.x

/proc/11/fd:
lr-x------ 1 root root 64 Nov 24 10:28 3 -> /var/lib/etcd/openshift-backup-pre-migration1/member/snap/db
lr-x------ 1 root root 64 Nov 24 10:28 4 -> /var/lib/etcd2/member/snap/db

/proc/12/fd:
lrwx------ 1 root root 64 Nov 24 10:28 7 -> /data/etcd/member/snap/db (deleted)
";
        assert_eq!(
            candidates(listing, &["/var/lib/etcd/"]),
            vec![(10, "11".to_string()), (10, "12".to_string())]
        );
        assert_eq!(
            candidates(listing, &["/var/lib/etcd", "/data/etcd"]),
            vec![
                (10, "11".to_string()),
                (10, "12".to_string()),
                (12, "7".to_string())
            ]
        );
        assert!(candidates(listing, &["/srv"]).is_empty());
    }

    #[test]
    fn a_holder_is_one_whose_file_is_ours_by_device_and_inode() {
        let inodes = "2049:100\n2049:101\n2049:102\n";
        let stats =
            "fd /proc/10/fd/11 2049:101\nfd /proc/20/fd/4 2049:900\nfd /proc/10/fd/12 2049:102\n";
        // pid 20 shows the same path in another mount namespace, for another directory.
        assert_eq!(holders(inodes, stats), vec![10]);
        assert!(holders(inodes, "").is_empty());
        // Open for reading only (O_RDONLY, with O_LARGEFILE): a reader, not etcd.
        let reading = "fd /proc/30/fd/3 2049:100\nflags /proc/30/fd/3 0100000\nfd /proc/31/fd/3 2049:100\nflags /proc/31/fd/3 0100002\n";
        assert_eq!(holders(inodes, reading), vec![31]);
        // Closed between the stat and the flags read (its process ended): not a holder;
        // flags that cannot be read at all still count.
        let ended = "fd /proc/40/fd/3 2049:100\nflags /proc/40/fd/3 closed\nfd /proc/41/fd/3 2049:100\nflags /proc/41/fd/3 \n";
        assert_eq!(holders(inodes, ended), vec![41]);
    }
}
