//! `etcd.issue_certificates` on two local hosts (an etcd host and a master, each a
//! directory): the CA and the certificates checked with openssl, then used by a real etcd
//! 3.4 and etcdctl; a second call that changes nothing; invalid files replaced with their
//! copies kept; a broken CA refused; check mode.

use crate::support::command::{json_result, says, Runbook};
use crate::support::etcd::wait_until;
use crate::support::files::mode;
use crate::support::process::{free_port, Killed};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const ISSUE: &str =
    "etcd.issue_certificates(\"etcd-1\", #{master: inventory.host(\"master-1\")})\n";

/// What the master held before: the files of its embedded etcd.
const OLD_CLIENT_CRT: &str =
    "-----BEGIN CERTIFICATE-----\nembedded etcd client certificate\n-----END CERTIFICATE-----\n";
const OLD_CLIENT_KEY: &str =
    "-----BEGIN PRIVATE KEY-----\nembedded etcd client key\n-----END PRIVATE KEY-----\n";

/// A temp dir with an etcd host and a master host, and their inventory.
struct Hosts {
    dir: tempfile::TempDir,
    /// etcd-1's `etcd_conf_dir`.
    etcd: PathBuf,
    /// master-1's `openshift_master_config_dir`.
    master: PathBuf,
}

impl Hosts {
    fn new() -> Hosts {
        let dir = tempfile::tempdir().unwrap();
        let etcd = dir.path().join("etcd-1/etc/etcd");
        let master = dir.path().join("master-1/etc/origin/master");
        // A new etcd host: no etcd package yet, so no /etc/etcd.
        std::fs::create_dir_all(dir.path().join("etcd-1")).unwrap();
        std::fs::create_dir_all(&master).unwrap();
        std::fs::write(master.join("master.etcd-client.crt"), OLD_CLIENT_CRT).unwrap();
        std::fs::write(master.join("master.etcd-client.key"), OLD_CLIENT_KEY).unwrap();
        let hosts = Hosts { dir, etcd, master };
        hosts.write_inventory("127.0.0.1");
        hosts
    }

    fn write_inventory(&self, etcd_ip: &str) {
        // A client port nothing listens on: no etcd runs while certificates are issued.
        let inventory = format!(
            "[masters]\nmaster-1 ansible_connection=local openshift_master_config_dir={master}\n\n[etcd]\netcd-1 ansible_connection=local etcd_conf_dir={etcd} etcd_ip={etcd_ip} etcd_client_port={port}\n",
            master = self.master.display(),
            etcd = self.etcd.display(),
            port = free_port(),
        );
        std::fs::write(self.inventory(), inventory).unwrap();
    }

    fn inventory(&self) -> PathBuf {
        self.dir.path().join("inventory.ini")
    }

    fn etcd_file(&self, name: &str) -> PathBuf {
        self.etcd.join(name)
    }

    fn master_file(&self, name: &str) -> PathBuf {
        self.master.join(name)
    }

    /// Every file of both hosts, by path, with its bytes and mode.
    fn snapshot(&self) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
        fn walk(dir: &Path, into: &mut BTreeMap<PathBuf, (Vec<u8>, u32)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    into.insert(path.clone(), (Vec::new(), mode(&path)));
                    walk(&path, into);
                } else {
                    into.insert(path.clone(), (std::fs::read(&path).unwrap(), mode(&path)));
                }
            }
        }
        let mut files = BTreeMap::new();
        walk(&self.dir.path().join("etcd-1"), &mut files);
        walk(&self.dir.path().join("master-1"), &mut files);
        files
    }

    /// `runbook --output json run` of `script`; the finished run and the script's value.
    fn run(
        &self,
        name: &str,
        script: &str,
    ) -> (crate::support::command::Finished, serde_json::Value) {
        std::fs::write(self.dir.path().join(name), script).unwrap();
        let finished = Runbook::new()
            .current_dir(self.dir.path())
            .args(["--output", "json", "run", name, "-i"])
            .arg(self.inventory())
            .run();
        let value = if finished.code == 0 {
            json_result(&finished.stdout)["value"].clone()
        } else {
            serde_json::Value::Null
        };
        (finished, value)
    }
}

/// `openssl` with `args`: its exit code and what it printed (stdout and stderr).
fn openssl(args: &[&str]) -> (i32, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn text_of(path: &Path) -> String {
    let (code, text) = openssl(&["x509", "-noout", "-text", "-in", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{}: {text}", path.display());
    text
}

/// The value on the line after `name` in openssl's text (an extension's value).
fn extension(text: &str, name: &str) -> String {
    let mut lines = text.lines();
    lines.find(|l| l.contains(name));
    lines
        .next()
        .map(|l| l.trim().to_string())
        .unwrap_or_default()
}

/// `(path, action, copy)` of each file of a result.
fn actions(value: &serde_json::Value) -> Vec<(String, String, Option<String>)> {
    value["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files in {value}"))
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["action"].as_str().unwrap().to_string(),
                f["copy"].as_str().map(String::from),
            )
        })
        .collect()
}

fn action_of(value: &serde_json::Value, path: &Path) -> (String, Option<String>) {
    let path = path.to_str().unwrap();
    actions(value)
        .into_iter()
        .find(|(p, _, _)| p == path)
        .map(|(_, action, copy)| (action, copy))
        .unwrap_or_else(|| panic!("{path} not in {value}"))
}

/// Serves the member's certificates with a real etcd and writes and reads a key through
/// it with the master's client certificate.
fn etcd_serves_the_master(hosts: &Hosts) {
    let (client, peer) = (free_port(), free_port());
    let client_url = format!("https://127.0.0.1:{client}");
    let peer_url = format!("https://127.0.0.1:{peer}");
    let file = |name: &str| hosts.etcd_file(name).to_str().unwrap().to_string();
    let log_path = hosts.dir.path().join("etcd.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let etcd = Killed(
        Command::new("etcd")
            .args(["--name", "certs", "--data-dir"])
            .arg(hosts.dir.path().join("etcd-data"))
            .args([
                "--listen-client-urls",
                &client_url,
                "--advertise-client-urls",
                &client_url,
            ])
            .args([
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
            ])
            .arg("--initial-cluster")
            .arg(format!("certs={peer_url}"))
            .args([
                "--cert-file",
                &file("server.crt"),
                "--key-file",
                &file("server.key"),
            ])
            .args(["--client-cert-auth", "--trusted-ca-file", &file("ca.crt")])
            .args([
                "--peer-cert-file",
                &file("peer.crt"),
                "--peer-key-file",
                &file("peer.key"),
            ])
            .args([
                "--peer-client-cert-auth",
                "--peer-trusted-ca-file",
                &file("ca.crt"),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("etcd starts"),
    );
    let master = |name: &str| hosts.master_file(name).to_str().unwrap().to_string();
    let etcdctl = |args: &[&str]| {
        let mut command = Command::new("etcdctl");
        for (name, _) in std::env::vars() {
            if name.starts_with("ETCDCTL_") {
                command.env_remove(name);
            }
        }
        let out = command
            .env("ETCDCTL_API", "3")
            .args(["--cacert", &master("master.etcd-ca.crt")])
            .args(["--cert", &master("master.etcd-client.crt")])
            .args(["--key", &master("master.etcd-client.key")])
            .args(["--endpoints", &client_url, "--command-timeout", "5s"])
            .args(args)
            .output()
            .expect("etcdctl runs");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let mut said = String::new();
    let written = wait_until(Duration::from_secs(30), || {
        let (ok, out) = etcdctl(&["put", "/runbook-test/certs", "issued"]);
        said = out;
        ok
    });
    let (read, value) = etcdctl(&["get", "--print-value-only", "/runbook-test/certs"]);
    // The master's certificate is the only way in: none is refused.
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args(["--cacert", &master("master.etcd-ca.crt")])
        .args([
            "--endpoints",
            &client_url,
            "--command-timeout",
            "5s",
            "get",
            "x",
        ])
        .output()
        .unwrap();
    drop(etcd);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        written,
        "etcdctl put through the master's certificate: {said}\netcd log:\n{log}"
    );
    assert!(read, "etcdctl get: {value}");
    assert_eq!(value.trim(), "issued");
    assert!(
        !out.status.success(),
        "etcd let a client without a certificate in"
    );
}

#[test]
fn issues_what_openshift_ansible_issues_and_etcd_serves_the_master_with_it() {
    let hosts = Hosts::new();
    let (first, value) = hosts.run("issue.rhai", ISSUE);
    let first = first.success();
    assert_eq!(value["host"], "etcd-1", "{value}");
    assert_eq!(value["ca"], "created", "{value}");
    let ca_dir = hosts.etcd_file("ca");
    assert_eq!(value["ca_dir"], ca_dir.to_str().unwrap());
    for name in ["server.crt", "server.key", "peer.crt", "peer.key", "ca.crt"] {
        assert_eq!(
            action_of(&value, &hosts.etcd_file(name)),
            ("created".into(), None),
            "{name}"
        );
    }
    assert_eq!(
        action_of(&value, &hosts.master_file("master.etcd-ca.crt")),
        ("created".into(), None)
    );
    for name in ["master.etcd-client.crt", "master.etcd-client.key"] {
        let path = hosts.master_file(name);
        let copy = format!("{}.runbook-embedded", path.display());
        assert_eq!(
            action_of(&value, &path),
            ("replaced".into(), Some(copy)),
            "{name}"
        );
    }
    assert!(
        first.stdout.contains("etcd-1: etcd CA in"),
        "{}",
        first.stdout
    );

    // The CA, as openshift-ansible lays it out.
    for name in [
        "ca.crt",
        "ca.key",
        "openssl.cnf",
        "index.txt",
        "serial",
        "fragments/openssl.cnf",
        "fragments/openssl_append.cnf",
    ] {
        assert!(ca_dir.join(name).is_file(), "no {name} in the CA dir");
    }
    for name in ["certs", "crl", "fragments"] {
        assert!(ca_dir.join(name).is_dir(), "no {name}/ in the CA dir");
    }
    let ca_text = text_of(&ca_dir.join("ca.crt"));
    assert!(
        extension(&ca_text, "X509v3 Basic Constraints").starts_with("CA:TRUE"),
        "{ca_text}"
    );
    assert!(ca_text.contains("Subject: CN = etcd-signer@"), "{ca_text}");
    // Five years, and the database holds the three certificates signed.
    let (_, end) = openssl(&[
        "x509",
        "-noout",
        "-checkend",
        &(4 * 365 * 86400).to_string(),
        "-in",
        ca_dir.join("ca.crt").to_str().unwrap(),
    ]);
    assert!(end.contains("will not expire"), "{end}");
    let index = std::fs::read_to_string(ca_dir.join("index.txt")).unwrap();
    assert_eq!(index.lines().count(), 3, "{index}");

    // Everything verifies against the CA, by openssl.
    let ca = ca_dir.join("ca.crt");
    let (code, verified) = openssl(&[
        "verify",
        "-CAfile",
        ca.to_str().unwrap(),
        hosts.etcd_file("server.crt").to_str().unwrap(),
        hosts.etcd_file("peer.crt").to_str().unwrap(),
        hosts
            .master_file("master.etcd-client.crt")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(code, 0, "{verified}");
    assert_eq!(verified.matches(": OK").count(), 3, "{verified}");
    for (file, purposes) in [
        ("server.crt", "TLS Web Server Authentication"),
        (
            "peer.crt",
            "TLS Web Client Authentication, TLS Web Server Authentication",
        ),
    ] {
        let text = text_of(&hosts.etcd_file(file));
        assert_eq!(
            extension(&text, "X509v3 Extended Key Usage"),
            purposes,
            "{file}"
        );
        assert_eq!(
            extension(&text, "X509v3 Subject Alternative Name"),
            "IP Address:127.0.0.1, DNS:etcd-1",
            "{file}"
        );
    }
    let client = text_of(&hosts.master_file("master.etcd-client.crt"));
    assert_eq!(
        extension(&client, "X509v3 Extended Key Usage"),
        "TLS Web Client Authentication"
    );
    assert!(client.contains("Subject: CN = master-1"), "{client}");
    for (cert, key) in [
        (hosts.etcd_file("server.crt"), hosts.etcd_file("server.key")),
        (hosts.etcd_file("peer.crt"), hosts.etcd_file("peer.key")),
        (
            hosts.master_file("master.etcd-client.crt"),
            hosts.master_file("master.etcd-client.key"),
        ),
        (ca.clone(), ca_dir.join("ca.key")),
    ] {
        let (_, from_cert) = openssl(&["x509", "-noout", "-pubkey", "-in", cert.to_str().unwrap()]);
        let (_, from_key) = openssl(&["pkey", "-pubout", "-in", key.to_str().unwrap()]);
        assert_eq!(
            from_cert,
            from_key,
            "{} is the key of {}",
            key.display(),
            cert.display()
        );
        assert_eq!(mode(&key), 0o600, "{}", key.display());
    }
    let ca_bytes = std::fs::read(&ca).unwrap();
    assert_eq!(std::fs::read(hosts.etcd_file("ca.crt")).unwrap(), ca_bytes);
    assert_eq!(
        std::fs::read(hosts.master_file("master.etcd-ca.crt")).unwrap(),
        ca_bytes
    );
    assert_eq!(mode(&hosts.master_file("master.etcd-ca.crt")), 0o600);

    // The master's files of its embedded etcd, byte for byte.
    assert_eq!(
        std::fs::read_to_string(hosts.master_file("master.etcd-client.crt.runbook-embedded"))
            .unwrap(),
        OLD_CLIENT_CRT
    );
    assert_eq!(
        std::fs::read_to_string(hosts.master_file("master.etcd-client.key.runbook-embedded"))
            .unwrap(),
        OLD_CLIENT_KEY
    );
    assert!(!hosts
        .master_file("master.etcd-ca.crt.runbook-embedded")
        .exists());

    // For the etcd package, etcd's own files are its user's (runbook runs here as root).
    let etcd_uid = Command::new("id").args(["-u", "etcd"]).output().unwrap();
    if etcd_uid.status.success() && running_as_root() {
        use std::os::unix::fs::MetadataExt;
        let uid: u32 = String::from_utf8_lossy(&etcd_uid.stdout)
            .trim()
            .parse()
            .unwrap();
        let owner = std::fs::metadata(hosts.etcd_file("server.key"))
            .unwrap()
            .uid();
        assert_eq!(owner, uid, "server.key belongs to etcd");
    }

    // A real etcd serves with the member's certificates; the master's get in.
    etcd_serves_the_master(&hosts);

    // Again: nothing changes, and the run says so.
    let before = hosts.snapshot();
    let (second, value) = hosts.run("again.rhai", ISSUE);
    let second = second.success();
    assert_eq!(value["ca"], "kept", "{value}");
    for (path, action, copy) in actions(&value) {
        assert_eq!((action.as_str(), copy), ("kept", None), "{path}");
    }
    assert!(
        second.stdout.contains("nothing changed"),
        "{}",
        second.stdout
    );
    assert_eq!(hosts.snapshot(), before, "the second call changed files");

    // Another address, and a master file that is not a certificate: those are issued
    // again, the old ones kept; the master's first copies stay the embedded etcd's.
    hosts.write_inventory("127.0.0.2");
    let old_server = std::fs::read(hosts.etcd_file("server.crt")).unwrap();
    std::fs::write(hosts.master_file("master.etcd-client.crt"), "garbage\n").unwrap();
    let (third, value) = hosts.run("moved.rhai", ISSUE);
    third.success();
    assert_eq!(value["ca"], "kept");
    let (action, copy) = action_of(&value, &hosts.etcd_file("server.crt"));
    assert_eq!(action, "replaced");
    let copy = copy.unwrap();
    assert!(
        copy.starts_with(&format!(
            "{}.runbook-",
            hosts.etcd_file("server.crt").display()
        )),
        "{copy}"
    );
    assert_eq!(std::fs::read(&copy).unwrap(), old_server);
    assert_eq!(mode(Path::new(&copy)), 0o600);
    let server = text_of(&hosts.etcd_file("server.crt"));
    assert_eq!(
        extension(&server, "X509v3 Subject Alternative Name"),
        "IP Address:127.0.0.2, DNS:etcd-1"
    );
    assert_eq!(
        action_of(&value, &hosts.etcd_file("peer.crt")).0,
        "replaced"
    );
    assert_eq!(
        action_of(&value, &hosts.etcd_file("ca.crt")),
        ("kept".into(), None)
    );
    let (action, copy) = action_of(&value, &hosts.master_file("master.etcd-client.crt"));
    assert_eq!(action, "replaced");
    let copy = copy.unwrap();
    assert!(!copy.ends_with(".runbook-embedded"), "{copy}");
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), "garbage\n");
    assert_eq!(
        std::fs::read_to_string(hosts.master_file("master.etcd-client.crt.runbook-embedded"))
            .unwrap(),
        OLD_CLIENT_CRT
    );
    assert_eq!(
        std::fs::read_to_string(hosts.master_file("master.etcd-client.key.runbook-embedded"))
            .unwrap(),
        OLD_CLIENT_KEY
    );
    assert_eq!(std::fs::read(&ca).unwrap(), ca_bytes, "the CA stays");
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn a_broken_ca_is_refused_and_nothing_changes() {
    let hosts = Hosts::new();
    let ca_dir = hosts.etcd_file("ca");
    std::fs::create_dir_all(&ca_dir).unwrap();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-batch",
            "-subj",
            "/CN=etcd-signer@1",
        ])
        .arg("-keyout")
        .arg(hosts.dir.path().join("elsewhere.key"))
        .arg("-out")
        .arg(ca_dir.join("ca.crt"))
        .output()
        .unwrap();
    assert!(made.status.success());
    let before = hosts.snapshot();
    let (refused, _) = hosts.run("issue.rhai", ISSUE);
    let refused = refused.code(1);
    let said = format!("{}{}", refused.stdout, refused.stderr);
    let key = ca_dir.join("ca.key");
    assert!(
        says(&said, &format!("{} is missing", key.display())),
        "names the missing key: {said}"
    );
    assert!(said.contains("runbook::etcd::certs::broken_ca"), "{said}");
    assert!(
        says(
            &said,
            &format!("mv {} {}.old", ca_dir.display(), ca_dir.display())
        ),
        "says how to start over: {said}"
    );
    assert_eq!(hosts.snapshot(), before, "a refused call changed files");
}

#[test]
fn check_mode_plans_and_creates_nothing() {
    let hosts = Hosts::new();
    std::fs::write(hosts.dir.path().join("issue.rhai"), ISSUE).unwrap();
    let before = hosts.snapshot();
    let checked = Runbook::new()
        .current_dir(hosts.dir.path())
        .args(["check", "issue.rhai", "-i"])
        .arg(hosts.inventory())
        .run()
        .success();
    assert!(checked.stdout.contains("(1 changes;"), "{}", checked.stdout);
    assert!(
        checked
            .stdout
            .contains(&hosts.etcd_file("ca").display().to_string()),
        "the plan names the CA dir: {}",
        checked.stdout
    );
    assert_eq!(hosts.snapshot(), before, "check mode changed files");
    assert!(!hosts.etcd_file("ca").exists());
}

#[test]
fn without_a_master_only_the_member_s_certificates_and_a_named_one_must_be_a_master() {
    let hosts = Hosts::new();
    let client = std::fs::read(hosts.master_file("master.etcd-client.crt")).ok();
    let (member_only, _) = hosts.run("member.rhai", "etcd.issue_certificates(\"etcd-1\")\n");
    member_only.code(0);
    assert!(hosts.etcd_file("ca/ca.crt").exists());
    assert!(hosts.etcd_file("server.crt").exists());
    assert!(hosts.etcd_file("peer.crt").exists());
    // The master's files are as they were, and no copy was taken of them.
    assert_eq!(
        std::fs::read(hosts.master_file("master.etcd-client.crt")).ok(),
        client
    );
    assert!(!hosts.master_file("master.etcd-ca.crt").exists());
    assert!(!hosts
        .master_file("master.etcd-client.crt.runbook-embedded")
        .exists());

    let (wrong, _) = hosts.run(
        "wrong.rhai",
        "etcd.issue_certificates(\"etcd-1\", #{master: \"etcd-1\"})\n",
    );
    let wrong = wrong.code(1);
    let said = format!("{}{}", wrong.stdout, wrong.stderr);
    assert!(
        says(&said, "etcd-1 is not in the inventory's [masters] group"),
        "{said}"
    );
    assert!(says(&said, "the masters are: master-1"), "{said}");
}
