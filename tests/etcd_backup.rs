//! `etcd.backup()` and `etcd.verify_backup()` against a real TLS lab: private
//! backup directories whose manifest matches `sha256sum`, a v2 backup that a
//! throwaway etcd really starts from, tampering named file by file, the gate
//! listing every host's outcome, and the free-space refusal on a small tmpfs.

use crate::support::command::run_script;
use crate::support::etcd::{etcdctl, wait_until};
use crate::support::lab::TestLab;
use crate::support::process::{free_port, Killed};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `B host dir files bytes` lines printed by the scripts below.
fn backups(stdout: &str) -> Vec<(String, PathBuf, u64, u64)> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("B "))
        .map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            (
                parts[0].to_string(),
                PathBuf::from(parts[1]),
                parts[2].parse().unwrap(),
                parts[3].parse().unwrap(),
            )
        })
        .collect()
}

fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn backup_verify_restore_tamper_gate_and_disk_space() {
    let lab = TestLab::up(&["--tls", "--keys", "100"]);
    let work = tempfile::tempdir().unwrap();
    let env = lab.env();
    let put = etcdctl(
        &env,
        2,
        &["set", "/runbook-test/backup", "taken-before-backup"],
    );
    assert_eq!(put.code, 0, "{}", put.stderr);
    // A member's WAL marks an entry committed only with a later hard state, and
    // `etcdctl backup` keeps committed entries only: write a fence after the key
    // and wait until every member knows the same commit index.
    let fence = etcdctl(&env, 2, &["set", "/runbook-test/fence", "x"]);
    assert_eq!(fence.code, 0, "{}", fence.stderr);
    let converged = wait_until(Duration::from_secs(10), || {
        let status = etcdctl(&env, 3, &["endpoint", "status", "-w", "json"]);
        let parsed: serde_json::Value = serde_json::from_str(&status.stdout).unwrap_or_default();
        let indexes: Vec<u64> = parsed
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["Status"]["raftIndex"].as_u64())
                    .collect()
            })
            .unwrap_or_default();
        indexes.len() == 3 && indexes.iter().all(|i| *i == indexes[0])
    });
    assert!(converged, "the lab's raft indexes did not converge");

    // Backup of every member, printed as B lines.
    let done = run_script(
        work.path(),
        &lab.inventory(),
        "backup.rhai",
        r#"
        let taken = etcd.backup();
        for b in taken { print(`B ${b.host} ${b.dir} ${b.files} ${b.bytes}`); }
        let again = etcd.verify_backup(taken);
        print(`verified ${again.len()}`);
        "#,
    )
    .success()
    .stdout_has("verified 3");
    let taken = backups(&done.stdout);
    assert_eq!(taken.len(), 3, "{}", done.stdout);
    let stamp = taken[0]
        .1
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        stamp.starts_with("openshift-backup-pre-migration"),
        "{stamp}"
    );
    for (host, dir, files, bytes) in &taken {
        let data_dir = lab.host_dir(host).join("var/lib/etcd");
        // One timestamp for the run, in each member's data dir.
        assert_eq!(dir, &data_dir.join(&stamp));
        let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("runbook-backup-manifest.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["host"], host.as_str());
        let listed = manifest["files"].as_array().unwrap();
        assert_eq!(listed.len() as u64, *files);
        let mut total = 0;
        for file in listed {
            let path = dir.join(file["path"].as_str().unwrap());
            assert_eq!(
                file["sha256"].as_str().unwrap(),
                sha256sum(&path),
                "{}",
                path.display()
            );
            let size = std::fs::metadata(&path).unwrap().len();
            assert_eq!(file["size"].as_u64().unwrap(), size);
            total += size;
        }
        assert_eq!(total, *bytes);
        let names: Vec<&str> = listed.iter().map(|f| f["path"].as_str().unwrap()).collect();
        assert!(names.contains(&"member/snap/db"), "{names:?}");
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("member/wal/") && n.ends_with(".wal")),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("member/snap/") && n.ends_with(".snap")),
            "{names:?}"
        );
    }

    // The v2 backup is usable: a throwaway etcd started on a copy of it with
    // --force-new-cluster serves the key written before the backup.
    let copy = work.path().join("restore");
    let status = Command::new("cp")
        .arg("-a")
        .arg(&taken[0].1)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let (client, peer) = (free_port(), free_port());
    let client_url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let log = std::fs::File::create(work.path().join("restore.log")).unwrap();
    let etcd = Killed(
        Command::new("etcd")
            .args(["--name", "restore", "--data-dir"])
            .arg(&copy)
            .args(["--force-new-cluster", "--enable-v2"])
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
            .arg(format!("restore={peer_url}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let plain = vec![("ETCDCTL_ENDPOINTS".to_string(), client_url.clone())];
    let mut value = String::new();
    let served = wait_until(Duration::from_secs(20), || {
        let got = etcdctl(&plain, 2, &["get", "/runbook-test/backup"]);
        value = format!("{}{}", got.stdout.trim(), got.stderr.trim());
        got.code == 0
    });
    drop(etcd);
    assert!(
        served,
        "the restored etcd did not serve the key: {value}\n{}",
        std::fs::read_to_string(work.path().join("restore.log")).unwrap_or_default()
    );
    assert_eq!(value, "taken-before-backup");

    // Tampering is found and named: a changed file, a deleted file, an extra file.
    let db2 = taken[1].1.join("member/snap/db");
    let mut bytes = std::fs::read(&db2).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&db2, bytes).unwrap();
    let snap3 = std::fs::read_dir(taken[2].1.join("member/snap"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "snap"))
        .unwrap();
    std::fs::remove_file(&snap3).unwrap();
    std::fs::write(taken[0].1.join("stray.txt"), "x").unwrap();
    let snap3_name = snap3.file_name().unwrap().to_string_lossy().to_string();
    run_script(work.path(), &lab.inventory(),
        "verify.rhai",
        r#"
        try { etcd.verify_backup("etcd-2"); print("etcd-2 verified"); }
        catch (e) { print(`etcd-2: ${e.code}: ${e.message}`); }
        try { etcd.verify_backup(#{host: "etcd-3", dir: inventory.host("etcd-3").vars.etcd_data_dir + "/STAMP"}); print("etcd-3 verified"); }
        catch (e) { print(`etcd-3: ${e.code}: ${e.message}`); }
        etcd.verify_backup(["etcd-1", "etcd-2"]);
        "#
        .replace("STAMP", &stamp)
        .as_str(),
    )
    .code(1)
    .stdout_has("etcd-2: runbook::etcd::backup::mismatch: etcd-2: the backup in")
    .stdout_has("changed file member/snap/db")
    .stdout_has("etcd-3: runbook::etcd::backup::mismatch")
    .stdout_has(&format!("missing file member/snap/{snap3_name}"))
    .stderr_has("2 of 2 backups do not verify")
    .stderr_has("extra file stray.txt")
    .stderr_has("changed file member/snap/db");

    // The gate: one member fails (its directory exists), the others succeed, all are listed.
    let gate_dir = work.path().join("gate");
    std::fs::create_dir_all(gate_dir.join("b-etcd-2")).unwrap();
    let failed = run_script(
        work.path(),
        &lab.inventory(),
        "gate.rhai",
        &format!(
            r#"etcd.backup(#{{dir: "{}/b-{{host}}"}});"#,
            gate_dir.display()
        ),
    )
    .code(1)
    .stderr_has("the backup failed on 1 of 3 etcd member(s)")
    .stderr_has("etcd-2: FAILED: etcd-2: the backup directory")
    .stderr_has("already exists")
    .stderr_has("etcd.backup(#{hosts: [\"etcd-2\"]})");
    for host in ["etcd-1", "etcd-3"] {
        assert!(
            failed.stderr.contains(&format!(
                "{host}: backed up into {}/b-{host}",
                gate_dir.display()
            )),
            "{}",
            failed.stderr
        );
        assert!(gate_dir
            .join(format!("b-{host}/runbook-backup-manifest.json"))
            .exists());
    }
    assert_eq!(
        std::fs::read_dir(gate_dir.join("b-etcd-2"))
            .unwrap()
            .count(),
        0
    );

    // Not enough space: a 1 MiB tmpfs cannot hold twice a data dir with a 64 MB WAL.
    let small = work.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(
        mounted.success(),
        "mount -t tmpfs failed (the test needs root)"
    );
    let _tmpfs = Tmpfs(small.clone());
    run_script(
        work.path(),
        &lab.inventory(),
        "space.rhai",
        &format!(
            r#"
            try {{ etcd.backup(#{{hosts: ["etcd-1"], dir: "{}/b-{{host}}"}}); }}
            catch (e) {{ print(`code ${{e.code}}`); print(e.message); print(`help ${{e.help}}`); }}
            "#,
            small.display()
        ),
    )
    .success()
    .stdout_has("code runbook::etcd::backup::gate")
    .stdout_has("etcd-1: not enough disk space for the backup in")
    .stdout_has("KiB are available on the filesystem of")
    .stdout_has(&small.display().to_string())
    .stdout_has("help etcd-1: free at least");
    assert_eq!(
        std::fs::read_dir(&small).unwrap().count(),
        0,
        "nothing written"
    );
}
