//! Reaching etcd members from the control machine: TLS material read from each
//! member's host (through its transport), the route to each member (direct, or
//! an ssh tunnel through its host), and v3 and v2 clients per member or for the
//! whole cluster, with a timeout on every call.

use crate::interrupt::Interrupt;
use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::client::tls::{TlsError, TlsMaterial};
use crate::ops::etcd::client::tls_check::{self, Verdict};
use crate::ops::etcd::client::tls_insecure::warn_unverified;
use crate::ops::etcd::client::tls_name::{client_config, reqwest_builder_for_name, ServerCheck};
use crate::ops::etcd::client::tunnel::{self, TunnelError};
use crate::ops::etcd::client::v2::{V2Client, V2Error};
use crate::ops::etcd::client::v3::{self, V3Error};
use crate::transport::files::FileError;
use crate::transport::{ConnectionTarget, Transport, TransportError, TransportPool};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OnceCell};
use tokio_util::sync::CancellationToken;

/// Why a member could not be reached.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AccessError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Transport(#[from] TransportError),
    #[error("cannot read the TLS files of {member}: {source}")]
    #[diagnostic(
        code(runbook::etcd::tls_files),
        help("check etcd_peer_ca_file, etcd_peer_cert_file and etcd_peer_key_file (or etcd_conf_dir) for {member} in the inventory")
    )]
    TlsFiles { member: String, source: FileError },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    V3(#[from] V3Error),
    #[error(transparent)]
    #[diagnostic(transparent)]
    V2(#[from] V2Error),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Tunnel(#[from] TunnelError),
    #[error("{member}: TLS with {url} failed: {reason}")]
    #[diagnostic(code(runbook::etcd::tls_refused), help("{help}"))]
    CertificateRefused {
        member: String,
        url: String,
        reason: String,
        help: String,
    },
    #[error("{member}: etcd client URL {url} is not usable: {reason}")]
    #[diagnostic(
        code(runbook::etcd::client_url),
        help("check etcd_url_scheme, etcd_ip and etcd_client_port for {member} in the inventory")
    )]
    ClientUrl {
        member: String,
        url: String,
        reason: String,
    },
}

/// How the control machine reaches one member's client port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The URL to dial: the member's client URL, or the local end of a tunnel.
    pub url: String,
    /// Through a tunnel: the name (or IP) the member's certificate is issued
    /// for, which TLS checks instead of the dialled 127.0.0.1.
    pub server_name: Option<String>,
    /// Through a tunnel: `user@host:port` of the ssh session carrying it.
    pub via: Option<String>,
}

impl Route {
    /// `https://10.0.0.5:2379 via ssh root@10.0.0.5:22`, for messages.
    pub fn describe(&self, client_url: &str) -> String {
        match &self.via {
            Some(via) => format!("{client_url} via ssh {via}"),
            None => client_url.to_string(),
        }
    }
}

/// Connections to etcd for one run, shared by every primitive.
pub struct EtcdAccess {
    transports: Arc<TransportPool>,
    cancel: Interrupt,
    timeout: Duration,
    tls: Mutex<HashMap<String, Option<TlsMaterial>>>,
    /// One route per member host, worked out (and any tunnel opened) on first use.
    routes: Mutex<HashMap<String, Arc<OnceCell<Route>>>>,
    /// Members whose certificates were checked this run (see [`tls_check`]).
    checked: Mutex<HashSet<String>>,
}

impl EtcdAccess {
    pub fn new(transports: Arc<TransportPool>, cancel: Interrupt) -> EtcdAccess {
        EtcdAccess {
            transports,
            cancel,
            timeout: Duration::from_secs(10),
            tls: Mutex::new(HashMap::new()),
            routes: Mutex::new(HashMap::new()),
            checked: Mutex::new(HashSet::new()),
        }
    }

    /// The timeout applied to each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Cancelled when the run is interrupted (Ctrl-C).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.token()
    }

    /// The member's client TLS material, read once from its host (so certificates
    /// that live on a remote etcd host need not be copied to the control machine).
    pub async fn tls(&self, member: &EtcdMember) -> Result<Option<TlsMaterial>, AccessError> {
        let mut cache = self.tls.lock().await;
        if let Some(material) = cache.get(&member.host.name) {
            return Ok(material.clone());
        }
        let material = match &member.endpoint.tls {
            None => None,
            Some(files) => {
                let target = ConnectionTarget::from_host(&member.host)?;
                let transport = self
                    .transports
                    .get(&member.host.name, &target, &self.cancel.token())
                    .await?;
                let read = |path: &Path| {
                    let transport = transport.clone();
                    let path = path.display().to_string();
                    async move { transport.read_file(&path, &self.cancel.token()).await }
                };
                let wrap = |source| AccessError::TlsFiles {
                    member: member.name.clone(),
                    source,
                };
                Some(TlsMaterial {
                    ca_pem: read(&files.ca_file).await.map_err(wrap)?,
                    cert_pem: read(&files.cert_file).await.map_err(wrap)?,
                    key_pem: read(&files.key_file).await.map_err(wrap)?,
                })
            }
        };
        if material.is_some() && member.endpoint.insecure_skip_verify {
            warn_unverified(&member.host.name, &member.endpoint.client_url);
        }
        cache.insert(member.host.name.clone(), material.clone());
        Ok(material)
    }

    /// Checks the member's certificates (once per run): `Err` with
    /// [`AccessError::CertificateRefused`] if they do not do, or if the route
    /// or the TLS files are not usable.
    pub async fn verify_certificates(&self, member: &EtcdMember) -> Result<(), AccessError> {
        let route = self.route(member).await?;
        let tls = self.tls(member).await?;
        self.check_tls(member, &route, tls.as_ref()).await
    }

    /// How the member's server certificate is checked on `route`.
    fn server_check<'a>(member: &EtcdMember, route: &'a Route) -> Option<ServerCheck<'a>> {
        if member.endpoint.insecure_skip_verify {
            return Some(ServerCheck::Skip);
        }
        route.server_name.as_deref().map(ServerCheck::Name)
    }

    /// Checks the member's certificates once per run (until a check gets an
    /// answer): a refusal becomes [`AccessError::CertificateRefused`].
    async fn check_tls(
        &self,
        member: &EtcdMember,
        route: &Route,
        tls: Option<&TlsMaterial>,
    ) -> Result<(), AccessError> {
        let Some(tls) = tls else {
            return Ok(());
        };
        if self.checked.lock().await.contains(&member.host.name) {
            return Ok(());
        }
        let dialled_host = reqwest::Url::parse(&member.endpoint.client_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let check = Self::server_check(member, route).unwrap_or(ServerCheck::Name(&dialled_host));
        let verdict = tls_check::check(
            &member.host.name,
            &route.url,
            tls,
            member.endpoint.tls.as_ref(),
            check,
            self.timeout,
        )
        .await;
        match verdict {
            Verdict::Accepted => {
                self.checked.lock().await.insert(member.host.name.clone());
                Ok(())
            }
            Verdict::Unknown => Ok(()),
            Verdict::Refused { reason, help } => Err(AccessError::CertificateRefused {
                member: member.host.name.clone(),
                url: route.describe(&member.endpoint.client_url),
                reason,
                help,
            }),
        }
    }

    /// How to reach the member: through an ssh tunnel when its host is an ssh
    /// host (unless `runbook_etcd_tunnel=false`), else its client URL directly.
    pub async fn route(&self, member: &EtcdMember) -> Result<Route, AccessError> {
        let cell = {
            let mut routes = self.routes.lock().await;
            Arc::clone(routes.entry(member.host.name.clone()).or_default())
        };
        cell.get_or_try_init(|| self.open_route(member))
            .await
            .cloned()
    }

    /// The member's client URL for messages, with the ssh session when tunnelled.
    pub async fn endpoint_text(&self, member: &EtcdMember) -> String {
        match self.route(member).await {
            Ok(route) => route.describe(&member.endpoint.client_url),
            Err(_) => member.endpoint.client_url.clone(),
        }
    }

    async fn open_route(&self, member: &EtcdMember) -> Result<Route, AccessError> {
        let direct = Route {
            url: member.endpoint.client_url.clone(),
            server_name: None,
            via: None,
        };
        let setting = tunnel::tunnel_setting(&member.host)?;
        let target = ConnectionTarget::from_host(&member.host)?;
        // A local host has no ssh session to tunnel through.
        if setting == Some(false) || target.is_local() {
            return Ok(direct);
        }
        let url_error = |reason: &str| AccessError::ClientUrl {
            member: member.name.clone(),
            url: member.endpoint.client_url.clone(),
            reason: reason.to_string(),
        };
        let url = reqwest::Url::parse(&member.endpoint.client_url)
            .map_err(|e| url_error(&e.to_string()))?;
        let host = url.host_str().ok_or_else(|| url_error("it has no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| url_error("it has no port"))?;
        let transport = self
            .transports
            .get(&member.host.name, &target, &self.cancel.token())
            .await?;
        let Transport::Ssh(ssh) = &*transport else {
            return Ok(direct);
        };
        let local = tunnel::open(ssh, &member.name, host, port).await?;
        Ok(Route {
            url: format!("{}://{local}", url.scheme()),
            server_name: Some(host.trim_matches(['[', ']']).to_string()),
            via: Some(ssh.address().to_string()),
        })
    }

    /// A v3 client talking to this member only.
    pub async fn v3_member(&self, member: &EtcdMember) -> Result<etcd_client::Client, AccessError> {
        self.v3_member_with_timeout(member, self.timeout).await
    }

    /// Like [`EtcdAccess::v3_member`], with `timeout` on each call instead of the run's:
    /// for calls that keep a member busy for long (defragmenting, streaming a snapshot).
    pub async fn v3_member_with_timeout(
        &self,
        member: &EtcdMember,
        timeout: Duration,
    ) -> Result<etcd_client::Client, AccessError> {
        let route = self.route(member).await?;
        let tls = self.tls(member).await?;
        self.v3_on_route_with(member, &route, tls.as_ref(), timeout)
            .await
    }

    async fn v3_on_route(
        &self,
        member: &EtcdMember,
        route: &Route,
        tls: Option<&TlsMaterial>,
    ) -> Result<etcd_client::Client, AccessError> {
        self.v3_on_route_with(member, route, tls, self.timeout)
            .await
    }

    async fn v3_on_route_with(
        &self,
        member: &EtcdMember,
        route: &Route,
        tls: Option<&TlsMaterial>,
        timeout: Duration,
    ) -> Result<etcd_client::Client, AccessError> {
        self.check_tls(member, route, tls).await?;
        if let (Some(tls), true) = (tls, member.endpoint.insecure_skip_verify) {
            let config = client_config(tls, ServerCheck::Skip)?;
            return Ok(
                crate::ops::etcd::client::v3_rustls::connect(&route.url, config, timeout).await?,
            );
        }
        let options = match (tls, &route.server_name) {
            (Some(tls), Some(name)) => etcd_client::ConnectOptions::new()
                .with_tls(tls.etcd_tls_options().domain_name(name.clone())),
            (Some(tls), None) => tls.connect_options(),
            (None, _) => etcd_client::ConnectOptions::new(),
        };
        Ok(v3::connect_with(std::slice::from_ref(&route.url), options, timeout).await?)
    }

    /// A v3 client balanced over every given member (TLS of the first). Members
    /// reached through ssh tunnels each have their own certificate name, which one
    /// client cannot check for several endpoints: then the client talks to the
    /// first member whose tunnel opens.
    pub async fn v3_cluster(
        &self,
        members: &[EtcdMember],
    ) -> Result<etcd_client::Client, AccessError> {
        let Some(first) = members.first() else {
            return Err(V3Error::Connect {
                endpoints: String::new(),
                reason: "no etcd members".into(),
            }
            .into());
        };
        let mut routes = Vec::with_capacity(members.len());
        let mut last_error = None;
        for member in members {
            match self.route(member).await {
                Ok(route) => routes.push((member, route)),
                Err(error) => last_error = Some(error),
            }
        }
        if let Some((member, route)) = routes.iter().find(|(_, r)| r.via.is_some()) {
            let tls = self.tls(member).await?;
            return self.v3_on_route(member, route, tls.as_ref()).await;
        }
        if routes.is_empty() {
            if let Some(error) = last_error {
                return Err(error);
            }
        }
        // Unverified members get a client of their own each, which cannot
        // balance: talk to the first member that accepts a connection.
        if first.endpoint.insecure_skip_verify {
            let mut chosen = routes.first();
            for candidate in &routes {
                if self.accepts_connections(&candidate.1.url).await {
                    chosen = Some(candidate);
                    break;
                }
            }
            if let Some((member, route)) = chosen {
                let tls = self.tls(member).await?;
                return self.v3_on_route(member, route, tls.as_ref()).await;
            }
        }
        // The client balances calls over its endpoints without retrying another: a member
        // that is down would fail the calls sent its way. Leave out those that refuse a
        // connection now (all of them kept when none accepts, so the error says why).
        let accepting = futures_util::future::join_all(
            routes.iter().map(|(_, r)| self.accepts_connections(&r.url)),
        )
        .await;
        if accepting.iter().any(|up| *up) {
            routes = routes
                .into_iter()
                .zip(accepting)
                .filter_map(|(route, up)| up.then_some(route))
                .collect();
        }
        let tls = self.tls(first).await?;
        for (member, route) in &routes {
            self.check_tls(member, route, tls.as_ref()).await?;
        }
        let endpoints: Vec<String> = routes.iter().map(|(_, r)| r.url.clone()).collect();
        Ok(v3::connect(&endpoints, tls.as_ref(), self.timeout).await?)
    }

    /// A v2 HTTP client talking to this member only.
    pub async fn v2_member(&self, member: &EtcdMember) -> Result<V2Client, AccessError> {
        let route = self.route(member).await?;
        let tls = self.tls(member).await?;
        let url = reqwest::Url::parse(&route.url).map_err(|e| V2Error::Url {
            url: route.url.clone(),
            reason: e.to_string(),
        })?;
        self.check_tls(member, &route, tls.as_ref()).await?;
        let builder = match (&tls, &route.server_name) {
            (Some(tls), _) if member.endpoint.insecure_skip_verify => reqwest::Client::builder()
                .use_preconfigured_tls(client_config(tls, ServerCheck::Skip)?),
            (Some(tls), Some(name)) => reqwest_builder_for_name(tls, name)?,
            (Some(tls), None) => tls.reqwest_builder()?,
            (None, _) => reqwest::Client::builder(),
        };
        Ok(V2Client::from_builder(vec![url], builder, self.timeout)?)
    }

    /// Whether a TCP connection to `url`'s host and port opens within the timeout.
    async fn accepts_connections(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url) else {
            return false;
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let host = host.trim_matches(['[', ']']).to_string();
        matches!(
            tokio::time::timeout(
                self.timeout,
                tokio::net::TcpStream::connect((host.as_str(), port))
            )
            .await,
            Ok(Ok(_))
        )
    }
}
