//! Member health as `etcdctl cluster-health` (v2: each member's `/health` says
//! `{"health":"true"}`) and `etcdctl endpoint health` (v3: a read through the
//! member succeeds in time) see it, every member asked at once.

use crate::ops::etcd::client::access::{AccessError, EtcdAccess};
use crate::ops::etcd::client::fanout::{ask_each, error_text, v3_error_text};
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::cluster::table::{self, PLANNED};
use crate::transport::TransportError;
use std::time::{Duration, Instant};

/// One member's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHealth {
    /// `ETCD_NAME` of the member.
    pub member: String,
    /// Inventory host it runs on.
    pub host: String,
    /// Client URL (and the ssh session when reached through a tunnel).
    pub endpoint: String,
    pub v2_healthy: bool,
    pub v3_healthy: bool,
    /// How long both checks took together.
    pub took: Duration,
    /// Why a check failed, when one did.
    pub error: Option<String>,
    /// The member's service, for advice on what to check.
    pub service: String,
    /// What to do, when the failure says (a certificate that does not verify).
    pub advice: Option<String>,
}

impl MemberHealth {
    /// Healthy through both APIs.
    pub fn healthy(&self) -> bool {
        self.v2_healthy && self.v3_healthy
    }
}

/// The health of every member, in inventory order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterHealth {
    pub members: Vec<MemberHealth>,
    /// Only planned (`runbook check`): nobody was asked.
    pub planned: bool,
}

impl ClusterHealth {
    /// What a plan shows in place of the health of `members`: every member healthy.
    pub fn planned(members: &[EtcdMember]) -> ClusterHealth {
        ClusterHealth {
            members: members
                .iter()
                .map(|m| MemberHealth {
                    member: m.name.clone(),
                    host: m.host.name.clone(),
                    endpoint: m.endpoint.client_url.clone(),
                    v2_healthy: true,
                    v3_healthy: true,
                    took: Duration::ZERO,
                    error: None,
                    service: m.service.clone(),
                    advice: None,
                })
                .collect(),
            planned: true,
        }
    }

    /// Every member healthy (and at least one member).
    pub fn healthy(&self) -> bool {
        !self.members.is_empty() && self.members.iter().all(MemberHealth::healthy)
    }

    pub fn unhealthy(&self) -> Vec<&MemberHealth> {
        self.members.iter().filter(|m| !m.healthy()).collect()
    }

    /// A table like `etcdctl endpoint health -w table`, with the v2 verdict too.
    pub fn table(&self) -> String {
        let yes_no = |flag: bool| if flag { "true" } else { "false" }.to_string();
        let rows: Vec<Vec<String>> = self
            .members
            .iter()
            .map(|m| {
                if self.planned {
                    let mut row = vec![m.member.clone(), m.endpoint.clone()];
                    row.extend(std::iter::repeat_n(PLANNED.to_string(), 3));
                    row.push(String::new());
                    return row;
                }
                vec![
                    m.member.clone(),
                    m.endpoint.clone(),
                    yes_no(m.v2_healthy),
                    yes_no(m.v3_healthy),
                    crate::duration::format_duration(m.took),
                    m.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table::render(
            &[
                "MEMBER",
                "ENDPOINT",
                "V2 HEALTHY",
                "V3 HEALTHY",
                "TOOK",
                "ERROR",
            ],
            &rows,
        )
    }

    /// `Err` naming each unhealthy member and why, unless every member is healthy.
    pub fn expect_healthy(&self) -> Result<(), Unhealthy> {
        if self.healthy() {
            return Ok(());
        }
        if self.members.is_empty() {
            return Err(Unhealthy {
                count: 0,
                details: "the inventory lists no etcd members".into(),
                help: "list the members under [etcd] in the inventory".into(),
            });
        }
        let bad = self.unhealthy();
        let details = bad
            .iter()
            .map(|m| {
                format!(
                    "  {} ({}): {}",
                    m.member,
                    m.endpoint,
                    m.error.as_deref().unwrap_or("unhealthy")
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let advice: Vec<&str> = bad.iter().filter_map(|m| m.advice.as_deref()).collect();
        let checks = bad
            .iter()
            // A member with specific advice (a refused certificate) gets that instead.
            .filter(|m| m.advice.is_none())
            .map(|m| cause_hint(&m.host, &m.service, m.error.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Unhealthy {
            count: bad.len(),
            details,
            help: if checks.is_empty() {
                advice.join("\n")
            } else {
                let mut help = format!(
                    "is etcd running there? check {checks}; if it runs, check that this machine reaches its client URL and that the TLS files match"
                );
                for line in advice {
                    help.push('\n');
                    help.push_str(line);
                }
                help
            },
        })
    }
}

/// What to check on one unhealthy member, by the cause its error shows.
fn cause_hint(host: &str, service: &str, error: &str) -> String {
    if error.contains("over ssh") {
        format!("on {host}: the ssh connection (ansible_user, ansible_ssh_private_key_file and the host key in known_hosts for {host}; try `ssh` to it by hand)")
    } else if error.contains("BadCertificate")
        || error.contains("UnknownCA")
        || error.contains("CertificateRequired")
    {
        format!("on {host}: the member refused this machine's client certificate: etcd_peer_cert_file and etcd_peer_key_file for {host} must be signed by the CA in the member's ETCD_TRUSTED_CA_FILE")
    } else if error.contains("TLS files") {
        format!("on {host}: the TLS file paths (etcd_peer_ca_file, etcd_peer_cert_file, etcd_peer_key_file, or etcd_conf_dir) for {host} in the inventory")
    } else if error.contains("dns error") {
        format!("on {host}: its address (etcd_ip or ansible_host for {host}) does not resolve; fix it in the inventory")
    } else {
        format!("on {host}: `systemctl status {service}` and its log (`journalctl -u {service}`)")
    }
}

/// Some members are not healthy.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{count} etcd member(s) unhealthy:\n{details}")]
#[diagnostic(code(runbook::etcd::unhealthy))]
pub struct Unhealthy {
    pub count: usize,
    pub details: String,
    #[help]
    pub help: String,
}

/// Checks every member, concurrently; a member that cannot be reached is unhealthy, with
/// the reason. `Err` only when a member's host is not usable as set up (sudo refuses, the
/// login user may not read the TLS files, a bad inventory variable): that is for the
/// operator to fix, and says nothing about etcd there.
pub async fn check(
    access: &EtcdAccess,
    members: &[EtcdMember],
) -> Result<ClusterHealth, AccessError> {
    // Each answer is bounded by the access timeout; the outer bound only guards
    // against a step that has none (such as reading TLS files over ssh).
    let outer = access.timeout() * 3;
    let answers = ask_each(members, outer, |member| async move {
        Ok::<_, String>(check_member(access, member).await)
    })
    .await;
    let mut healths = Vec::with_capacity(members.len());
    for (member, answer) in members.iter().zip(answers) {
        healths.push(match answer {
            Ok(checked) => checked?,
            Err(reason) => MemberHealth {
                member: member.name.clone(),
                host: member.host.name.clone(),
                endpoint: member.endpoint.client_url.clone(),
                v2_healthy: false,
                v3_healthy: false,
                took: outer,
                error: Some(reason),
                service: member.service.clone(),
                advice: None,
            },
        });
    }
    Ok(ClusterHealth {
        members: healths,
        planned: false,
    })
}

/// Whether `error` is about the host's setup rather than the member (see [`check`]).
fn is_setup_problem(error: &AccessError) -> bool {
    match error {
        AccessError::Transport(error) => error.is_setup_problem(),
        AccessError::TlsFiles { source, .. } => source.is_setup_problem(),
        _ => false,
    }
}

async fn check_member(
    access: &EtcdAccess,
    member: &EtcdMember,
) -> Result<MemberHealth, AccessError> {
    let started = Instant::now();
    let client_url = &member.endpoint.client_url;
    let mut health = MemberHealth {
        member: member.name.clone(),
        host: member.host.name.clone(),
        endpoint: client_url.clone(),
        v2_healthy: false,
        v3_healthy: false,
        took: Duration::ZERO,
        error: None,
        service: member.service.clone(),
        advice: None,
    };
    match access.route(member).await {
        Ok(route) => health.endpoint = route.describe(client_url),
        Err(error) if is_setup_problem(&error) => return Err(error),
        Err(error) => {
            health.error = Some(error_text(&error));
            match &error {
                // A refused host key says exactly how to check and record the key.
                AccessError::Transport(TransportError::HostKey { help, .. }) => {
                    health.advice = Some(format!("on {}: {help}", member.host.name));
                }
                // A host ssh cannot reach says nothing about etcd there.
                AccessError::Transport(error @ TransportError::Connect { .. }) => {
                    health.advice = miette::Diagnostic::help(error).map(|help| {
                        format!("{} is not reachable over ssh: {help}", member.host.name)
                    });
                }
                _ => {}
            }
            health.took = started.elapsed();
            return Ok(health);
        }
    }
    if let Err(error) = access.verify_certificates(member).await {
        if is_setup_problem(&error) {
            return Err(error);
        }
        if let AccessError::CertificateRefused { reason, help, .. } = &error {
            health.error = Some(reason.clone());
            health.advice = Some(help.clone());
        } else {
            health.error = Some(error_text(&error));
        }
        health.took = started.elapsed();
        return Ok(health);
    }
    let (v2, v3) = tokio::join!(v2_health(access, member), v3_health(access, member));
    health.took = started.elapsed();
    health.v2_healthy = v2.is_ok();
    health.v3_healthy = v3.is_ok();
    let errors: Vec<String> = [("v2", v2), ("v3", v3)]
        .into_iter()
        .filter_map(|(api, result)| result.err().map(|e| format!("{api}: {e}")))
        .collect();
    if !errors.is_empty() {
        health.error = Some(errors.join("; "));
    }
    Ok(health)
}

async fn v2_health(access: &EtcdAccess, member: &EtcdMember) -> Result<(), String> {
    let timeout = access.timeout();
    let check = async {
        let client = access.v2_member(member).await.map_err(|e| error_text(&e))?;
        match client.health().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("/health does not say {\"health\":\"true\"}".to_string()),
            Err(e) => Err(error_text(&e)),
        }
    };
    tokio::time::timeout(timeout, check)
        .await
        .unwrap_or_else(|_| Err(no_answer(timeout)))
}

async fn v3_health(access: &EtcdAccess, member: &EtcdMember) -> Result<(), String> {
    let timeout = access.timeout();
    let check = async {
        let mut client = access.v3_member(member).await.map_err(|e| error_text(&e))?;
        // As `etcdctl endpoint health`: a linearizable read of any key; being
        // refused permission still proves the member serves reads with a quorum.
        match client.get("health", None).await {
            Ok(_) => Ok(()),
            Err(etcd_client::Error::GRpcStatus(status))
                if i32::from(status.code()) == GRPC_PERMISSION_DENIED =>
            {
                Ok(())
            }
            Err(e) => Err(v3_error_text(&e)),
        }
    };
    tokio::time::timeout(timeout, check)
        .await
        .unwrap_or_else(|_| Err(no_answer(timeout)))
}

/// gRPC status code 7 (tonic is not a direct dependency, so no `Code` name).
const GRPC_PERMISSION_DENIED: i32 = 7;

fn no_answer(timeout: Duration) -> String {
    format!(
        "no answer within {}",
        crate::duration::format_duration(timeout)
    )
}
