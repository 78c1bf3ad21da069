//! `runbook lab up|down|status` against real etcd 3.4 members: TLS, etcdctl v2 and v3 via
//! the lab's env file, seeded data and TTLs, service control through the inventory's
//! `runbook_service_command`, idempotent `up`, two labs side by side, clean `down`, and an
//! etcd embedded in its master's service, with a spare host to move it out to.

use crate::support::command::{json_result, Runbook};
use crate::support::etcd::{etcdctl, read_env_file, runtime, wait_until};
use crate::support::files::mode;
use crate::support::lab::{lab_up, LabGuard};
use runbook::inventory::Inventory;
use runbook::lab::layout::LabLayout;
use runbook::lab::pidfile::{recorded_processes, RecordedProcess};
use runbook::lab::seed_plan::{SeedPlan, EMPTY_DIRS, NON_ASCII_KEYS};
use runbook::lab::state::LabState;
use runbook::lab::EtcdLayout;
use runbook::ops::etcd::{EtcdEndpoint, V2Client, V2Node};
use runbook::ops::service::{ServiceAction, ServiceManager};
use runbook::transport::{ConnectionTarget, Transport};
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Every node of a recursive v2 read, by key.
fn flatten(node: &V2Node, into: &mut HashMap<String, V2Node>) {
    if let Some(key) = &node.key {
        into.insert(key.clone(), node.clone());
    }
    for child in &node.nodes {
        flatten(child, into);
    }
}

#[test]
fn tls_lab_serves_etcdctl_seeded_data_service_control_and_goes_down_cleanly() {
    let temp = tempfile::tempdir().unwrap();
    // A space in the path checks the quoting of every generated file and command.
    let dir = temp.path().join("my lab");
    let _guard = LabGuard::new(dir.clone());
    let keys = 300;

    let up = lab_up(&dir, &["--tls", "--keys", "300"])
        .success()
        .stdout_has("is up")
        .stdout_has("source '")
        .stdout_has("inventory.ini");
    let layout = LabLayout::new(&dir);
    let state = LabState::load(&layout).unwrap();
    assert!(state.ready && state.tls);
    assert_eq!(state.members.len(), 3);
    for url in state.client_urls() {
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
        assert!(
            up.stdout.contains(&url),
            "summary lacks {url}:\n{}",
            up.stdout
        );
    }

    // Certificates: fresh per lab, private keys 0600 in 0700 directories.
    let etcd1 = layout.host("etcd-1");
    assert_eq!(mode(&etcd1.etcd_conf_dir()), 0o700);
    for key in ["server.key", "peer.key"] {
        assert_eq!(mode(&etcd1.etcd_file(key)), 0o600, "{key}");
    }
    let master = layout.host("master-1");
    assert_eq!(mode(&master.master_config_dir()), 0o700);
    assert_eq!(
        mode(&master.master_config_dir().join("master.etcd-client.key")),
        0o600
    );
    let conf = std::fs::read_to_string(etcd1.etcd_conf_file()).unwrap();
    for line in [
        "ETCD_NAME=etcd-1",
        "ETCD_ENABLE_V2=true",
        "ETCD_CLIENT_CERT_AUTH=true",
        "ETCD_PEER_CLIENT_CERT_AUTH=true",
        "ETCD_INITIAL_CLUSTER_STATE=new",
    ] {
        assert!(
            conf.lines().any(|l| l == line),
            "etcd.conf lacks {line}:\n{conf}"
        );
    }

    // etcdctl, v2 and v3, with nothing but DIR/env's variables.
    let env = read_env_file(&layout.env_file());
    let v2 = etcdctl(&env, 2, &["cluster-health"]);
    assert_eq!(v2.code, 0, "v2 cluster-health: {v2:?}");
    assert!(v2.stdout.contains("cluster is healthy"), "{v2:?}");
    assert_eq!(
        v2.stdout.matches("is healthy: got healthy result").count(),
        3,
        "{v2:?}"
    );
    let v3 = etcdctl(&env, 3, &["endpoint", "health"]);
    assert_eq!(v3.code, 0, "v3 endpoint health: {v3:?}");
    let healthy = format!("{}{}", v3.stdout, v3.stderr);
    for url in state.client_urls() {
        assert!(healthy.contains(&format!("{url} is healthy")), "{v3:?}");
    }
    let non_ascii = etcdctl(&env, 2, &["get", NON_ASCII_KEYS[0]]);
    assert_eq!(non_ascii.code, 0, "{non_ascii:?}");
    assert!(non_ascii.stdout.contains("Grüße"), "{non_ascii:?}");
    // Sourced as an operator does: v3 without a warning about v2's names, v2 via etcdctl2.
    let sourced = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            ". '{}' && etcdctl endpoint health && etcdctl2 cluster-health",
            layout.env_file().display()
        ))
        .env_remove("ETCDCTL_API")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&sourced.stderr);
    assert!(sourced.status.success(), "{stderr}");
    assert!(
        !stderr.contains("unrecognized environment variable"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&sourced.stdout).contains("cluster is healthy"),
        "{stderr}"
    );

    // The seeded data: exactly N leaves, every value and TTL as the plan says. A listing
    // shows all but the hidden ones, which are read by name.
    let rt = runtime();
    let client = runbook::lab::lab_client(&layout, &state, Duration::from_secs(30)).unwrap();
    let plan = SeedPlan::new(keys);
    let hidden: Vec<&str> = plan.hidden_keys().map(|k| k.key.as_str()).collect();
    assert!(hidden.len() >= 2, "hidden keys seeded: {hidden:?}");
    assert_eq!(
        rt.block_on(client.count_leaves("/")).unwrap(),
        (keys - hidden.len()) as u64
    );
    let root = rt.block_on(client.get("/", true)).unwrap();
    let mut nodes = HashMap::new();
    flatten(&root, &mut nodes);
    for key in &hidden {
        assert!(!nodes.contains_key(*key), "{key} is listed");
        let node = rt.block_on(client.get(key, false)).unwrap();
        flatten(&node, &mut nodes);
    }
    for key in &plan.keys {
        let node = nodes
            .get(&key.key)
            .unwrap_or_else(|| panic!("{} was not seeded", key.key));
        assert_eq!(
            node.value.as_deref(),
            Some(key.value().as_str()),
            "{}",
            key.key
        );
        match key.ttl {
            Some(ttl) => {
                let left = node.ttl.unwrap_or_else(|| panic!("{} has no TTL", key.key));
                let ttl = ttl as i64;
                assert!(
                    left > ttl - 60 && left <= ttl,
                    "{}: ttl {left} of {ttl}",
                    key.key
                );
            }
            None => assert_eq!(node.ttl, None, "{}", key.key),
        }
    }
    let big = nodes
        .values()
        .filter(|n| n.value.as_ref().is_some_and(|v| v.len() >= 100 * 1024))
        .count();
    assert_eq!(big, 3, "values of 100 KiB and more");
    for dir in EMPTY_DIRS {
        let node = nodes.get(dir).unwrap_or_else(|| panic!("{dir} missing"));
        assert!(
            node.dir && node.nodes.is_empty(),
            "{dir} is not an empty dir"
        );
    }
    for prefix in [
        "/kubernetes.io/events/",
        "/kubernetes.io/masterleases/",
        "/openshift.io/oauth/accesstokens/",
        "/openshift.io/oauth/authorizetokens/",
        "/kubernetes.io/leases/",
    ] {
        assert!(
            nodes
                .iter()
                .any(|(k, n)| k.starts_with(prefix) && n.ttl.is_some()),
            "no TTL key under {prefix}"
        );
    }
    // The legacy controller lease: the prefix itself is the key.
    assert!(nodes["/openshift.io/leases/controllers"].ttl.is_some());

    // The master: a complete master-config.yaml pointing at the members, services running.
    let config: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(master.master_config_file()).unwrap())
            .unwrap();
    assert_eq!(config["kind"].as_str(), Some("MasterConfig"));
    let urls: Vec<String> = config["etcdClientInfo"]["urls"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|u| u.as_str().map(String::from))
        .collect();
    assert_eq!(urls, state.client_urls());
    for service in runbook::lab::layout::MASTER_SERVICES {
        let log = std::fs::read_to_string(master.log_file(service)).unwrap();
        assert!(
            log.contains(&format!("{service} started")) && log.contains("storage-backend=unset"),
            "{service} log: {log}"
        );
    }

    // The inventory: parses, and drives the members as a runbook would.
    let inventory = Inventory::load(&layout.inventory_file(), &[]).unwrap();
    let members = inventory.group("etcd").expect("[etcd] group");
    assert_eq!(members.len(), 3);
    let endpoint = EtcdEndpoint::from_host(members[1]).unwrap();
    assert_eq!(endpoint.client_url, state.client_url(&state.members[1]));
    assert!(endpoint.tls.is_some());
    assert!(inventory.group("masters").is_some_and(|m| m.len() == 1));
    let etcd2 = members[1];
    let manager = ServiceManager::from_host(etcd2);
    assert!(
        matches!(manager, ServiceManager::Template(_)),
        "{manager:?}"
    );
    let cancel = CancellationToken::new();
    let transport = rt
        .block_on(Transport::connect(
            &etcd2.name,
            &ConnectionTarget::from_host(etcd2).unwrap(),
            &cancel,
        ))
        .unwrap();
    let etcd2_layout = layout.host("etcd-2");
    let before = RecordedProcess::read(&etcd2_layout.pid_file("etcd"), "etcd-2", "etcd").unwrap();
    assert!(before.is_alive());

    // `lab up` on a lab that is up changes nothing.
    let state_text = std::fs::read(layout.state_file()).unwrap();
    lab_up(&dir, &["--tls", "--keys", "300"])
        .success()
        .stdout_has("already up")
        .stderr_has("nothing changed");
    assert_eq!(std::fs::read(layout.state_file()).unwrap(), state_text);
    assert_eq!(
        RecordedProcess::read(&etcd2_layout.pid_file("etcd"), "etcd-2", "etcd"),
        Some(before.clone())
    );

    // Stop one member through runbook_service_command.
    rt.block_on(manager.control(&transport, ServiceAction::Stop, "etcd", &cancel))
        .unwrap();
    assert!(!before.is_alive(), "etcd-2 still runs after stop");
    assert!(!rt
        .block_on(manager.is_active(&transport, "etcd", &cancel))
        .unwrap());
    // A lab with a stopped member is not "up": `up` says what is down and changes nothing.
    lab_up(&dir, &["--tls"])
        .code(1)
        .stderr_has("etcd on etcd-2");
    assert!(!rt
        .block_on(manager.is_active(&transport, "etcd", &cancel))
        .unwrap());

    // etcd.conf is read afresh at each start: a bad value makes the start fail with the
    // log's tail; removing it lets the member start again.
    let conf_path = etcd2_layout.etcd_conf_file();
    let good_conf = std::fs::read_to_string(&conf_path).unwrap();
    std::fs::write(
        &conf_path,
        format!("{good_conf}ETCD_INITIAL_CLUSTER_STATE=bogus\n"),
    )
    .unwrap();
    let error = rt
        .block_on(manager.control(&transport, ServiceAction::Start, "etcd", &cancel))
        .unwrap_err();
    assert!(error.to_string().contains("bogus"), "{error}");
    assert!(!rt
        .block_on(manager.is_active(&transport, "etcd", &cancel))
        .unwrap());
    std::fs::write(&conf_path, &good_conf).unwrap();
    rt.block_on(manager.control(&transport, ServiceAction::Start, "etcd", &cancel))
        .unwrap();
    let after = RecordedProcess::read(&etcd2_layout.pid_file("etcd"), "etcd-2", "etcd").unwrap();
    assert_ne!(after, before);
    let member2 = client.member(1).unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || rt
            .block_on(member2.health())
            .unwrap_or(false)),
        "etcd-2 did not become healthy after restart"
    );
    assert!(
        wait_until(Duration::from_secs(10), || rt
            .block_on(member2.count_leaves("/"))
            .ok()
            == Some((keys - hidden.len()) as u64)),
        "etcd-2 lost data across restart"
    );

    // Status: a table for people, JSON for machines.
    Runbook::new()
        .args(["lab", "status", "--dir"])
        .arg(&dir)
        .run()
        .success()
        .stdout_has("V2 KEYS")
        .stdout_has("atomic-openshift-master-api");
    let status = Runbook::new()
        .args(["--output", "json", "lab", "status", "--dir"])
        .arg(&dir)
        .run()
        .success();
    let result = json_result(&status.stdout);
    let reported = result["members"].as_array().unwrap();
    assert_eq!(reported.len(), 3);
    for member in reported {
        assert_eq!(member["running"], true, "{member}");
        assert_eq!(member["healthy"], true, "{member}");
        assert_eq!(member["v2_keys"], keys, "{member}");
        assert_eq!(member["v3_keys"], 0, "{member}");
    }
    assert!(result["services"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["active"] == true));

    // Down: every recorded process gone, directory removed.
    let processes = recorded_processes(&layout);
    assert_eq!(processes.len(), 5, "{processes:?}");
    Runbook::new()
        .args(["lab", "down", "--dir"])
        .arg(&dir)
        .run()
        .success()
        .stdout_has("is down");
    for process in &processes {
        assert!(!process.is_alive(), "{process:?} survived lab down");
    }
    assert!(!before.is_alive());
    assert!(!dir.exists(), "lab down left {}", dir.display());
}

#[test]
fn two_labs_run_side_by_side() {
    let temp = tempfile::tempdir().unwrap();
    let first = temp.path().join("one");
    let second = temp.path().join("two");
    let _first_guard = LabGuard::new(first.clone());
    let _second_guard = LabGuard::new(second.clone());
    lab_up(&first, &["--members", "1", "--keys", "40"]).success();
    lab_up(&second, &["--members", "3", "--keys", "25"]).success();
    let one = LabState::load(&LabLayout::new(&first)).unwrap();
    let two = LabState::load(&LabLayout::new(&second)).unwrap();
    let mut ports: Vec<u16> = one
        .members
        .iter()
        .chain(&two.members)
        .flat_map(|m| [m.client_port, m.peer_port])
        .collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 8, "labs share a port");
    assert!(one.client_urls()[0].starts_with("http://"));

    let rt = runtime();
    let count = |dir: &Path, state: &LabState| {
        let client = V2Client::new(&state.client_urls(), None).unwrap();
        let _ = dir;
        rt.block_on(client.count_leaves("/")).unwrap()
    };
    let listed = |n: usize| (n - SeedPlan::new(n).hidden_keys().count()) as u64;
    assert_eq!(count(&first, &one), listed(40));
    assert_eq!(count(&second, &two), listed(25));
    let env = read_env_file(&LabLayout::new(&second).env_file());
    let v2 = etcdctl(&env, 2, &["cluster-health"]);
    assert!(v2.stdout.contains("cluster is healthy"), "{v2:?}");

    // Taking one down leaves the other running.
    let first_processes = recorded_processes(&LabLayout::new(&first));
    Runbook::new()
        .args(["lab", "down", "--dir"])
        .arg(&first)
        .run()
        .success();
    assert!(first_processes.iter().all(|p| !p.is_alive()));
    assert!(!first.exists());
    assert_eq!(count(&second, &two), listed(25));
    assert!(recorded_processes(&LabLayout::new(&second))
        .iter()
        .all(RecordedProcess::is_alive));
}

#[test]
fn refuses_directories_that_are_not_labs() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("precious");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
    lab_up(&dir, &["--keys", "10"])
        .code(1)
        .stderr_has("is not a lab");
    Runbook::new()
        .args(["lab", "down", "--dir"])
        .arg(&dir)
        .run()
        .code(1)
        .stderr_has("is not a lab");
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    Runbook::new()
        .args(["lab", "status", "--dir"])
        .arg(temp.path().join("missing"))
        .run()
        .code(1)
        .stderr_has("no lab in");
}

#[test]
fn a_failed_up_stops_what_it_started_and_removes_the_directory() {
    let temp = tempfile::tempdir().unwrap();
    // An `etcd` that dies at once: the first member's start fails.
    let bin = temp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("etcd");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"fake etcd: refusing to run\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = temp.path().join("lab");
    let _guard = LabGuard::new(dir.clone());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Runbook::new()
        .env("PATH", path)
        .args(["lab", "up", "--keys", "10", "--dir"])
        .arg(&dir)
        .run()
        .code(1)
        .stderr_has("fake etcd: refusing to run");
    assert!(!dir.exists(), "a failed up left {}", dir.display());
}

/// `lab up --master-writes`: the master's API stand-in writes to etcd every 100 ms, v2 and
/// then (restarted on etcd3) v3, and its log gives the outage as the master saw it.
#[test]
fn the_masters_writes_show_the_outage_from_the_masters_side() {
    use crate::support::lab::TestLab;
    let lab = TestLab::up(&["--tls", "--keys", "300", "--master-writes"]);
    let env = lab.env();
    let written = |api: u8| {
        let args: &[&str] = if api == 2 {
            &["get", "/runbook-lab/master-writes"]
        } else {
            &["get", "/runbook-lab/master-writes", "--print-value-only"]
        };
        etcdctl(&env, api, args).stdout.trim().to_string()
    };
    // Each write stores its own start time: a later read shows a later value.
    assert!(wait_until(Duration::from_secs(10), || !written(2).is_empty()));
    let first = written(2);
    std::thread::sleep(Duration::from_millis(500));
    assert!(written(2) > first, "{first} then {}", written(2));

    Runbook::new()
        .args(["run", "v2-to-v3.rhai", "-i"])
        .arg(lab.inventory())
        .run()
        .success();
    let v3 = written(3);
    assert!(v3.ends_with('Z') && v3 > first, "v3 value {v3:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(written(3) > v3, "the restarted master keeps writing v3");

    let log = std::fs::read_to_string(
        lab.host_dir("master-1")
            .join("var/log/atomic-openshift-master-api.log"),
    )
    .unwrap();
    let writes = crate::bench_master_writes::read(&log).unwrap_or_else(|e| panic!("{e}\n{log}"));
    // The masters were down for the migration: seconds, not milliseconds or minutes.
    assert!(
        writes.outage > 1.0 && writes.outage < 120.0,
        "{writes:?}\n{log}"
    );
    assert_eq!((writes.failed, writes.slow), (0, 0), "{log}");
    // The other master service does not write.
    let controllers = std::fs::read_to_string(
        lab.host_dir("master-1")
            .join("var/log/atomic-openshift-master-controllers.log"),
    )
    .unwrap();
    assert!(!controllers.contains("writer:"), "{controllers}");
}

/// The v2 leaves plain `etcdctl ls --recursive` lists (hidden keys are not listed).
fn listed_v2_leaves(env: &[(String, String)]) -> BTreeSet<String> {
    let out = etcdctl(env, 2, &["ls", "--recursive", "-p", "/"]);
    assert_eq!(out.code, 0, "etcdctl ls: {out:?}");
    out.stdout
        .lines()
        .filter(|line| !line.is_empty() && !line.ends_with('/'))
        .map(String::from)
        .collect()
}

/// Whether something accepts connections on 127.0.0.1:`port`.
fn port_open(port: u16) -> bool {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
}

/// `lab up --layout embedded`: a single 3.6 master whose atomic-openshift-master service runs
/// etcd from master-config.yaml's etcdConfig, as origin does; no etcd hosts; stopping and
/// starting the master stops and starts its etcd; without etcdConfig the master runs no etcd.
#[test]
fn an_embedded_etcd_runs_inside_the_master_service_from_its_config() {
    use crate::support::ansible::ansible_inventory_list;
    use crate::support::lab::TestLab;
    let keys = 200;
    let lab = TestLab::up(&["--layout", "embedded", "--tls", "--keys", "200"]);
    let layout = LabLayout::new(&lab.dir);
    let state = LabState::load(&layout).unwrap();
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.state_file()).unwrap()).unwrap();
    assert_eq!(recorded["layout"], "embedded", "{recorded}");
    assert_eq!(state.layout, EtcdLayout::Embedded);
    assert_eq!(state.members.len(), 1);
    let (client_port, peer_port) = (state.members[0].client_port, state.members[0].peer_port);
    let hosts: Vec<String> = std::fs::read_dir(layout.hosts_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let hosts: BTreeSet<String> = hosts.into_iter().collect();
    assert_eq!(
        hosts,
        BTreeSet::from(["etcd-1".to_string(), "master-1".to_string()]),
        "the master and the spare host, no etcd hosts"
    );
    let master = layout.host("master-1");
    let data_dir = master.root.join("var/lib/origin/openshift.local.etcd");
    assert!(
        data_dir.join("member/wal").is_dir(),
        "no etcd data in {data_dir:?}"
    );
    assert_eq!(mode(&data_dir), 0o700);
    let config_dir = master.master_config_dir();
    for key in ["ca.key", "etcd.server.key", "master.etcd-client.key"] {
        assert_eq!(mode(&config_dir.join(key)), 0o600, "{key}");
    }
    for cert in [
        "ca.crt",
        "ca-bundle.crt",
        "etcd.server.crt",
        "master.etcd-client.crt",
    ] {
        assert!(config_dir.join(cert).is_file(), "{cert}");
    }

    // The seeded v2 data, read with plain etcdctl through DIR/env's client certificate.
    let env = lab.env();
    let plan = SeedPlan::new(keys);
    let hidden: BTreeSet<String> = plan.hidden_keys().map(|k| k.key.clone()).collect();
    let expected: BTreeSet<String> = plan
        .keys
        .iter()
        .map(|k| k.key.clone())
        .filter(|k| !hidden.contains(k))
        .collect();
    assert_eq!(listed_v2_leaves(&env), expected);
    for key in &hidden {
        let got = etcdctl(&env, 2, &["get", key]);
        assert_eq!(got.code, 0, "hidden key {key}: {got:?}");
    }
    let non_ascii = etcdctl(&env, 2, &["get", NON_ASCII_KEYS[0]]);
    assert!(non_ascii.stdout.contains("Grüße"), "{non_ascii:?}");
    let member = format!("https://127.0.0.1:{peer_port}");
    assert_eq!(lab.member_list(), [("openshift.local".to_string(), member)]);

    // master-config.yaml: openshift-ansible 3.6's rendering for embedded etcd.
    let config_file = master.master_config_file();
    let config_text = std::fs::read_to_string(&config_file).unwrap();
    let config: serde_yaml::Value = serde_yaml::from_str(&config_text).unwrap();
    let client_address = format!("127.0.0.1:{client_port}");
    let peer_address = format!("127.0.0.1:{peer_port}");
    let serving_info = |bind: &str| {
        serde_yaml::from_str::<serde_yaml::Value>(&format!(
            "bindAddress: {bind}\ncertFile: etcd.server.crt\nclientCA: ca-bundle.crt\n\
             keyFile: etcd.server.key\n"
        ))
        .unwrap()
    };
    let etcd_config = &config["etcdConfig"];
    assert_eq!(
        etcd_config["address"].as_str(),
        Some(client_address.as_str())
    );
    assert_eq!(
        etcd_config["peerAddress"].as_str(),
        Some(peer_address.as_str())
    );
    assert_eq!(etcd_config["servingInfo"], serving_info(&client_address));
    assert_eq!(etcd_config["peerServingInfo"], serving_info(&peer_address));
    assert_eq!(
        etcd_config["storageDirectory"].as_str(),
        Some(data_dir.to_str().unwrap())
    );
    let client_info: serde_yaml::Value = serde_yaml::from_str(&format!(
        "ca: ca-bundle.crt\ncertFile: master.etcd-client.crt\nkeyFile: master.etcd-client.key\n\
         urls:\n- https://{client_address}\n"
    ))
    .unwrap();
    assert_eq!(config["etcdClientInfo"], client_info);

    // The inventory: ansible-inventory reads one master and no etcd hosts; runbook reads the
    // master's one service from it.
    let listed = ansible_inventory_list(&lab.inventory());
    assert_eq!(listed["masters"]["hosts"], serde_json::json!(["master-1"]));
    assert!(
        listed["etcd"]["hosts"]
            .as_array()
            .is_none_or(|h| h.is_empty()),
        "{listed}"
    );
    let vars = &listed["_meta"]["hostvars"]["master-1"];
    assert_eq!(vars["openshift_release"], "v3.6");
    assert_eq!(vars["openshift_master_etcd_port"], client_port);
    let inventory = Inventory::load(&layout.inventory_file(), &[]).unwrap();
    let master_host = inventory.host("master-1").unwrap();
    assert_eq!(
        runbook::ops::master::services::master_services(master_host, 1),
        ["atomic-openshift-master"]
    );

    // `lab up` again: already up, nothing changed.
    let state_text = std::fs::read(layout.state_file()).unwrap();
    lab_up(&lab.dir, &["--layout", "embedded", "--tls"])
        .success()
        .stdout_has("already up");
    assert_eq!(std::fs::read(layout.state_file()).unwrap(), state_text);

    // Stopping the master through runbook_service_command stops its etcd; starting it brings
    // the same data back.
    let service = "atomic-openshift-master";
    let manager = ServiceManager::from_host(master_host);
    let rt = runtime();
    let cancel = CancellationToken::new();
    let transport = rt
        .block_on(Transport::connect(
            "master-1",
            &ConnectionTarget::from_host(master_host).unwrap(),
            &cancel,
        ))
        .unwrap();
    let control = |action: ServiceAction| {
        rt.block_on(manager.control(&transport, action, service, &cancel))
            .unwrap_or_else(|e| panic!("{action:?} {service}: {e}"))
    };
    let recorded_pid = || RecordedProcess::read(&master.pid_file(service), "master-1", service);
    let etcd_pid = recorded_pid().expect("the master's pid file");
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", etcd_pid.pid)).unwrap();
    assert_eq!(comm.trim(), "etcd", "the master service's process is etcd");
    control(ServiceAction::Stop);
    assert!(!etcd_pid.is_alive(), "etcd survived the master's stop");
    assert!(!port_open(client_port), "the client port is still open");
    let healthy = || etcdctl(&env, 3, &["endpoint", "health"]).code == 0;
    control(ServiceAction::Start);
    assert!(wait_until(Duration::from_secs(20), healthy));
    assert_eq!(listed_v2_leaves(&env), expected, "keys after restart");

    // etcdConfig is read at every start, whoever wrote the file: a config re-serialized in
    // another style still runs etcd; one without etcdConfig leaves the master without etcd.
    let restart_with = |text: &str| {
        control(ServiceAction::Stop);
        std::fs::write(&config_file, text).unwrap();
        control(ServiceAction::Start);
    };
    restart_with(&serde_yaml::to_string(&config).unwrap());
    assert!(wait_until(Duration::from_secs(20), healthy));
    let mut without = config.clone();
    without.as_mapping_mut().unwrap().remove("etcdConfig");
    restart_with(&serde_yaml::to_string(&without).unwrap());
    std::thread::sleep(Duration::from_millis(500));
    assert!(!port_open(client_port), "etcd runs without etcdConfig");
    assert!(rt
        .block_on(manager.is_active(&transport, service, &cancel))
        .unwrap());
    let log = std::fs::read_to_string(master.log_file(service)).unwrap();
    assert!(log.contains("has no etcdConfig"), "{log}");
    restart_with(&config_text);
    assert!(wait_until(Duration::from_secs(20), healthy));
    assert_eq!(listed_v2_leaves(&env), expected);

    let status = Runbook::new()
        .args(["--output", "json", "lab", "status", "--dir"])
        .arg(&lab.dir)
        .run()
        .success();
    let result = json_result(&status.stdout);
    assert_eq!(result["layout"], "embedded");
    let members = result["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{result}");
    assert_eq!(members[0]["healthy"], true, "{result}");
    assert_eq!(members[0]["v2_keys"], keys, "{result}");

    let processes = recorded_processes(&layout);
    assert_eq!(processes.len(), 1, "{processes:?}");
    Runbook::new()
        .args(["lab", "down", "--dir"])
        .arg(&lab.dir)
        .run()
        .success();
    assert!(processes.iter().all(|p| !p.is_alive()), "{processes:?}");
    assert!(!port_open(client_port));
    assert!(!lab.dir.exists());
}

/// `lab up --layout embedded` also lays out the spare host `etcd-1` that moving the etcd out
/// (embedded2external) needs: an etcd package's host with nothing configured, the one
/// `[etcd]` host of `inventory-external.ini` (read by ansible-inventory), on ports of its
/// own; an etcd started there by its service is what `env-external` points at, and `lab
/// down` stops it.
#[test]
fn an_embedded_lab_has_a_spare_host_to_move_its_etcd_out_to() {
    use crate::support::ansible::ansible_inventory_list;
    use crate::support::files::entries;
    use crate::support::lab::TestLab;
    let lab = TestLab::up(&["--layout", "embedded", "--keys", "50"]);
    let state = lab.state();
    let spare = state
        .spare
        .clone()
        .expect("lab.json records the spare host");
    assert_eq!(spare.name, "etcd-1");
    let embedded = &state.members[0];
    let ports = BTreeSet::from([
        embedded.client_port,
        embedded.peer_port,
        spare.client_port,
        spare.peer_port,
    ]);
    assert_eq!(ports.len(), 4, "{state:?}");

    // ansible-inventory reads the inventory of the move: the master, and the spare host as
    // the one etcd host, on its ports.
    let listed = ansible_inventory_list(&lab.external_inventory());
    assert_eq!(listed["masters"]["hosts"], serde_json::json!(["master-1"]));
    assert_eq!(listed["etcd"]["hosts"], serde_json::json!(["etcd-1"]));
    let spare_vars = &listed["_meta"]["hostvars"]["etcd-1"];
    assert_eq!(
        spare_vars["etcd_client_port"], spare.client_port,
        "{listed}"
    );
    assert_eq!(spare_vars["etcd_peer_port"], spare.peer_port, "{listed}");
    let host = lab.host_dir("etcd-1");
    assert_eq!(
        spare_vars["etcd_data_dir"].as_str(),
        host.join("var/lib/etcd").to_str()
    );
    let master_vars = &listed["_meta"]["hostvars"]["master-1"];
    assert_eq!(
        master_vars["openshift_master_etcd_port"],
        embedded.client_port
    );
    assert_eq!(master_vars["openshift_release"], "v3.6");

    // Nothing configured or running on it: empty etc/etcd and data dir, only the service.
    assert!(entries(&host.join("etc/etcd")).is_empty());
    let data_dir = host.join("var/lib/etcd");
    assert!(entries(&data_dir).is_empty());
    assert_eq!(mode(&data_dir), 0o700);
    assert!(entries(&host.join("run")).is_empty());
    assert_eq!(mode(&host.join("lib/lab-service/etcd")), 0o755);
    let status = Runbook::new()
        .args(["lab", "status", "--dir"])
        .arg(&lab.dir)
        .run()
        .success()
        .stdout_has("etcd-1: spare host for embedded-to-external.rhai (inventory-external.ini), etcd not configured");
    assert!(status.stdout.contains("master-1"), "{}", status.stdout);
    lab_up(&lab.dir, &["--layout", "embedded"])
        .success()
        .stdout_has("already up")
        .stdout_has("inventory-external.ini");

    // An etcd configured by hand and started by its service answers where env-external says.
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    let conf = [
        ("ETCD_NAME", "etcd-1".to_string()),
        ("ETCD_DATA_DIR", data_dir.to_string_lossy().into_owned()),
        ("ETCD_LISTEN_CLIENT_URLS", url(spare.client_port)),
        ("ETCD_ADVERTISE_CLIENT_URLS", url(spare.client_port)),
        ("ETCD_LISTEN_PEER_URLS", url(spare.peer_port)),
        ("ETCD_INITIAL_ADVERTISE_PEER_URLS", url(spare.peer_port)),
        (
            "ETCD_INITIAL_CLUSTER",
            format!("etcd-1={}", url(spare.peer_port)),
        ),
        ("ETCD_INITIAL_CLUSTER_STATE", "new".to_string()),
        ("ETCD_INITIAL_CLUSTER_TOKEN", "spare".to_string()),
    ]
    .iter()
    .map(|(name, value)| format!("{name}='{value}'\n"))
    .collect::<String>();
    std::fs::write(host.join("etc/etcd/etcd.conf"), conf).unwrap();
    lab.service("etcd-1", "start", "etcd");
    let env = lab.external_env();
    assert!(
        env.contains(&("ETCDCTL_ENDPOINTS".to_string(), url(spare.client_port))),
        "{env:?}"
    );
    let healthy = || etcdctl(&env, 3, &["endpoint", "health"]).code == 0;
    assert!(
        wait_until(Duration::from_secs(20), healthy),
        "the spare host's etcd does not answer"
    );
    let status = Runbook::new()
        .args(["--output", "json", "lab", "status", "--dir"])
        .arg(&lab.dir)
        .run()
        .success();
    let result = json_result(&status.stdout);
    assert_eq!(result["spare"]["running"], true, "{result}");
    assert_eq!(result["spare"]["configured"], true, "{result}");

    let etcd = RecordedProcess::read(&host.join("run/etcd.pid"), "etcd-1", "etcd")
        .expect("the spare host's etcd pid file");
    assert!(etcd.is_alive());
    Runbook::new()
        .args(["lab", "down", "--dir"])
        .arg(&lab.dir)
        .run()
        .success()
        .stderr_has("stopping etcd on etcd-1");
    assert!(
        runbook::lab::pidfile::start_time(etcd.pid).is_none(),
        "the spare host's etcd (pid {}) survived lab down",
        etcd.pid
    );
    assert!(!port_open(spare.client_port));
    assert!(!lab.dir.exists());
}

/// What an embedded etcd cannot be is refused before anything is made, naming the flag.
#[test]
fn an_embedded_lab_refuses_what_one_loopback_master_cannot_be() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("lab");
    let _guard = LabGuard::new(dir.clone());
    for (extra, named) in [
        (&["--members", "3"][..], "--members 3"),
        (&["--master-writes"][..], "--master-writes"),
        (&["--hosts", "netns"][..], "--hosts netns"),
        (
            &["--hosts", "netns", "--management-network"][..],
            "--management-network",
        ),
        (&["--management-network"][..], "--management-network"),
    ] {
        let args: Vec<&str> = ["--layout", "embedded"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        let refused = lab_up(&dir, &args);
        assert_ne!(refused.code, 0, "{args:?} was accepted: {refused:?}");
        assert!(
            refused.stderr_unwrapped().contains(named),
            "{args:?}: the refusal does not name {named}:\n{}",
            refused.stderr
        );
        assert!(!dir.exists(), "{args:?} made {}", dir.display());
    }
}
