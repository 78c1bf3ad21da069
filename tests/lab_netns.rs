//! The lab of separate hosts (`lab up --hosts netns`, root only): each host its own network
//! and mount namespace, sshd on port 22, etcd as openshift-ansible 3.7 configures it, and an
//! inventory with only the groups and the ssh login. The migration and the rollback run from
//! the lab's control namespace; plain `etcdctl` there, the hosts' files on disk and
//! `ip netns` check the outcome.

use crate::support::command::{repo_root, Finished, Runbook};
use crate::support::running::Running;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A netns lab, taken down on drop even when the test fails.
struct NetnsLab {
    _parent: tempfile::TempDir,
    dir: PathBuf,
    /// The host whose network namespace the `etcdctl` checks run in, when the control
    /// namespace cannot reach the members (a management network).
    checks_on: Option<&'static str>,
}

impl NetnsLab {
    fn up(keys: usize) -> NetnsLab {
        NetnsLab::up_with(keys, &[])
    }

    /// A lab with the extra `lab up` arguments `extra`.
    fn up_with(keys: usize, extra: &[&str]) -> NetnsLab {
        // SAFETY: geteuid(2) has no preconditions.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "the netns lab tests need root (CI runs them as root)"
        );
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("lab");
        Runbook::new()
            .args([
                "lab",
                "up",
                "--hosts",
                "netns",
                "--keys",
                &keys.to_string(),
                "--dir",
            ])
            .arg(&dir)
            .args(extra)
            .run()
            .success();
        let checks_on = extra
            .contains(&"--management-network")
            .then_some("master-1");
        NetnsLab {
            _parent: parent,
            dir,
            checks_on,
        }
    }

    /// Runs `args` in the lab's control namespace.
    fn exec(&self, args: &[&str]) -> Finished {
        Runbook::new()
            .args(["lab", "exec", "--dir"])
            .arg(&self.dir)
            .arg("--")
            .args(args)
            .current_dir(repo_root())
            .run()
    }

    /// Runs a shell script where the independent checks reach the members: the control
    /// namespace, or `checks_on`'s.
    fn check_script(&self, script: &str) -> Finished {
        let mut command = Runbook::new().args(["lab", "exec", "--dir"]).arg(&self.dir);
        if let Some(host) = self.checks_on {
            command = command.args(["--on", host]);
        }
        command
            .args(["--", "sh", "-c", script])
            .current_dir(repo_root())
            .run()
    }

    /// Plain etcdctl (v3, or v2 through the env file's `etcdctl2`) in the control namespace.
    fn etcdctl(&self, api: u8, args: &str) -> String {
        let script = format!(
            ". {}/env && {} {args} 2>/dev/null",
            self.dir.display(),
            if api == 2 { "etcdctl2" } else { "etcdctl" }
        );
        self.check_script(&script).success().stdout
    }

    /// (name, peer URLs) of every member, sorted by name.
    fn members(&self) -> Vec<(String, String)> {
        let mut members: Vec<(String, String)> = self
            .etcdctl(3, "member list")
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split(", ").collect();
                (fields[2].to_string(), fields[3].to_string())
            })
            .collect();
        members.sort();
        members
    }

    /// `runbook run RUNBOOK -i inventory.ini --yes [extra]` in the control namespace.
    fn runbook_command(&self, runbook: &str, extra: &[&str]) -> Runbook {
        let inventory = self.dir.join("inventory.ini");
        Runbook::new()
            .args(["lab", "exec", "--dir"])
            .arg(&self.dir)
            .arg("--")
            .args([env!("CARGO_BIN_EXE_runbook"), "run", runbook, "-i"])
            .arg(&inventory)
            .arg("--yes")
            .args(extra)
            .current_dir(repo_root())
    }

    fn runbook(&self, runbook: &str) -> Finished {
        self.runbook_command(runbook, &[]).run()
    }

    /// Cuts (or restores) a host's link to the lab's bridge.
    fn link(&self, host: &str, up: bool) {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.dir.join("lab.json")).unwrap()).unwrap();
        let network = &state["network"];
        let port = network["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == host)
            .map(|h| h["port"].as_str().unwrap().to_string())
            .unwrap();
        let fabric = network["fabric"].as_str().unwrap();
        let status = std::process::Command::new("ip")
            .args([
                "-n",
                fabric,
                "link",
                "set",
                &port,
                if up { "up" } else { "down" },
            ])
            .status()
            .unwrap();
        assert!(status.success(), "ip link set {port}");
    }

    fn host_file(&self, host: &str, path: &str) -> String {
        std::fs::read_to_string(self.dir.join("hosts").join(host).join(path)).unwrap()
    }

    fn namespaces(&self) -> Vec<String> {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.dir.join("lab.json")).unwrap()).unwrap();
        let network = &state["network"];
        let mut names: Vec<String> = network["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["netns"].as_str().unwrap().to_string())
            .collect();
        names.push(network["control"].as_str().unwrap().to_string());
        names.push(network["fabric"].as_str().unwrap().to_string());
        names
    }
}

impl Drop for NetnsLab {
    fn drop(&mut self) {
        if self.dir.exists() {
            let _ = Runbook::new()
                .args(["lab", "down", "--dir"])
                .arg(&self.dir)
                .run();
        }
    }
}

/// Every v2 leaf that v2 listings show, with its value, through plain etcdctl's v2 API
/// (JSON per key: the lab seeds keys and values with spaces, tabs and newlines).
fn v2_leaves(lab: &NetnsLab) -> BTreeMap<String, String> {
    let script = format!(
        ". {}/env && etcdctl2 ls --recursive -p / 2>/dev/null | grep -v '/$' | \
         while IFS= read -r key; do etcdctl2 -o json get -- \"$key\" 2>/dev/null; echo; done",
        lab.dir.display()
    );
    let dump = lab.check_script(&script).success().stdout;
    dump.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let got: serde_json::Value = serde_json::from_str(line).expect(line);
            let node = &got["node"];
            (
                node["key"].as_str().unwrap().to_string(),
                node["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every v3 key with its value, through plain etcdctl's v3 API.
fn v3_pairs(lab: &NetnsLab) -> BTreeMap<String, String> {
    use base64::Engine;
    let text = lab.etcdctl(3, "get '' --from-key -w json");
    let got: serde_json::Value = serde_json::from_str(&text).expect(&text);
    let decode = |v: &serde_json::Value| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        String::from_utf8(bytes).unwrap()
    };
    got["kvs"]
        .as_array()
        .map(|kvs| {
            kvs.iter()
                .map(|kv| (decode(&kv["key"]), decode(&kv["value"])))
                .collect()
        })
        .unwrap_or_default()
}

/// After a migration: the member names and peer URLs are those of before, and every v2
/// leaf of before is a v3 key with its value (plain etcdctl).
fn assert_migrated_as_before(
    lab: &NetnsLab,
    members_before: &[(String, String)],
    leaves_before: &BTreeMap<String, String>,
) {
    assert_eq!(
        lab.members(),
        members_before,
        "names and peer URLs unchanged"
    );
    let v3 = v3_pairs(lab);
    for (key, value) in leaves_before {
        assert_eq!(v3.get(key), Some(value), "{key}");
    }
}

/// The lines of an etcd.conf that differ from `before`, as (before, after) sets.
fn changed_settings(before: &str, after: &str) -> Vec<String> {
    let set = |text: &str| -> std::collections::BTreeSet<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (before, after) = (set(before), set(after));
    let mut names: Vec<String> = before
        .symmetric_difference(&after)
        .map(|l| l.split('=').next().unwrap().to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `v2-to-v3.rhai` then `rollback.rhai` on a fresh lab, checked with plain etcdctl and the
/// hosts' files: member names and peer URLs unchanged, every v2 leaf (hidden ones too) in
/// v3, hashkv agreeing, etcd.conf changed only where the procedure says, and after the
/// rollback the member list, etcd.conf files and v2 data exactly as before. Returns the
/// migration's output.
fn migrate_and_roll_back(lab: &NetnsLab) -> Finished {
    let members_before = lab.members();
    assert_eq!(
        members_before,
        [
            (
                "etcd-1.runbook.lab".to_string(),
                "https://10.213.0.11:2380".to_string()
            ),
            (
                "etcd-2.runbook.lab".to_string(),
                "https://10.213.0.12:2380".to_string()
            ),
            (
                "etcd-3.runbook.lab".to_string(),
                "https://10.213.0.13:2380".to_string()
            ),
        ]
    );
    let confs_before: Vec<String> = ["etcd-1", "etcd-2", "etcd-3"]
        .iter()
        .map(|h| lab.host_file(h, "etc/etcd/etcd.conf"))
        .collect();
    let leaves_before = v2_leaves(lab);
    assert!(leaves_before.len() > 500, "{}", leaves_before.len());

    let run = lab.runbook("runbooks/v2-to-v3.rhai").success();
    assert!(run.stdout.contains("migration finished"), "{}", run.stdout);
    assert_eq!(
        lab.members(),
        members_before,
        "names and peer URLs unchanged"
    );
    // Every v2 leaf is in v3 with its value, and so are the hidden ones v2 listings omit.
    let v3 = v3_pairs(lab);
    for (key, value) in &leaves_before {
        assert_eq!(v3.get(key), Some(value), "{key}");
    }
    let hidden: BTreeMap<String, String> = v3
        .iter()
        .filter(|(k, _)| k.contains("/_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert!(!hidden.is_empty(), "the lab seeds hidden keys");
    // The masters' data is in v3 only now: its v2 copies were dropped (the backups keep them).
    let listed = lab.etcdctl(2, "ls /kubernetes.io 2>&1 || true");
    assert!(listed.contains("Key not found"), "{listed}");
    let hashes: Vec<String> = lab
        .etcdctl(3, "endpoint hashkv")
        .lines()
        .map(|l| l.split(", ").nth(1).unwrap().to_string())
        .collect();
    assert_eq!(hashes.len(), 3);
    assert!(hashes.iter().all(|h| h == &hashes[0]), "{hashes:?}");
    // etcd.conf changes only where the procedure says: the rebuilt members join the new cluster.
    assert_eq!(
        changed_settings(
            &confs_before[0],
            &lab.host_file("etcd-1", "etc/etcd/etcd.conf")
        ),
        Vec::<String>::new()
    );
    // (ETCD_INITIAL_CLUSTER lists the members in the order `member add` gives, which may
    // happen to be the original one.)
    for (i, host) in ["etcd-2", "etcd-3"].iter().enumerate() {
        let after = lab.host_file(host, "etc/etcd/etcd.conf");
        let changed = changed_settings(&confs_before[i + 1], &after);
        assert!(
            changed.contains(&"ETCD_INITIAL_CLUSTER_STATE".to_string())
                && changed
                    .iter()
                    .all(|c| c == "ETCD_INITIAL_CLUSTER" || c == "ETCD_INITIAL_CLUSTER_STATE"),
            "{host}: {changed:?}"
        );
        assert!(
            after.contains("\nETCD_INITIAL_CLUSTER_STATE=existing\n"),
            "{after}"
        );
        // It names members by their own names and peer URLs, nothing the inventory says.
        let initial = after
            .lines()
            .find_map(|l| l.strip_prefix("ETCD_INITIAL_CLUSTER="))
            .unwrap();
        for pair in initial.split(',') {
            let (name, url) = pair.split_once('=').unwrap();
            assert!(
                members_before.contains(&(name.to_string(), url.to_string())),
                "{host}: ETCD_INITIAL_CLUSTER={initial}"
            );
        }
    }
    let master = lab.host_file("master-1", "etc/origin/master/master-config.yaml");
    assert!(master.contains("- etcd3"), "{master}");

    lab.runbook("runbooks/rollback.rhai").success();
    assert_eq!(
        lab.members(),
        members_before,
        "names and peer URLs after rollback"
    );
    for (i, host) in ["etcd-1", "etcd-2", "etcd-3"].iter().enumerate() {
        assert_eq!(
            lab.host_file(host, "etc/etcd/etcd.conf"),
            confs_before[i],
            "{host}'s etcd.conf after rollback"
        );
    }
    assert_eq!(v2_leaves(lab), leaves_before, "the v2 data after rollback");
    // The hidden keys, read by name, are back in v2 with the values v3 had.
    for (key, value) in &hidden {
        let v2 = lab.etcdctl(2, &format!("-o json get -- '{key}'"));
        let v2: serde_json::Value = serde_json::from_str(&v2).expect(&v2);
        assert_eq!(
            v2["node"]["value"].as_str(),
            Some(value.as_str()),
            "hidden {key}"
        );
    }
    assert!(v3_pairs(lab).is_empty(), "no v3 keys after rollback");

    run
}

#[test]
fn migration_and_rollback_on_separate_hosts_with_only_groups_and_login_in_the_inventory() {
    let lab = NetnsLab::up(600);
    let inventory = std::fs::read_to_string(lab.dir.join("inventory.ini")).unwrap();
    let settings: Vec<&str> = inventory
        .lines()
        .filter(|l| l.contains('='))
        .map(|l| l.split('=').next().unwrap())
        .collect();
    assert_eq!(
        settings,
        [
            "ansible_ssh_user",
            "ansible_ssh_private_key_file",
            "runbook_ssh_known_hosts_file"
        ],
        "{inventory}"
    );
    for name in lab.namespaces() {
        assert!(Path::new("/run/netns").join(&name).exists(), "{name}");
    }
    let status = Runbook::new()
        .args(["lab", "status", "--dir"])
        .arg(&lab.dir)
        .run()
        .success();
    for line in [
        "etcd-1    10.213.0.11   etcd-1.runbook.lab      port 22 (pid ",
        "master-1  10.213.0.21   master-1.runbook.lab    port 22 (pid ",
    ] {
        assert!(status.stdout.contains(line), "{}", status.stdout);
    }
    assert!(
        status.stdout.contains("https://10.213.0.12:2379"),
        "{}",
        status.stdout
    );
    let run = migrate_and_roll_back(&lab);
    assert!(
        run.stderr
            .contains("etcd-1: the member is called etcd-1.runbook.lab (the inventory's etcd_hostname is etcd-1): it keeps its name"),
        "{}",
        run.stderr
    );

    let namespaces = lab.namespaces();
    Runbook::new()
        .args(["lab", "down", "--dir"])
        .arg(&lab.dir)
        .run()
        .success();
    for name in namespaces {
        assert!(
            !Path::new("/run/netns").join(&name).exists(),
            "{name} left behind"
        );
    }
    assert!(!lab.dir.exists());
}

#[test]
fn a_management_network_lab_migrates_and_rolls_back_through_ssh_tunnels() {
    let lab = NetnsLab::up_with(600, &["--management-network"]);
    let inventory = std::fs::read_to_string(lab.dir.join("inventory.ini")).unwrap();
    for line in [
        "\nmaster-1.mgmt.runbook.lab openshift_ip=10.213.0.21 openshift_hostname=master-1.runbook.lab\n",
        "\netcd-2.mgmt.runbook.lab openshift_ip=10.213.0.12 openshift_hostname=etcd-2.runbook.lab\n",
    ] {
        assert!(inventory.contains(line), "{inventory}");
    }
    // The control side reaches the hosts' sshd on the management network and nothing on
    // the cluster network, so runbook can only reach etcd through ssh tunnels.
    let direct = lab.exec(&["bash", "-c", "exec 3<>/dev/tcp/10.213.0.11/2379"]);
    assert_ne!(direct.code, 0);
    assert!(
        direct.stderr.contains("Network is unreachable"),
        "{}",
        direct.stderr
    );
    lab.exec(&["bash", "-c", "exec 3<>/dev/tcp/etcd-1.mgmt.runbook.lab/22"])
        .success();
    let status = Runbook::new()
        .args(["lab", "status", "--dir"])
        .arg(&lab.dir)
        .run()
        .success();
    assert!(
        status.stdout.contains(
            "etcd-2    10.213.0.12   10.214.0.12   etcd-2.runbook.lab      port 22 (pid "
        ),
        "{}",
        status.stdout
    );

    let run = migrate_and_roll_back(&lab);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(
        output.contains("etcd-2.mgmt.runbook.lab  etcd-2.runbook.lab  ")
            && output.contains("https://10.213.0.12:2380  https://10.213.0.12:2379"),
        "each inventory host is matched to its member by openshift_ip: {output}"
    );
    assert!(!output.contains("keeps its name"), "{output}");
}

#[test]
fn a_netns_lab_needs_root_and_says_so() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("lab");
    let nobody = Runbook::new()
        .args(["lab", "up", "--hosts", "netns", "--dir"])
        .arg(&dir)
        .run_as(65534, 65534)
        .run();
    assert_eq!(nobody.code, 1, "{}", nobody.stderr);
    assert!(
        nobody.stderr.contains("runbook::lab::needs_root"),
        "{}",
        nobody.stderr
    );
    assert!(
        nobody.stderr.contains("--hosts loopback"),
        "{}",
        nobody.stderr
    );
    assert!(!dir.exists());
}

#[test]
fn a_joining_members_link_cut_during_its_join_ends_migrated_with_no_key_lost() {
    let lab = NetnsLab::up(600);
    let members_before = lab.members();
    let leaves_before = v2_leaves(&lab);
    let mut run = Running::start(lab.runbook_command("runbooks/v2-to-v3.rhai", &[]));
    run.wait_for_step_start("join etcd-2", Duration::from_secs(300));
    lab.link("etcd-2", false);
    std::thread::sleep(Duration::from_secs(20));
    lab.link("etcd-2", true);
    let first = run.finish(Duration::from_secs(600));
    eprintln!("first run exit {}:\n{}", first.code, first.stderr);
    if first.code != 0 {
        assert!(
            first
                .stderr
                .contains("the run stopped at step `join etcd-2`"),
            "{}",
            first.stderr
        );
        lab.runbook_command("runbooks/v2-to-v3.rhai", &["--resume"])
            .run()
            .success();
    }
    assert_migrated_as_before(&lab, &members_before, &leaves_before);
}

#[test]
fn a_non_root_login_with_become_migrates_and_rolls_back_separate_hosts() {
    let lab = NetnsLab::up(400);
    let inventory = lab.dir.join("inventory.ini");
    let text = std::fs::read_to_string(&inventory).unwrap();
    let text = text.replace(
        "ansible_ssh_user=root\n",
        "ansible_ssh_user=runbook\nansible_become=true\n",
    );
    assert!(text.contains("ansible_become=true"));
    std::fs::write(&inventory, text).unwrap();
    // The login user cannot read the member's key by itself; with sudo it can.
    let ssh = |command: &str| {
        let key = lab.dir.join("ssh/id_ed25519");
        let known = lab.dir.join("ssh/known_hosts");
        lab.exec(&[
            "ssh",
            "-i",
            key.to_str().unwrap(),
            "-o",
            &format!("UserKnownHostsFile={}", known.display()),
            "runbook@etcd-1",
            command,
        ])
    };
    let denied = ssh("id -u; cat /etc/etcd/peer.key");
    assert_ne!(denied.code, 0);
    assert!(
        denied.stderr.contains("Permission denied"),
        "{}",
        denied.stderr
    );
    assert_ne!(denied.stdout.lines().next(), Some("0"));
    assert!(ssh("sudo -n cat /etc/etcd/peer.key")
        .success()
        .stdout
        .contains("PRIVATE KEY"));

    let members_before = lab.members();
    let leaves_before = v2_leaves(&lab);
    lab.runbook("runbooks/v2-to-v3.rhai").success();
    assert_migrated_as_before(&lab, &members_before, &leaves_before);
    lab.runbook("runbooks/rollback.rhai").success();
    assert_eq!(lab.members(), members_before);
    assert_eq!(v2_leaves(&lab), leaves_before);
    for host in ["etcd-1", "etcd-2", "etcd-3", "master-1"] {
        let log = lab.host_file(host, "var/log/host.log");
        assert!(
            log.contains("Accepted publickey for runbook"),
            "{host}: {log}"
        );
        assert!(
            !log.contains("Accepted publickey for root"),
            "{host}: {log}"
        );
    }
}

#[test]
fn lab_down_after_an_up_killed_halfway_removes_every_namespace_and_process() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("lab");
    let mut up = Running::start(
        Runbook::new()
            .args(["lab", "up", "--hosts", "netns", "--keys", "100", "--dir"])
            .arg(&dir),
    );
    up.wait_for_line(Duration::from_secs(120), |l| {
        l.starts_with("etcd-2 is up at")
    });
    let killed = up.kill();
    assert_ne!(killed.code, 0);
    let lab = NetnsLab {
        _parent: parent,
        dir: dir.clone(),
        checks_on: None,
    };
    let namespaces = lab.namespaces();
    let anchors: Vec<i32> = ["etcd-1", "etcd-2"]
        .iter()
        .map(|h| {
            let text = lab.host_file(h, "run/host.pid");
            text.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect();
    for pid in &anchors {
        assert!(Path::new(&format!("/proc/{pid}")).exists(), "{pid} runs");
    }
    Runbook::new()
        .args(["lab", "down", "--dir"])
        .arg(&dir)
        .run()
        .success();
    for name in namespaces {
        assert!(
            !Path::new("/run/netns").join(&name).exists(),
            "{name} left behind"
        );
    }
    for pid in anchors {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(") Z "),
            "host anchor {pid} still runs: {state}"
        );
    }
    assert!(!dir.exists());
}

#[test]
fn a_hosts_sshd_stopped_during_the_backups_ends_migrated_with_no_key_lost() {
    use runbook::lab::netns::sshd;
    let lab = NetnsLab::up(1000);
    let members_before = lab.members();
    let leaves_before = v2_leaves(&lab);
    let (_, layout, state) = runbook::lab::state::LabState::open(&lab.dir).unwrap();
    let net = state
        .network
        .as_ref()
        .unwrap()
        .host("etcd-3")
        .unwrap()
        .clone();
    let host = layout.host("etcd-3");
    let mut run = Running::start(lab.runbook_command("runbooks/v2-to-v3.rhai", &[]));
    run.wait_for_step_start("back up every member", Duration::from_secs(300));
    // The run stands still while etcd-3's sshd and every session to it go.
    run.pause();
    let stopped = sshd::stop(&host).unwrap();
    run.carry_on();
    assert!(
        stopped.len() > 1,
        "the listener and the run's sessions: {stopped:?}"
    );
    std::thread::sleep(Duration::from_secs(10));
    sshd::start(&host, &net).unwrap();
    let first = run.finish(Duration::from_secs(600));
    eprintln!("first run exit {}:\n{}", first.code, first.stderr);
    if first.code != 0 {
        let stderr = first.stderr_unwrapped();
        assert!(
            stderr.contains("the run stopped at step `back up every member`")
                && stderr.contains("etcd-3"),
            "{stderr}"
        );
        // Every member is stopped (the minimal order backs up the stopped data dirs), so
        // etcd cannot be asked; on disk, each member's data is still in its data dir or in
        // a backup that a manifest describes. The resume below shows nothing was lost.
        for member in ["etcd-1", "etcd-2", "etcd-3"] {
            let data = layout.host(member).etcd_data_dir(state.layout);
            let backed_up = std::fs::read_dir(&data)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        n.to_string_lossy()
                            .starts_with("openshift-backup-pre-migration")
                    })
                })
                .any(|p| {
                    p.join("member/snap/db").is_file()
                        && p.join("runbook-backup-manifest.json").is_file()
                });
            assert!(
                data.join("member/snap/db").is_file() || backed_up,
                "{member}: its data is neither in {} nor in a backup",
                data.display()
            );
        }
        lab.runbook_command("runbooks/v2-to-v3.rhai", &["--resume"])
            .run()
            .success();
    }
    assert_migrated_as_before(&lab, &members_before, &leaves_before);
}

impl NetnsLab {
    /// A host's network namespace and address, from lab.json.
    fn host_netns(&self, host: &str) -> (String, String) {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.dir.join("lab.json")).unwrap()).unwrap();
        let found = state["network"]["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == host)
            .unwrap_or_else(|| panic!("no host {host} in lab.json"));
        (
            found["netns"].as_str().unwrap().to_string(),
            found["address"].as_str().unwrap().to_string(),
        )
    }

    /// ICMP echo from the control namespace to `address`: `count` requests 10 ms apart.
    fn probe(&self, address: &str, count: usize) -> crate::support::link_fault::Probe {
        let script = repo_root().join("tests/support/probe-link.py");
        let out = self
            .exec(&[
                "/usr/bin/python3",
                script.to_str().unwrap(),
                address,
                "--count",
                &count.to_string(),
            ])
            .success();
        crate::support::link_fault::Probe::parse(&out.stdout)
    }
}

/// The `<== step NAME: ...` lines of a run's stderr.
fn step_timings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("<== step "))
        .collect()
}

#[test]
fn a_slow_lossy_link_on_one_member_through_the_whole_run_ends_migrated_with_no_key_lost() {
    use crate::support::link_fault::LinkFault;
    use std::time::Instant;

    let lab = NetnsLab::up(500);
    let members_before = lab.members();
    let leaves_before = v2_leaves(&lab);
    let (netns, address) = lab.host_netns("etcd-2");

    // The fault is real: 200 ms more round-trip time to etcd-2 and about 5% of its
    // packets lost, as measured from the control namespace, where runbook runs.
    let clean = lab.probe(&address, 200);
    let fault = LinkFault::apply(&netns, Duration::from_millis(200), 0.05);
    let faulty = lab.probe(&address, 400);
    eprintln!("etcd-2 without the fault: {clean}\netcd-2 with the fault: {faulty}");
    assert_eq!(clean.received, clean.sent, "{clean:?}");
    // The fastest reply with the fault is 200 ms or more slower than the fastest without.
    assert!(
        faulty.rtt_ms.min >= clean.rtt_ms.min + 200.0,
        "{clean:?} {faulty:?}"
    );
    // 400 tries at 5%: 20 lost on average; outside 3..=45 has odds below one in a million.
    let lost = faulty.sent - faulty.received;
    assert!((3..=45).contains(&lost), "{faulty:?}");

    let started = Instant::now();
    let first = Running::start(lab.runbook_command("runbooks/v2-to-v3.rhai", &[]))
        .finish(Duration::from_secs(600));
    let first_took = started.elapsed();
    eprintln!(
        "first run: exit {} after {:.1}s\n{}",
        first.code,
        first_took.as_secs_f64(),
        step_timings(&first.stderr).join("\n")
    );
    if first.code != 0 {
        eprintln!("{}", first.stderr);
        assert!(
            first.stderr.contains("the run stopped at step `"),
            "{}",
            first.stderr
        );
        let resumed_at = Instant::now();
        let resumed = Running::start(lab.runbook_command("runbooks/v2-to-v3.rhai", &["--resume"]))
            .finish(Duration::from_secs(600));
        eprintln!(
            "resumed run: exit {} after {:.1}s\n{}",
            resumed.code,
            resumed_at.elapsed().as_secs_f64(),
            step_timings(&resumed.stderr).join("\n")
        );
        assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    }
    eprintln!(
        "v2-to-v3 with the fault on etcd-2: {:.1}s in all",
        started.elapsed().as_secs_f64()
    );

    // The fault held the whole run: the kernel dropped and queued etcd-2's packets, and
    // the delayer, alive to the end, released them late.
    let (dropped, queued) = fault.kernel_counts();
    let delayer = fault.remove();
    eprintln!("kernel: {dropped} packets dropped, {queued} queued; delayer: {delayer}");
    assert!(dropped > 0, "no packet dropped");
    assert!(delayer.delayed > 0, "no packet delayed: {delayer:?}");
    // Every packet the kernel queued was held (more may have come before the rule went).
    assert!(delayer.delayed >= queued, "{queued} queued: {delayer:?}");
    assert_eq!(delayer.lost_messages, 0, "{delayer:?}");
    assert_eq!(delayer.queue_dropped, Some(0), "{delayer:?}");
    assert_eq!(delayer.user_dropped, Some(0), "{delayer:?}");

    assert_migrated_as_before(&lab, &members_before, &leaves_before);
}
