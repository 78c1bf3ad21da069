//! `runbook lab up`: lay out the hosts, make certificates, start the members through the
//! service controller, wait for health, seed v2 data, start the master stand-ins, and write
//! `inventory.ini` and `env`. An embedded etcd is started as its master's service, from the
//! master's config, and its lab gets a spare host for moving the etcd out, with
//! `inventory-external.ini` and `env-external`. Anything it started is stopped again if a
//! later step fails.

use super::certs::LabCa;
use super::embedded_etcd_config::{EmbeddedEtcd, EMBEDDED_MEMBER_NAME};
use super::error::LabError;
use super::fsutil::{create_dir, create_private_dir, shell_quote, write_file};
use super::layout::{member_name, LabLayout, MASTER_HOST, MASTER_SERVICES};
use super::pidfile::recorded_processes;
use super::seed::{seed, SeedStats};
use super::seed_plan::SeedPlan;
use super::service_script;
use super::services::LabServices;
use super::spare_host;
use super::state::{LabState, Member, KIND};
use super::{embedded_options, env_file, etcd_conf, inventory_file, master_config, ports};
use super::{lab_client, LabOptions};
use crate::ops::etcd::V2Client;
use crate::ops::service::ServiceAction;
use crate::report::Reporter;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long a member may take to report healthy after start.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
/// New ports are tried this many times when another process took one first.
const PORT_ATTEMPTS: usize = 3;

/// What DIR holds before `up`.
enum Existing {
    /// Nothing, or an empty directory (`created` says whether `up` creates it).
    Fresh { created: bool },
    /// A lab that is already up.
    Up(Box<LabState>),
}

pub async fn up(
    options: &LabOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<(), LabError> {
    embedded_options::check(options)?;
    if options.members == 0 {
        return Err(LabError::Options {
            reason: "--members must be at least 1".into(),
        });
    }
    let layout = LabLayout::new(&super::fsutil::absolute(&options.dir)?);
    match inspect(&layout, cancel).await? {
        Existing::Up(state) => {
            reporter.status(&format!(
                "the lab in {} is already up; nothing changed",
                layout.dir.display()
            ));
            if state.layout != options.etcd_layout {
                reporter.status(&format!(
                    "note: its etcd layout is {}, not {}; `runbook lab down` it first to change that",
                    state.layout, options.etcd_layout
                ));
            }
            print_summary(&layout, &state, None, reporter, true);
            return Ok(());
        }
        Existing::Fresh { created } => {
            let etcd = find_on_path("etcd").ok_or_else(|| LabError::EtcdMissing {
                binary: "etcd".to_string(),
            })?;
            if options.etcd_layout.is_embedded() && find_on_path("python3").is_none() {
                return Err(LabError::ToolMissing {
                    binary: "python3".to_string(),
                    needed_for: "the embedded etcd's master service reads its config with it"
                        .to_string(),
                });
            }
            let result = build(options, &layout, &etcd, reporter, cancel).await;
            if let Err(error) = result {
                reporter.status("lab up failed: stopping what it started");
                tear_down(&layout, created).await;
                return Err(error);
            }
        }
    }
    Ok(())
}

async fn inspect(layout: &LabLayout, cancel: &CancellationToken) -> Result<Existing, LabError> {
    let dir = &layout.dir;
    if !dir.exists() {
        return Ok(Existing::Fresh { created: true });
    }
    if !layout.state_file().exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|e| LabError::io("read", dir, e))?;
        if entries.next().is_none() {
            return Ok(Existing::Fresh { created: false });
        }
        return Err(LabError::NotALab { dir: dir.clone() });
    }
    let state = LabState::load(layout)?;
    if !state.ready {
        return Err(LabError::Incomplete { dir: dir.clone() });
    }
    let services = LabServices::new(layout);
    let mut stopped = Vec::new();
    for (host, service) in state.services() {
        if !services.is_active(&host, &service, cancel).await? {
            stopped.push(format!("{service} on {host}"));
        }
    }
    if !stopped.is_empty() {
        let verb = if stopped.len() == 1 { "is" } else { "are" };
        return Err(LabError::PartlyDown {
            dir: dir.clone(),
            stopped: format!("{} {verb}", stopped.join(", ")),
            script: layout.service_script(),
        });
    }
    Ok(Existing::Up(Box::new(state)))
}

/// The absolute path of `binary` on PATH.
fn find_on_path(binary: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(binary))
        .find(|candidate| {
            candidate
                .metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

async fn build(
    options: &LabOptions,
    layout: &LabLayout,
    etcd: &Path,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<(), LabError> {
    let embedded = options.etcd_layout.is_embedded();
    // An embedded etcd's one member lives on the master's host.
    let names: Vec<String> = if embedded {
        vec![MASTER_HOST.to_string()]
    } else {
        (0..options.members).map(member_name).collect()
    };
    reporter.status(&format!(
        "creating a lab in {}: {} member(s), {}, etcd layout {} (service {})",
        layout.dir.display(),
        names.len(),
        if options.tls { "TLS" } else { "no TLS" },
        options.etcd_layout,
        options.etcd_layout.service()
    ));
    create_dir(&layout.dir)?;
    service_script::write_controller(layout)?;
    let ca = LabCa::new()?;
    for name in names.iter().filter(|_| !embedded) {
        let host = layout.host(name);
        create_private_dir(&host.etcd_conf_dir())?;
        create_private_dir(&host.etcd_data_dir(options.etcd_layout))?;
        create_dir(&host.root.join("run"))?;
        create_dir(&host.root.join("var/log"))?;
        ca.write_member(&host)?;
        service_script::write_etcd_start(&host, options.etcd_layout.service(), etcd)?;
    }
    let master = layout.host(MASTER_HOST);
    create_private_dir(&master.master_config_dir())?;
    create_dir(&master.root.join("run"))?;
    create_dir(&master.root.join("var/log"))?;
    if embedded {
        create_dir(&master.openshift_data_dir())?;
        create_private_dir(&master.etcd_data_dir(options.etcd_layout))?;
        ca.write_embedded_master(&master)?;
        let snapshots = super::etcd_conf::snapshot_count(options.keys);
        service_script::write_embedded_etcd(&master, etcd, snapshots)?;
        spare_host::write(&layout.host(&spare_host::name()), etcd)?;
    } else {
        ca.write_master(&master)?;
    }
    for service in super::layout::master_services(options.etcd_layout) {
        service_script::write_master_start(&master, service)?;
    }
    if options.master_writes {
        service_script::write_master_writer(&master)?;
    }

    let services = LabServices::new(layout);
    let mut state = start_members(options, layout, &names, &services, cancel).await?;
    let client = lab_client(layout, &state, Duration::from_secs(30))?;
    wait_healthy(layout, &state, &client, reporter, cancel).await?;

    let plan = Arc::new(SeedPlan::with_expiring(options.keys, options.expiring));
    let stats = seed(&client, plan, reporter, cancel).await?;
    reporter.status(&format!(
        "seeded {} v2 keys ({:.1} MiB) in {:.1}s: {:.0} keys/s",
        stats.keys,
        stats.bytes as f64 / (1024.0 * 1024.0),
        stats.elapsed.as_secs_f64(),
        stats.keys_per_second()
    ));

    // An embedded etcd's master is up already: its service is the etcd seeded above.
    if !embedded {
        master_config::write(&master, &state.client_urls())?;
        for service in MASTER_SERVICES {
            check_cancel(cancel)?;
            services
                .control(MASTER_HOST, service, ServiceAction::Start, cancel)
                .await?;
        }
    }
    write_file(
        &layout.inventory_file(),
        inventory_file::render(layout, &state).as_bytes(),
    )?;
    write_file(
        &layout.env_file(),
        env_file::render(layout, &state).as_bytes(),
    )?;
    if let Some(text) = inventory_file::render_external(layout, &state) {
        write_file(&layout.external_inventory_file(), text.as_bytes())?;
    }
    if let Some(text) = env_file::render_external(layout, &state) {
        write_file(&layout.external_env_file(), text.as_bytes())?;
    }
    state.ready = true;
    state.save(layout)?;
    print_summary(layout, &state, Some(&stats), reporter, false);
    Ok(())
}

pub(crate) fn check_cancel(cancel: &CancellationToken) -> Result<(), LabError> {
    if cancel.is_cancelled() {
        Err(LabError::Interrupted)
    } else {
        Ok(())
    }
}

/// Picks ports, writes what the members start from (`write_etcd_config`) and starts them;
/// when a port was taken in the meantime, stops them, wipes their data and tries again
/// with new ports.
async fn start_members(
    options: &LabOptions,
    layout: &LabLayout,
    names: &[String],
    services: &LabServices,
    cancel: &CancellationToken,
) -> Result<LabState, LabError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        // An embedded lab's spare host gets its two ports now, so no other lab takes them.
        let spare = options.etcd_layout.is_embedded();
        let count = names.len() * 2 + if spare { 2 } else { 0 };
        let ports = ports::pick_free_ports(count, &layout.dir)?;
        let state = LabState {
            kind: KIND.to_string(),
            version: 1,
            tls: options.tls,
            keys: options.keys,
            expiring: options.expiring,
            layout: options.etcd_layout,
            members: names
                .iter()
                .enumerate()
                .map(|(i, name)| Member {
                    name: name.clone(),
                    client_port: ports[2 * i],
                    peer_port: ports[2 * i + 1],
                    address: None,
                })
                .collect(),
            master: MASTER_HOST.to_string(),
            ready: false,
            network: None,
            spare: spare.then(|| Member {
                name: spare_host::name(),
                client_port: ports[count - 2],
                peer_port: ports[count - 1],
                address: None,
            }),
        };
        state.save(layout)?;
        write_etcd_config(layout, &state)?;
        let service = state.etcd_service();
        let mut failure = None;
        for member in &state.members {
            check_cancel(cancel)?;
            if let Err(error) = services
                .control(&member.name, service, ServiceAction::Start, cancel)
                .await
            {
                failure = Some(error);
                break;
            }
        }
        let Some(error) = failure else {
            return Ok(state);
        };
        let port_taken = state.members.iter().any(|m| {
            std::fs::read_to_string(layout.host(&m.name).log_file(service))
                .map(|log| log.contains("address already in use"))
                .unwrap_or(false)
        });
        if !port_taken || attempt >= PORT_ATTEMPTS {
            return Err(error);
        }
        for member in &state.members {
            let _ = services
                .control(&member.name, service, ServiceAction::Stop, cancel)
                .await;
            let host = layout.host(&member.name);
            let data = host.etcd_data_dir(state.layout);
            std::fs::remove_dir_all(&data).map_err(|e| LabError::io("remove", &data, e))?;
            create_private_dir(&data)?;
            let log = host.log_file(service);
            let _ = std::fs::remove_file(&log);
        }
    }
}

/// Writes what etcd reads at start: each member's etcd.conf, or for an embedded etcd its
/// master's master-config.yaml, whose `etcdConfig` the master service runs.
fn write_etcd_config(layout: &LabLayout, state: &LabState) -> Result<(), LabError> {
    if state.layout.is_embedded() {
        let master = layout.host(&state.master);
        return master_config::write_embedded(&master, &EmbeddedEtcd::of(state, &master));
    }
    for member in &state.members {
        let host = layout.host(&member.name);
        write_file(
            &host.etcd_conf_file(),
            etcd_conf::render(state, member, &host).as_bytes(),
        )?;
    }
    Ok(())
}

pub(crate) async fn wait_healthy(
    layout: &LabLayout,
    state: &LabState,
    client: &V2Client,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<(), LabError> {
    let started = Instant::now();
    reporter.status("waiting for every member to be healthy");
    for (index, member) in state.members.iter().enumerate() {
        let Some(one) = client.member(index) else {
            continue;
        };
        let mut last;
        loop {
            check_cancel(cancel)?;
            match tokio::time::timeout(Duration::from_secs(2), one.health()).await {
                Ok(Ok(true)) => break,
                Ok(Ok(false)) => last = "/health says false".into(),
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = "/health did not answer within 2s".into(),
            }
            if started.elapsed() > HEALTH_TIMEOUT {
                return Err(LabError::Unhealthy {
                    member: member.name.clone(),
                    url: state.client_url(member),
                    waited_secs: HEALTH_TIMEOUT.as_secs(),
                    reason: last,
                    log: layout.host(&member.name).log_file(state.etcd_service()),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// Stops every process a failed `up` started (through the controller, then by pid),
/// and removes what it wrote.
async fn tear_down(layout: &LabLayout, created: bool) {
    let cancel = CancellationToken::new();
    let services = LabServices::new(layout);
    let processes = recorded_processes(layout);
    for process in &processes {
        let _ = services
            .control(
                &process.host,
                &process.service,
                ServiceAction::Stop,
                &cancel,
            )
            .await;
    }
    for process in &processes {
        process.kill(Duration::from_secs(5));
    }
    if created {
        let _ = std::fs::remove_dir_all(&layout.dir);
    } else if let Ok(entries) = std::fs::read_dir(&layout.dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

fn print_summary(
    layout: &LabLayout,
    state: &LabState,
    stats: Option<&SeedStats>,
    reporter: &Reporter,
    already_up: bool,
) {
    let processes = recorded_processes(layout);
    let pid_of = |host: &str, service: &str| {
        processes
            .iter()
            .find(|p| p.host == host && p.service == service)
            .map(|p| p.pid)
    };
    let dir = layout.dir.display();
    let mut text = if already_up {
        format!("lab in {dir} is already up (nothing changed)\n")
    } else {
        format!("lab in {dir} is up\n")
    };
    let members_text = if state.layout.is_embedded() {
        format!(
            "etcd member {EMBEDDED_MEMBER_NAME} embedded in {}",
            state.master
        )
    } else {
        format!("{} etcd member(s)", state.members.len())
    };
    text.push_str(&format!(
        "  {members_text}, {}, {} v2 keys seeded\n  etcd layout {}: service {}, data in {}\n",
        if state.tls {
            "client and peer TLS"
        } else {
            "no TLS"
        },
        state.keys,
        state.layout,
        state.etcd_service(),
        state.layout.data_dir()
    ));
    let mut members = Vec::new();
    for member in &state.members {
        let pid = pid_of(&member.name, state.etcd_service());
        text.push_str(&format!(
            "  {:<8} {}  pid {}\n",
            member.name,
            state.client_url(member),
            pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into())
        ));
        members.push(json!({
            "name": member.name,
            "client_url": state.client_url(member),
            "peer_url": state.peer_url(member),
            "pid": pid,
        }));
    }
    // An embedded etcd's line above is its master service's.
    let master_only = state
        .master_services()
        .iter()
        .filter(|service| !state.layout.is_embedded() || **service != state.etcd_service());
    for service in master_only {
        let pid = pid_of(&state.master, service);
        text.push_str(&format!(
            "  {:<8} {service}  pid {}\n",
            state.master,
            pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into())
        ));
    }
    let spare = state.spare.as_ref().map(|spare| {
        let service = spare_host::SPARE_LAYOUT.service();
        let running = processes
            .iter()
            .find(|p| p.host == spare.name && p.service == service && p.is_alive())
            .map(|p| p.pid);
        let condition =
            spare_host::condition(&layout.host(&spare.name), running.is_some(), running);
        text.push_str(&format!(
            "  {:<8} spare host, {condition}: the new etcd host of {}, for runbooks/{}\n",
            spare.name,
            shell_quote(&layout.external_inventory_file().to_string_lossy()),
            spare_host::RUNBOOK,
        ));
        json!({
            "name": spare.name,
            "client_url": state.client_url(spare),
            "peer_url": state.peer_url(spare),
            "condition": condition,
            "pid": running,
            "inventory": layout.external_inventory_file(),
            "env": layout.external_env_file(),
        })
    });
    if let Some(stats) = stats {
        text.push_str(&format!(
            "  seeding took {:.1}s ({:.0} keys/s)\n",
            stats.elapsed.as_secs_f64(),
            stats.keys_per_second()
        ));
    }
    let env = shell_quote(&layout.env_file().to_string_lossy());
    let inventory = shell_quote(&layout.inventory_file().to_string_lossy());
    let lab_dir = shell_quote(&layout.dir.to_string_lossy());
    text.push_str(&format!(
        "next:\n  source {env}        # then: etcdctl endpoint health; etcdctl2 cluster-health\n"
    ));
    // The migration refuses an embedded etcd: it must be moved out first.
    if !state.layout.is_embedded() {
        text.push_str(&format!(
            "  runbook run runbooks/v2-to-v3.rhai -i {inventory}\n"
        ));
    }
    text.push_str(&format!(
        "  runbook lab status --dir {lab_dir}\n  runbook lab down --dir {lab_dir}\n"
    ));
    reporter.result(
        &text,
        json!({
            "dir": layout.dir,
            "already_up": already_up,
            "tls": state.tls,
            "keys": state.keys,
            "layout": state.layout,
            "etcd_service": state.etcd_service(),
            "members": members,
            "master": state.master,
            "inventory": layout.inventory_file(),
            "env": layout.env_file(),
            "spare": spare,
            "seed_seconds": stats.map(|s| s.elapsed.as_secs_f64()),
            "keys_per_second": stats.map(|s| s.keys_per_second()),
        }),
    );
}
