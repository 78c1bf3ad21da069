//! Security defaults against real components: etcd TLS is verified on the v2
//! and v3 APIs unless `runbook_etcd_tls_insecure_skip_verify` is set (then a
//! warning is logged each run); every lab has its own CA and keys, owner-only,
//! and refuses another lab's client certificate; ssh host keys are checked
//! strictly unless `ansible_host_key_checking=false`.

use crate::support::command::{says, write_file, Finished, Runbook};
use crate::support::etcd::{etcdctl, runtime, wait_until};
use crate::support::files::mode;
use crate::support::lab::TestLab;
use crate::support::sshd::Sshd;
use runbook::inventory::Inventory;
use runbook::ops::etcd::client::tls_name::reqwest_builder_for_name;
use runbook::ops::etcd::{client::v3, EtcdMember, TlsFiles, TlsMaterial, V2Client};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SKIP: &str = "runbook_etcd_tls_insecure_skip_verify";
const WARNING: &str = "TLS VERIFICATION IS OFF for etcd member";

/// Reads through both APIs (v3 key count, v2 and v3 health of every member).
const PROBE: &str =
    "print(`v3 keys: ${etcd.v3_key_count()}`);\netcd.expect_healthy();\nprint(\"all healthy\");\n";

/// The lab's inventory with `extra` lines added to `[etcd:vars]`, written into `dir`.
fn inventory_with(lab: &TestLab, dir: &Path, name: &str, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(lab.inventory()).unwrap();
    let text = text.replacen("[etcd]\n", &format!("[etcd:vars]\n{extra}\n\n[etcd]\n"), 1);
    write_file(dir, name, &text)
}

fn probe(dir: &Path, inventory: &Path) -> Finished {
    let script = write_file(dir, "probe.rhai", PROBE);
    Runbook::new()
        .arg("run")
        .arg(script)
        .arg("-i")
        .arg(inventory)
        .run()
}

/// Fails unless the rendered diagnostic `text` holds `needle` (see [`says`]).
fn assert_says(text: &str, needle: impl AsRef<str>) {
    assert!(
        says(text, needle.as_ref()),
        "{:?} not in:\n{text}",
        needle.as_ref()
    );
}

fn files_named(dir: &Path, suffix: &str, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_named(&path, suffix, into);
        } else if path.to_string_lossy().ends_with(suffix) {
            into.push(path);
        }
    }
}

fn etc_etcd(lab: &TestLab, host: &str) -> PathBuf {
    lab.host_dir(host).join("etc/etcd")
}

fn material(ca: &Path, cert: &Path, key: &Path) -> TlsMaterial {
    TlsFiles {
        ca_file: ca.into(),
        cert_file: cert.into(),
        key_file: key.into(),
    }
    .read()
    .unwrap()
}

fn client_url(lab: &TestLab, host: &str) -> String {
    let inventory = Inventory::load(&lab.inventory(), &[]).unwrap();
    let host = inventory.host(host).unwrap();
    EtcdMember::from_host(host).unwrap().endpoint.client_url
}

/// v2 `/health` and a v3 read through the library's own clients (no pre-check).
fn clients_accept(url: &str, tls: &TlsMaterial, name: Option<&str>) -> (bool, bool) {
    runtime().block_on(async {
        let timeout = Duration::from_secs(5);
        let v2 = match name {
            Some(name) => V2Client::from_builder(
                vec![reqwest::Url::parse(url).unwrap()],
                reqwest_builder_for_name(tls, name).unwrap(),
                timeout,
            )
            .unwrap(),
            None => V2Client::with_timeout(&[url.to_string()], Some(tls), timeout).unwrap(),
        };
        let v2_ok = matches!(v2.health().await, Ok(true));
        let options = match name {
            Some(name) => etcd_client::ConnectOptions::new()
                .with_tls(tls.etcd_tls_options().domain_name(name)),
            None => tls.connect_options(),
        };
        let v3_ok = match v3::connect_with(&[url.to_string()], options, timeout).await {
            Ok(mut client) => client.get("health", None).await.is_ok(),
            Err(_) => false,
        };
        (v2_ok, v3_ok)
    })
}

#[test]
fn labs_have_their_own_certificates_and_etcd_tls_is_verified_unless_skipped() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| TestLab::up(&["--tls", "--keys", "20"]));
        let b = s.spawn(|| TestLab::up(&["--tls", "--keys", "20"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    let work = tempfile::tempdir().unwrap();

    // Per-lab material: different CAs, no key shared, no CA key on disk, owner-only keys.
    let ca =
        |lab: &TestLab| std::fs::read_to_string(etc_etcd(lab, "etcd-1").join("ca.crt")).unwrap();
    assert_ne!(ca(&a), ca(&b), "two labs share a CA certificate");
    let mut keys = BTreeSet::new();
    for lab in [&a, &b] {
        assert_eq!(
            ca(lab),
            std::fs::read_to_string(etc_etcd(lab, "etcd-3").join("ca.crt")).unwrap()
        );
        let mut found = Vec::new();
        files_named(&lab.dir, ".key", &mut found);
        // server + peer per member, the master's etcd client key; the CA key never hits the disk.
        assert_eq!(found.len(), 7, "{found:?}");
        for key in &found {
            assert_eq!(mode(key), 0o600, "{}", key.display());
            assert_eq!(mode(key.parent().unwrap()), 0o700, "{}", key.display());
            assert!(
                keys.insert(std::fs::read(key).unwrap()),
                "{} repeats a key",
                key.display()
            );
        }
        let mut pems = Vec::new();
        files_named(&lab.dir, "", &mut pems);
        for file in pems {
            let text = std::fs::read(&file).unwrap_or_default();
            if String::from_utf8_lossy(&text).contains("PRIVATE KEY") {
                assert!(
                    file.to_string_lossy().ends_with(".key"),
                    "key material in {}",
                    file.display()
                );
            }
        }
    }

    // Lab A's client certificate is refused by lab B's members: etcdctl, then runbook.
    let a_dir = etc_etcd(&a, "etcd-1");
    let mut env = b.env();
    for (name, value) in env.iter_mut() {
        match name.as_str() {
            "ETCDCTL_CERT" => *value = a_dir.join("peer.crt").display().to_string(),
            "ETCDCTL_KEY" => *value = a_dir.join("peer.key").display().to_string(),
            _ => {}
        }
    }
    let refused = etcdctl(
        &env,
        3,
        &[
            "get",
            "--prefix",
            "/",
            "--keys-only",
            "--command-timeout=5s",
        ],
    );
    assert_ne!(
        refused.code, 0,
        "lab B served lab A's client certificate: {}",
        refused.stdout
    );
    assert!(
        etcdctl(&b.env(), 3, &["get", "x", "--command-timeout=5s"]).code == 0,
        "lab B's own client works"
    );
    let foreign_client = format!(
        "etcd_peer_cert_file={}\netcd_peer_key_file={}",
        a_dir.join("peer.crt").display(),
        a_dir.join("peer.key").display()
    );
    for extra in [
        foreign_client.clone(),
        format!("{foreign_client}\n{SKIP}=true"),
    ] {
        let inventory = inventory_with(&b, work.path(), "b-foreign-client.ini", &extra);
        let run = probe(work.path(), &inventory).code(1);
        let stderr = run.stderr_unwrapped();
        assert_says(&stderr, "runbook::etcd::tls_refused");
        assert_says(&stderr, "etcd-1: TLS with https://127.0.0.1:");
        assert_says(&stderr, "refused runbook's client certificate");
        assert_says(
            &stderr,
            "set etcd_peer_cert_file and etcd_peer_key_file for etcd-1",
        );
    }

    // A member whose certificate comes from another CA: refused, naming the host and the fix.
    let other_ca = format!(
        "etcd_peer_ca_file={}",
        etc_etcd(&b, "etcd-1").join("ca.crt").display()
    );
    let inventory = inventory_with(&a, work.path(), "a-other-ca.ini", &other_ca);
    let run = probe(work.path(), &inventory).code(1);
    let stderr = run.stderr_unwrapped();
    assert_says(&stderr, "runbook::etcd::tls_refused");
    assert_says(&stderr, "etcd-1: TLS with https://127.0.0.1:");
    assert_says(&stderr, "its server certificate does not verify");
    assert_says(
        &stderr,
        "set etcd_peer_ca_file (or etcd_conf_dir) for etcd-1",
    );
    assert_says(&stderr, format!("{SKIP}=true for etcd-1"));
    assert!(!says(&stderr, WARNING), "{stderr}");
    assert!(!run.stdout.contains("v3 keys"), "{}", run.stdout);
    // ... and accepted with the flag, loudly, for every member, on every run.
    let inventory = inventory_with(
        &a,
        work.path(),
        "a-other-ca-skip.ini",
        &format!("{other_ca}\n{SKIP}=true"),
    );
    for _ in 0..2 {
        let run = probe(work.path(), &inventory)
            .success()
            .stdout_has("all healthy");
        for host in ["etcd-1", "etcd-2", "etcd-3"] {
            assert!(
                says(&run.stderr, &format!("{WARNING} {host}")),
                "{}",
                run.stderr
            );
        }
    }
    // Without the pre-check, the clients themselves refuse a foreign CA and accept the right one.
    let url = client_url(&a, "etcd-1");
    let wrong = material(
        &etc_etcd(&b, "etcd-1").join("ca.crt"),
        &a_dir.join("peer.crt"),
        &a_dir.join("peer.key"),
    );
    let right = material(
        &a_dir.join("ca.crt"),
        &a_dir.join("peer.crt"),
        &a_dir.join("peer.key"),
    );
    assert_eq!(
        clients_accept(&url, &wrong, None),
        (false, false),
        "foreign CA accepted"
    );
    assert_eq!(
        clients_accept(&url, &wrong, Some("127.0.0.1")),
        (false, false),
        "foreign CA accepted"
    );
    assert_eq!(
        clients_accept(&url, &right, None),
        (true, true),
        "the lab's own CA refused"
    );
    assert_eq!(
        clients_accept(&url, &right, Some("127.0.0.1")),
        (true, true)
    );
    // The certificate is issued for 127.0.0.1, localhost and etcd-1; another name does not do.
    assert_eq!(
        clients_accept(&url, &right, Some("elsewhere.example")),
        (false, false)
    );

    // A member whose certificate is not issued for the address runbook dials.
    let elsewhere = reissue_for_another_name(&b, work.path());
    let wrong_name = format!("etcd_peer_ca_file={}", elsewhere.display());
    let inventory = inventory_with(&b, work.path(), "b-wrong-name.ini", &wrong_name);
    let run = probe(work.path(), &inventory).code(1);
    let stderr = run.stderr_unwrapped();
    assert_says(&stderr, "runbook::etcd::tls_refused");
    assert_says(
        &stderr,
        "etcd-1's certificate is not issued for `127.0.0.1`",
    );
    assert_says(&stderr, "set etcd_ip for etcd-1");
    let inventory = inventory_with(
        &b,
        work.path(),
        "b-wrong-name-skip.ini",
        &format!("{wrong_name}\n{SKIP}=true"),
    );
    let run = probe(work.path(), &inventory)
        .success()
        .stdout_has("all healthy");
    assert!(
        says(&run.stderr, &format!("{WARNING} etcd-1")),
        "{}",
        run.stderr
    );
}

/// Gives lab `lab`'s etcd-1 a server certificate for `elsewhere.example` only,
/// from a new CA (whose certificate is returned), and restarts it.
fn reissue_for_another_name(lab: &TestLab, dir: &Path) -> PathBuf {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["elsewhere.example".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let conf = etc_etcd(lab, "etcd-1");
    std::fs::write(conf.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(conf.join("server.key"), key.serialize_pem()).unwrap();
    let service = lab.dir.join("bin/lab-service");
    let status = std::process::Command::new(&service)
        .arg(lab.host_dir("etcd-1"))
        .args(["restart", "etcd"])
        .status()
        .unwrap();
    assert!(status.success(), "restarting etcd-1");
    let url = client_url(lab, "etcd-1");
    let up = wait_until(Duration::from_secs(20), || {
        let mut env = lab.env();
        env.retain(|(k, _)| k != "ETCDCTL_ENDPOINTS");
        env.push(("ETCDCTL_ENDPOINTS".into(), url.clone()));
        etcdctl(
            &env,
            3,
            &[
                "endpoint",
                "health",
                "--insecure-skip-tls-verify",
                "--command-timeout=2s",
            ],
        )
        .code
            == 0
    });
    assert!(up, "etcd-1 did not come back with its new certificate");
    write_file(dir, "elsewhere-ca.crt", &ca.pem())
}

/// `box` reached through `sshd` with the given known_hosts file and extra variables.
fn ssh_inventory(dir: &Path, sshd: &Sshd, known_hosts: &Path, extra: &str) -> PathBuf {
    write_file(
        dir,
        "ssh.ini",
        &format!(
            "[boxes]\nbox ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file=\"{}\" runbook_ssh_known_hosts_file=\"{}\" ansible_ssh_timeout=5s {extra}\n",
            sshd.address,
            sshd.port,
            sshd.user,
            sshd.key.display(),
            known_hosts.display()
        ),
    )
}

fn ssh_run(dir: &Path, inventory: &Path) -> Finished {
    let script = write_file(
        dir,
        "ssh.rhai",
        "print(`said ${inventory.host(\"box\").run(\"echo hi\")}`);\n",
    );
    Runbook::new()
        .arg("run")
        .arg(script)
        .arg("-i")
        .arg(inventory)
        .run()
}

#[test]
fn ssh_host_keys_are_checked_strictly_unless_turned_off() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let warning = "ansible_host_key_checking=false: the ssh host key of box is NOT verified";

    // The right key: connects, no warning.
    let inventory = ssh_inventory(dir, &sshd, &sshd.known_hosts, "");
    let run = ssh_run(dir, &inventory).success().stdout_has("said hi");
    assert!(!says(&run.stderr, "NOT verified"), "{}", run.stderr);

    // A host not in known_hosts: refused, naming the host and how to record its key.
    let empty = write_file(dir, "empty_known_hosts", "");
    let inventory = ssh_inventory(dir, &sshd, &empty, "");
    let stderr = ssh_run(dir, &inventory).code(1).stderr_unwrapped();
    assert_says(&stderr, "runbook::transport::host_key");
    assert_says(&stderr, "refused to connect to box over ssh");
    assert_says(
        &stderr,
        format!("its host key is not in {}", empty.display()),
    );
    assert_says(
        &stderr,
        format!(
            "ssh-keyscan -p {} 127.0.0.1 >> {}",
            sshd.port,
            empty.display()
        ),
    );
    assert_eq!(
        std::fs::read_to_string(&empty).unwrap(),
        "",
        "nothing was recorded"
    );

    // A changed key: refused, saying how to replace the entry (and that it may be an attack).
    let wrong = sshd.wrong_known_hosts();
    let before = std::fs::read_to_string(&wrong).unwrap();
    let inventory = ssh_inventory(dir, &sshd, &wrong, "");
    let stderr = ssh_run(dir, &inventory).code(1).stderr_unwrapped();
    assert_says(&stderr, "runbook::transport::host_key");
    assert_says(&stderr, "refused to connect to box over ssh");
    assert_says(&stderr, "its host key changed");
    assert_says(
        &stderr,
        format!(
            "ssh-keygen -R '[127.0.0.1]:{}' -f {}",
            sshd.port,
            wrong.display()
        ),
    );
    assert_says(&stderr, "intercepting");

    // Checking off: both connect, with a warning; no key is recorded or replaced.
    for known_hosts in [&empty, &wrong] {
        let inventory = ssh_inventory(dir, &sshd, known_hosts, "ansible_host_key_checking=false");
        let run = ssh_run(dir, &inventory).success().stdout_has("said hi");
        assert!(says(&run.stderr, warning), "{}", run.stderr);
    }
    assert_eq!(std::fs::read_to_string(&empty).unwrap(), "");
    assert_eq!(std::fs::read_to_string(&wrong).unwrap(), before);
}
