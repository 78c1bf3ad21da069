//! The certificates of one external etcd member and the master that uses it, as
//! openshift-ansible's `embedded2external.yml` leaves them (`ca.yml`,
//! `server_certificates.yml`, `master_etcd_certificates.yml`): the CA on the member's host,
//! the member's server and peer certificates and CA copy, and the master's etcd client
//! certificate, key and CA copy. What is valid stays; what is not is issued again, the old
//! file kept first.

use super::ca::{self, CaAction};
use super::check::{self, Verdict};
use super::copies::{self, KeepAs};
use super::error::CertError;
use super::issue::{self, CertKind, Leaf};
use super::layout::{address, hostname, subject_alt_names, CaLayout, MasterFiles, MemberFiles};
use crate::inventory::Host;
use crate::transport::files::FileError;
use crate::transport::{shell_quote, RunOptions, Transport};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// A host and the connection to it.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub host: &'a Host,
    pub transport: &'a Transport,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileAction {
    Created,
    Kept,
    Replaced,
}

/// One file put in place, or left as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    pub host: String,
    pub path: String,
    pub action: FileAction,
    /// Where the replaced file was kept.
    pub copy: Option<String>,
    /// Why it was replaced (for the operator; not in the result map).
    #[serde(skip)]
    pub reason: Option<String>,
}

/// What `issue_certificates` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issued {
    /// The member (the CA's host).
    pub host: String,
    pub ca_dir: String,
    pub ca: CaAction,
    pub files: Vec<Placed>,
}

impl Issued {
    /// Whether anything was written.
    pub fn changed(&self) -> bool {
        self.ca == CaAction::Created || self.files.iter().any(|f| f.action != FileAction::Kept)
    }
}

/// A file as it must end up: `bytes`, or (`None`) as it is, found valid.
struct Wanted {
    path: String,
    bytes: Option<Vec<u8>>,
    /// Why an existing file with other bytes is not good enough.
    reason: String,
}

/// The CA on `member`'s host, the member's certificates, and with `master` its etcd client
/// certificate (issued on the member's host, then copied to the master's).
pub async fn issue_certificates(
    member: Target<'_>,
    master: Option<Target<'_>>,
    cancel: &CancellationToken,
) -> Result<Issued, CertError> {
    let stamp = copies::utc_stamp();
    let layout = CaLayout::of(member.host);
    let ca = ca::ensure(member.host, member.transport, &layout, cancel).await?;
    let ca_differs = format!("it is not the CA's certificate {}", layout.cert());

    let files = MemberFiles::of(member.host);
    let name = hostname(member.host);
    let member_address = address(member.host);
    let leaf = |kind, stem: &str| Leaf {
        kind,
        dir: layout.generated(&files.subdir),
        stem: stem.to_string(),
        ca_copy: "ca.crt".to_string(),
        common_name: name.clone(),
        sans: subject_alt_names(member_address.as_deref(), &name),
        address: member_address.clone(),
    };
    let mut wanted = vec![Wanted {
        path: files.ca_file.clone(),
        bytes: Some(ca.cert_pem.clone()),
        reason: ca_differs.clone(),
    }];
    for (kind, stem, cert, key) in [
        (
            CertKind::Server,
            "server",
            &files.server_cert,
            &files.server_key,
        ),
        (CertKind::Peer, "peer", &files.peer_cert, &files.peer_key),
    ] {
        let leaf = leaf(kind, stem);
        wanted.extend(
            pair(
                member,
                member,
                &layout,
                &ca.cert_pem,
                &leaf,
                cert,
                key,
                cancel,
            )
            .await?,
        );
    }
    let mut placed = place(member, wanted, &KeepAs::Stamped(stamp.clone()), cancel).await?;
    if member.host.var_str("runbook_etcd_layout").as_deref() == Some("rpm") {
        own_by_etcd(member, &placed, cancel).await?;
    }

    let Some(master) = master else {
        return Ok(Issued {
            host: member.host.name.clone(),
            ca_dir: layout.dir,
            ca: ca.action,
            files: placed,
        });
    };
    let master_files = MasterFiles::of(master.host);
    let master_name = hostname(master.host);
    let master_address = address(master.host);
    let client = Leaf {
        kind: CertKind::Client,
        dir: layout.generated(&master_files.subdir),
        stem: "master.etcd-client".to_string(),
        ca_copy: "master.etcd-ca.crt".to_string(),
        common_name: master_name.clone(),
        sans: subject_alt_names(master_address.as_deref(), &master_name),
        address: None,
    };
    let mut wanted = pair(
        master,
        member,
        &layout,
        &ca.cert_pem,
        &client,
        &master_files.client_cert,
        &master_files.client_key,
        cancel,
    )
    .await?;
    wanted.push(Wanted {
        path: master_files.ca,
        bytes: Some(ca.cert_pem.clone()),
        reason: ca_differs,
    });
    placed.extend(place(master, wanted, &KeepAs::Embedded(stamp), cancel).await?);

    Ok(Issued {
        host: member.host.name.clone(),
        ca_dir: layout.dir,
        ca: ca.action,
        files: placed,
    })
}

/// The pair `cert`/`key` on `on`: as it is if it is valid for `leaf`, else `leaf` issued on
/// `ca_host`.
#[allow(clippy::too_many_arguments)]
async fn pair(
    on: Target<'_>,
    ca_host: Target<'_>,
    layout: &CaLayout,
    ca_pem: &[u8],
    leaf: &Leaf,
    cert: &str,
    key: &str,
    cancel: &CancellationToken,
) -> Result<Vec<Wanted>, CertError> {
    let found = check::inspect(on.host, on.transport, cert, key, Some(ca_pem), cancel).await?;
    let reason = match check::judge(&found, cert, key, leaf.wanted()) {
        Verdict::Valid => {
            return Ok([cert, key]
                .map(|path| Wanted {
                    path: path.to_string(),
                    bytes: None,
                    reason: String::new(),
                })
                .into());
        }
        Verdict::Missing => String::new(),
        Verdict::Invalid(why) => why,
    };
    let issued = issue::issue(
        ca_host.host,
        ca_host.transport,
        layout,
        ca_pem,
        leaf,
        cancel,
    )
    .await?;
    Ok(vec![
        Wanted {
            path: cert.to_string(),
            bytes: Some(issued.cert),
            reason: reason.clone(),
        },
        Wanted {
            path: key.to_string(),
            bytes: Some(issued.key),
            reason,
        },
    ])
}

/// Puts every file of `wanted` in place on `on` (owner-only): first a copy of each file it
/// replaces, then the writes, so a run stopped in between has every old file kept.
async fn place(
    on: Target<'_>,
    wanted: Vec<Wanted>,
    keep: &KeepAs,
    cancel: &CancellationToken,
) -> Result<Vec<Placed>, CertError> {
    let mut placed = Vec::new();
    let mut writes = Vec::new();
    for file in wanted {
        let mut result = Placed {
            host: on.host.name.clone(),
            path: file.path.clone(),
            action: FileAction::Kept,
            copy: None,
            reason: None,
        };
        if let Some(bytes) = file.bytes {
            match on.transport.read_existing(&file.path, cancel).await? {
                Some(current) if current == bytes => {}
                Some(current) => {
                    result.copy =
                        Some(copies::keep(on.transport, &file.path, &current, keep, cancel).await?);
                    result.action = FileAction::Replaced;
                    result.reason = Some(file.reason).filter(|r| !r.is_empty());
                    writes.push((file.path, bytes));
                }
                None => {
                    result.action = FileAction::Created;
                    writes.push((file.path, bytes));
                }
            }
        }
        placed.push(result);
    }
    if !writes.is_empty() {
        let dirs: BTreeSet<&str> = writes
            .iter()
            .filter_map(|(path, _)| Path::new(path).parent()?.to_str())
            .filter(|dir| !dir.is_empty())
            .collect();
        make_dirs(on, &dirs, cancel).await?;
    }
    for (path, bytes) in writes {
        on.transport
            .write_private_file(&path, &bytes, cancel)
            .await?;
    }
    Ok(placed)
}

/// Creates the directories files go to that do not exist yet, as openshift-ansible's
/// "Ensure certificate directory exists" does (a host without the etcd package has no
/// `/etc/etcd`).
async fn make_dirs(
    on: Target<'_>,
    dirs: &BTreeSet<&str>,
    cancel: &CancellationToken,
) -> Result<(), CertError> {
    let quoted: Vec<String> = dirs.iter().map(|d| shell_quote(d)).collect();
    let script = format!("mkdir -p -- {}", quoted.join(" "));
    run_on_files(on, &script, &quoted, "create the directory", cancel).await
}

/// Runs `script`, which works on the (quoted) `paths`; a failure names them and `operation`.
async fn run_on_files(
    on: Target<'_>,
    script: &str,
    paths: &[String],
    operation: &'static str,
    cancel: &CancellationToken,
) -> Result<(), CertError> {
    let output = on
        .transport
        .run(script, &RunOptions::default(), cancel)
        .await?;
    if output.success() {
        return Ok(());
    }
    Err(CertError::File(FileError::Failed {
        host: on.host.name.clone(),
        path: paths.join(" "),
        operation,
        stderr: output.stderr_text().trim().to_string(),
    }))
}

/// As openshift-ansible's "Validate permissions on certificate files": for the etcd package,
/// which runs etcd as the user `etcd`, the files written are the user's (when runbook's
/// commands there run as root and the user exists).
async fn own_by_etcd(
    on: Target<'_>,
    placed: &[Placed],
    cancel: &CancellationToken,
) -> Result<(), CertError> {
    let written: Vec<String> = placed
        .iter()
        .filter(|p| p.action != FileAction::Kept)
        .map(|p| shell_quote(&p.path))
        .collect();
    if written.is_empty() {
        return Ok(());
    }
    let script = format!(
        "if [ \"$(id -u)\" = 0 ] && id etcd >/dev/null 2>&1; then chown etcd:etcd -- {}; fi",
        written.join(" ")
    );
    run_on_files(on, &script, &written, "chown to etcd", cancel).await
}
