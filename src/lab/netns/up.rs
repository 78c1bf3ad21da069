//! `runbook lab up --hosts netns`: record and create the namespaces, lay out each host's
//! filesystem, certificates (openshift-ansible's names, SANs with the address and the
//! names) and etcd.conf, boot every host, start etcd on all members at once (a new member
//! is ready only once the cluster has quorum), seed v2 data, start the master services, and
//! write `inventory.ini` (groups and the ssh login only) and `env`. What a failed `up`
//! made is taken down again.

use super::host::{self, Unit};
use super::network::Network;
use super::{down, etcd_conf, exec};
use crate::lab::certs::LabCa;
use crate::lab::error::LabError;
use crate::lab::fsutil::{create_dir, create_private_dir, write_file, write_private_file};
use crate::lab::layout::{member_name, HostLayout, LabLayout, MASTER_HOST, MASTER_SERVICES};
use crate::lab::seed::seed;
use crate::lab::seed_plan::SeedPlan;
use crate::lab::state::{LabState, Member, KIND};
use crate::lab::up::{check_cancel, wait_healthy};
use crate::lab::{env_file, lab_client, master_config, LabOptions};
use crate::report::Reporter;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The master stand-in's start script (`master-start.sh` of the loopback lab).
const MASTER_START: &str = include_str!("../master-start.sh");

/// The part of `up` that runs before the async runtime starts, in the root namespace:
/// checks, records the namespaces in lab.json, then creates them. With `management`, every
/// host gets a second address on a management network, the only one the control side is on.
pub fn prepare(options: &LabOptions, management: bool) -> Result<(LabLayout, LabState), LabError> {
    crate::lab::embedded_options::check_separate_hosts(options, management)?;
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LabError::NeedsRoot);
    }
    let layout = LabLayout::new(&crate::lab::fsutil::absolute(&options.dir)?);
    let dir = &layout.dir;
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|e| LabError::io("read", dir, e))?;
        if entries.next().is_some() {
            return Err(if layout.state_file().exists() {
                LabError::Options {
                    reason: format!(
                        "{} already holds a lab: `runbook lab down --dir {}` it first",
                        dir.display(),
                        dir.display()
                    ),
                }
            } else {
                LabError::NotALab { dir: dir.clone() }
            });
        }
    }
    let names: Vec<String> = (0..options.members).map(member_name).collect();
    let network = Network::plan(dir, &names, &[MASTER_HOST.to_string()], management);
    let state = LabState {
        kind: KIND.to_string(),
        version: 1,
        tls: true,
        keys: options.keys,
        expiring: options.expiring,
        layout: options.etcd_layout,
        members: names
            .iter()
            .map(|name| Member {
                name: name.clone(),
                client_port: 2379,
                peer_port: 2380,
                address: network.host(name).map(|h| h.address.clone()),
            })
            .collect(),
        master: MASTER_HOST.to_string(),
        ready: false,
        network: Some(network.clone()),
        spare: None,
    };
    create_dir(dir)?;
    state.save(&layout)?;
    if let Err(error) = network.create() {
        down::tear_down(&layout, &state);
        let _ = std::fs::remove_dir_all(&layout.dir);
        return Err(error);
    }
    Ok((layout, state))
}

/// The rest of `up`, run from the control namespace.
pub async fn build(
    layout: &LabLayout,
    mut state: LabState,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<(), LabError> {
    let result = build_hosts(layout, &mut state, reporter, cancel).await;
    if let Err(error) = result {
        reporter.status("lab up failed: stopping what it started");
        // The log goes with the directory: its end is shown first.
        if let LabError::HostBoot { log, .. }
        | LabError::Unhealthy { log, .. }
        | LabError::Service { log, .. } = &error
        {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let mut tail: Vec<&str> = text.lines().rev().take(20).collect();
            tail.reverse();
            reporter.status(&format!(
                "the end of {}:\n{}",
                log.display(),
                tail.join("\n")
            ));
        }
        down::tear_down(layout, &state);
        let _ = std::fs::remove_dir_all(&layout.dir);
        return Err(error);
    }
    Ok(())
}

fn network(state: &LabState) -> &Network {
    state
        .network
        .as_ref()
        .expect("a netns lab records its network")
}

async fn build_hosts(
    layout: &LabLayout,
    state: &mut LabState,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<(), LabError> {
    let network = network(state).clone();
    reporter.status(&format!(
        "creating a lab of separate hosts in {}: {} etcd member(s) and {}, each in its own network and mount namespace on {}.0/24",
        layout.dir.display(),
        state.members.len(),
        state.master,
        super::network::SUBNET
    ));
    let etcd_user = EtcdUser::find()?;
    let client_key = layout.dir.join("ssh/id_ed25519");
    create_private_dir(&layout.dir.join("ssh"))?;
    host::keygen(&client_key, "runbook lab")?;
    let authorized = std::fs::read(client_key.with_extension("pub"))
        .map_err(|e| LabError::io("read", &client_key, e))?;
    let ca = LabCa::new()?;
    let login = host::LoginUser::pick()?;
    let hosts_file = network.hosts_file();
    let members: Vec<_> = state
        .members
        .iter()
        .filter_map(|m| network.host(&m.name))
        .collect();
    let token = format!("etcd-cluster-{}", std::process::id());
    let mut known_hosts = String::new();
    for net in &network.hosts {
        let host = layout.host(&net.name);
        host::prepare(&host, net, &hosts_file, &login)?;
        write_private_file(&host.root.join("root/.ssh/authorized_keys"), &authorized)?;
        let home = host.root.join(login.home.trim_start_matches('/'));
        write_private_file(&home.join(".ssh/authorized_keys"), &authorized)?;
        host::own_login_home(&host, &login)?;
        let public = std::fs::read_to_string(host.root.join("etc/ssh/ssh_host_ed25519_key.pub"))
            .map_err(|e| LabError::io("read", &host.root, e))?;
        let key: Vec<&str> = public.split_whitespace().take(2).collect();
        let mut names = vec![net.name.clone(), net.fqdn(), net.address.clone()];
        if let Some(management) = &net.management {
            names.extend([net.management_fqdn(), management.clone()]);
        }
        known_hosts.push_str(&format!("{} {}\n", names.join(","), key.join(" ")));
    }
    write_file(&layout.dir.join("ssh/known_hosts"), known_hosts.as_bytes())?;
    for net in &members {
        let host = layout.host(&net.name);
        write_member_files(
            &host,
            net,
            &ca,
            &etcd_conf::render(
                net,
                &members,
                &token,
                crate::lab::etcd_conf::snapshot_count(state.keys),
            ),
        )?;
        etcd_user.own(&host.etcd_conf_dir(), true)?;
        etcd_user.own(&host.root.join("var/lib/etcd"), false)?;
        host::write_unit(
            &host,
            "etcd",
            &Unit {
                description: "Etcd Server",
                exec: vec!["/usr/bin/etcd".into()],
                user: Some("etcd"),
                environment_file: Some("-/etc/etcd/etcd.conf"),
                working_directory: "/var/lib/etcd/",
                kind: "notify",
                timeout_start: 90,
                timeout_stop: 90,
            },
        )?;
    }
    let master = layout.host(&state.master);
    write_master_files(&master, &members, &ca)?;
    exec::prepare(layout, state)?;

    let mut anchors = Vec::new();
    for net in &network.hosts {
        check_cancel(cancel)?;
        anchors.push(host::boot(&layout.dir, &layout.host(&net.name), net)?);
        reporter.status(&format!(
            "{} is up at {} (sshd on port 22)",
            net.name,
            addresses(net)
        ));
    }
    // Every member at once: a member of a new cluster is ready only when there is a quorum.
    let mut starts = Vec::new();
    for anchor in anchors.iter().filter(|a| a.host != state.master) {
        let anchor = anchor.clone();
        starts.push(tokio::task::spawn_blocking(move || {
            host::run_in(&anchor, &["systemctl", "start", "etcd"])
        }));
    }
    for start in starts {
        start.await.map_err(|e| LabError::Netns {
            what: "starting etcd".into(),
            reason: e.to_string(),
        })??;
    }
    let client = lab_client(layout, state, Duration::from_secs(30))?;
    wait_healthy(layout, state, &client, reporter, cancel).await?;
    let plan = Arc::new(SeedPlan::with_expiring(state.keys, state.expiring));
    let stats = seed(&client, plan, reporter, cancel).await?;
    reporter.status(&format!(
        "seeded {} v2 keys ({:.1} MiB) in {:.1}s",
        stats.keys,
        stats.bytes as f64 / (1024.0 * 1024.0),
        stats.elapsed.as_secs_f64()
    ));
    let master_anchor = anchors
        .iter()
        .find(|a| a.host == state.master)
        .expect("the master was booted");
    for service in MASTER_SERVICES {
        host::run_in(master_anchor, &["systemctl", "start", service])?;
    }
    write_file(
        &layout.inventory_file(),
        inventory(layout, state).as_bytes(),
    )?;
    write_file(
        &layout.env_file(),
        env_file::render(layout, state).as_bytes(),
    )?;
    state.ready = true;
    state.save(layout)?;
    let mut summary = format!("lab of separate hosts in {} is up\n", layout.dir.display());
    for net in &network.hosts {
        summary.push_str(&format!(
            "  {:<9} {:<12} {}\n",
            net.name,
            addresses(net),
            net.fqdn()
        ));
    }
    let dir = layout.dir.display();
    // With a management network only the hosts reach etcd's addresses.
    let checks_on = if network.management {
        format!(" --on {}", state.master)
    } else {
        String::new()
    };
    summary.push_str(&format!(
        "next:\n  runbook lab exec --dir {dir} -- runbook run runbooks/v2-to-v3.rhai -i {dir}/inventory.ini\n  \
         runbook lab exec --dir {dir}{checks_on} -- sh -c '. {dir}/env && etcdctl member list'\n  \
         (to log in as the non-root user `{user}` with passwordless sudo: ansible_ssh_user={user} ansible_become=true)\n  \
         runbook lab down --dir {dir}\n",
        user = login.name
    ));
    reporter.status(summary.trim_end());
    Ok(())
}

/// The host's address, and its management address after a slash.
fn addresses(net: &super::network::NetHost) -> String {
    match &net.management {
        Some(management) => format!("{} / {management} (management)", net.address),
        None => net.address.clone(),
    }
}

/// `ca.crt`, `server.crt/key`, `peer.crt/key` and `etcd.conf` in the member's /etc/etcd.
fn write_member_files(
    host: &HostLayout,
    net: &super::network::NetHost,
    ca: &LabCa,
    conf: &str,
) -> Result<(), LabError> {
    create_private_dir(&host.etcd_conf_dir())?;
    create_private_dir(&host.root.join("var/lib/etcd"))?;
    write_file(&host.etcd_file("ca.crt"), ca.cert_pem().as_bytes())?;
    let fqdn = net.fqdn();
    let sans = [net.address.as_str(), fqdn.as_str(), net.name.as_str()];
    ca.write_server_and_peer(host, &fqdn, &sans)?;
    write_file(&host.etcd_conf_file(), conf.as_bytes())
}

/// The master's config (etcd URLs by the members' names, as openshift-ansible writes
/// them), its etcd client certificate, and its services.
fn write_master_files(
    master: &HostLayout,
    members: &[&super::network::NetHost],
    ca: &LabCa,
) -> Result<(), LabError> {
    create_private_dir(&master.master_config_dir())?;
    ca.write_master(master)?;
    let urls: Vec<String> = members
        .iter()
        .map(|m| format!("https://{}:2379", m.fqdn()))
        .collect();
    master_config::write(master, &urls)?;
    let scripts = master.root.join("usr/local/lib/runbook-lab");
    for service in MASTER_SERVICES {
        let script = scripts.join(format!("{service}.sh"));
        crate::lab::fsutil::write_executable(
            &script,
            MASTER_START.replace("@SERVICE@", service).as_bytes(),
        )?;
        host::write_unit(
            master,
            service,
            &Unit {
                description: service,
                exec: vec![
                    "/bin/sh".into(),
                    format!("/usr/local/lib/runbook-lab/{service}.sh"),
                ],
                user: None,
                environment_file: None,
                working_directory: "/",
                kind: "simple",
                timeout_start: 90,
                timeout_stop: 30,
            },
        )?;
    }
    Ok(())
}

/// The inventory: the groups and the ssh login, nothing else; with a management network,
/// hosts are listed by their management names with `openshift_ip` and `openshift_hostname`
/// naming them on the cluster network, as openshift-ansible inventories do.
fn inventory(layout: &LabLayout, state: &LabState) -> String {
    let dir = layout.dir.display();
    let network = network(state);
    let line = |name: &str| match network.host(name) {
        Some(net) if net.management.is_some() => format!(
            "{} openshift_ip={} openshift_hostname={}\n",
            net.inventory_name(),
            net.address,
            net.fqdn()
        ),
        _ => format!("{name}\n"),
    };
    let mut text = format!(
        "# runbook lab of separate hosts in {dir}: every path, port and service is the\n\
         # default, as on a cluster openshift-ansible installed. Run runbooks from the lab's\n\
         # control namespace: runbook lab exec --dir {dir} -- runbook run ...\n\n\
         [OSEv3:children]\nmasters\netcd\n\n\
         [OSEv3:vars]\nansible_ssh_user=root\n\
         ansible_ssh_private_key_file={dir}/ssh/id_ed25519\n\
         runbook_ssh_known_hosts_file={dir}/ssh/known_hosts\n\n\
         [masters]\n{}\n[etcd]\n",
        line(&state.master)
    );
    for member in &state.members {
        text.push_str(&line(&member.name));
    }
    text
}

/// The `etcd` user etcd runs as (made by Debian's etcd-server package, as by RHEL's).
struct EtcdUser {
    uid: u32,
    gid: u32,
}

impl EtcdUser {
    fn find() -> Result<EtcdUser, LabError> {
        let name = std::ffi::CString::new("etcd").expect("no NUL");
        // SAFETY: getpwnam(3) with a valid C string; the record is copied out at once.
        let entry = unsafe { libc::getpwnam(name.as_ptr()) };
        if entry.is_null() {
            return Err(LabError::Options {
                reason: "there is no user `etcd` to run etcd as: install etcd-server (`apt-get install etcd-server`), which creates it".into(),
            });
        }
        // SAFETY: non-null result of getpwnam, read before any other passwd call.
        let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
        Ok(EtcdUser { uid, gid })
    }

    /// Gives `path` (and, with `recursive`, what it holds) to the etcd user.
    fn own(&self, path: &Path, recursive: bool) -> Result<(), LabError> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(|e| LabError::io("chown", path, e))?;
        if recursive {
            for entry in std::fs::read_dir(path).map_err(|e| LabError::io("read", path, e))? {
                let entry = entry.map_err(|e| LabError::io("read", path, e))?;
                self.own(&entry.path(), entry.path().is_dir())?;
            }
        }
        Ok(())
    }
}
