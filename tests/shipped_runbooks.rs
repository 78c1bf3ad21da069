//! The runbooks shipped beside the migration, each on a small TLS lab: health-report,
//! rolling-restart, snapshot-backup, defrag and replace-member. Outcomes are read with plain
//! etcdctl, the lab's pid files and the files on disk; `check` of each prints a plan and
//! changes nothing.

use crate::support::command::{json_result, repo_root, Finished, Runbook};
use crate::support::etcd::etcdctl;
use crate::support::lab::TestLab;
use runbook::lab::layout::LabLayout;
use std::time::Duration;

fn runbook_path(name: &str) -> std::path::PathBuf {
    repo_root().join("runbooks").join(name)
}

/// `runbook [--output json] run runbooks/NAME -i LAB --yes EXTRA...`.
fn run(lab: &TestLab, name: &str, json: bool, extra: &[&str]) -> Finished {
    let mut command = Runbook::new().current_dir(&lab.dir);
    if json {
        command = command.args(["--output", "json"]);
    }
    command
        .arg("run")
        .arg(runbook_path(name))
        .arg("-i")
        .arg(lab.inventory())
        .arg("--yes")
        .args(extra)
        .run()
}

/// `runbook check runbooks/NAME`: a plan, exit 0, nothing changed (the members' pids and
/// revision stay).
fn check(lab: &TestLab, name: &str, extra: &[&str]) -> Finished {
    let before = (pids(lab), revision(lab));
    let planned = Runbook::new()
        .current_dir(&lab.dir)
        .arg("check")
        .arg(runbook_path(name))
        .arg("-i")
        .arg(lab.inventory())
        .args(extra)
        .run()
        .success();
    assert!(planned.stdout.contains("plan for"), "{}", planned.stdout);
    assert_eq!((pids(lab), revision(lab)), before, "check changed nothing");
    planned
}

/// Each member's etcd pid, from the lab's pid files.
fn pids(lab: &TestLab) -> Vec<String> {
    let layout = LabLayout::new(&lab.dir);
    lab.state()
        .members
        .iter()
        .map(|m| {
            let text =
                std::fs::read_to_string(layout.host(&m.name).pid_file("etcd")).unwrap_or_default();
            text.split_whitespace().next().unwrap_or("").to_string()
        })
        .collect()
}

fn endpoint_env(lab: &TestLab, endpoint: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = lab
        .env()
        .into_iter()
        .filter(|(n, _)| n != "ETCDCTL_ENDPOINTS")
        .collect();
    env.push(("ETCDCTL_ENDPOINTS".into(), endpoint.into()));
    env
}

/// `(host, status)` of every member by plain `etcdctl endpoint status -w json`.
fn statuses(lab: &TestLab) -> Vec<(String, serde_json::Value)> {
    let state = lab.state();
    state
        .members
        .iter()
        .map(|m| {
            let out = etcdctl(
                &endpoint_env(lab, &state.client_url(m)),
                3,
                &["endpoint", "status", "-w", "json"],
            );
            assert_eq!(out.code, 0, "{}: {}", m.name, out.stderr);
            let parsed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            (m.name.clone(), parsed[0]["Status"].clone())
        })
        .collect()
}

fn leader(lab: &TestLab) -> String {
    let statuses = statuses(lab);
    let leader_id = &statuses[0].1["leader"];
    statuses
        .iter()
        .find(|(_, s)| &s["header"]["member_id"] == leader_id)
        .map(|(host, _)| host.clone())
        .expect("a leader")
}

fn revision(lab: &TestLab) -> i64 {
    let out = etcdctl(&lab.env(), 3, &["get", "/no-such-key", "-w", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
    parsed["header"]["revision"].as_i64().unwrap_or(0)
}

/// `count` keys of `size` bytes under `prefix`, in transactions of 100 puts (plain etcdctl).
fn put_many(lab: &TestLab, prefix: &str, count: usize, size: usize) {
    use std::io::Write;
    let value = "v".repeat(size);
    for batch in (0..count).collect::<Vec<_>>().chunks(100) {
        let ops: String = batch
            .iter()
            .map(|i| format!("put {prefix}{i:05} {value}\n"))
            .collect();
        let mut child = std::process::Command::new("etcdctl")
            .envs(lab.env())
            .env("ETCDCTL_API", "3")
            .arg("txn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // No compares, the puts, no failure requests: each list ends with an empty line.
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("\n{ops}\n\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "etcdctl txn: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn hashkv_agree(lab: &TestLab) -> bool {
    let out = etcdctl(&lab.env(), 3, &["endpoint", "hashkv", "-w", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let hashes: Vec<&serde_json::Value> = parsed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["HashKV"]["hash"])
        .collect();
    hashes.len() == 3 && hashes.iter().all(|h| *h == hashes[0])
}

fn steps_in_order(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("==> step "))
        .map(str::to_string)
        .collect()
}

#[test]
fn health_report_reports_every_member_and_fails_naming_a_stopped_one() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let out = etcdctl(&lab.env(), 3, &["put", "/report/a", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = run(&lab, "health-report.rhai", true, &["--no-journal"]).success();
    let value = json_result(&report.stdout)["value"].clone();
    let members = value["members"].as_array().unwrap();
    assert_eq!(members.len(), 3, "{value}");
    let leader = leader(&lab);
    for (host, status) in statuses(&lab) {
        let member = members.iter().find(|m| m["host"] == host.as_str()).unwrap();
        assert_eq!(member["healthy"], true, "{member}");
        assert_eq!(member["is_leader"], host == leader, "{member}");
        assert_eq!(member["db_size"], status["dbSize"], "{member}");
        assert_eq!(member["v3_keys"], 1, "{member}");
    }
    assert_eq!(value["hashkv_agree"], true);
    assert!(value["problems"].as_array().unwrap().is_empty());
    check(&lab, "health-report.rhai", &[]);

    lab.service("etcd-3", "stop", "etcd");
    let failed = run(&lab, "health-report.rhai", false, &["--no-journal"]).code(1);
    assert!(
        failed.stdout.contains("etcd-3"),
        "the table names it: {}",
        failed.stdout
    );
    assert!(
        failed.stderr_unwrapped().contains("etcd-3: unhealthy"),
        "{}",
        failed.stderr
    );
}

#[test]
fn rolling_restart_restarts_each_member_once_the_leader_last_and_resumes() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    check(&lab, "rolling-restart.rhai", &[]);
    let before = pids(&lab);
    let leader = leader(&lab);
    let mut running = crate::support::running::Running::start(
        Runbook::new()
            .current_dir(&lab.dir)
            .arg("run")
            .arg(runbook_path("rolling-restart.rhai"))
            .arg("-i")
            .arg(lab.inventory())
            .arg("--yes"),
    );
    // Stopped hard after the first restart: the resumed run restarts only the others.
    let first = running.wait_for_line(Duration::from_secs(120), |l| {
        l.starts_with("<== step restart ") && l.contains("done")
    });
    let killed = running.kill();
    let first = first
        .trim_start_matches("<== step restart ")
        .split(':')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(first, leader, "followers first");
    let resumed = run(&lab, "rolling-restart.rhai", false, &["--resume"]).success();
    assert!(
        resumed
            .stderr
            .contains(&format!("--- step restart {first}: skipped")),
        "{}",
        resumed.stderr
    );
    let steps = steps_in_order(&resumed.stderr);
    assert_eq!(
        steps.first().map(String::as_str),
        Some("healthy before"),
        "the gate runs again: {steps:?}"
    );
    let restarted: Vec<&String> = steps.iter().filter(|s| s.starts_with("restart ")).collect();
    assert_eq!(restarted.len(), 2, "{steps:?} {}", killed.stderr);
    assert_eq!(
        restarted.last().unwrap().as_str(),
        format!("restart {leader}"),
        "the leader last"
    );
    let after = pids(&lab);
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(
            b, a,
            "every member runs a new etcd: {before:?} -> {after:?}"
        );
    }
    assert!(hashkv_agree(&lab));
}

#[test]
fn snapshot_backup_keeps_verified_snapshots_on_another_host() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    for i in 0..5 {
        let out = etcdctl(&lab.env(), 3, &["put", &format!("/snap/{i}"), "x"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let work = tempfile::tempdir().unwrap();
    let backups = work.path().join("backups");
    let staging = work.path().join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let vars = [
        "-e".to_string(),
        "runbook_backup_host=etcd-3".to_string(),
        "-e".to_string(),
        format!("runbook_backup_dir={}", backups.display()),
        "-e".to_string(),
        format!("runbook_snapshot_dir={}", staging.display()),
        "-e".to_string(),
        "runbook_backup_keep=2".to_string(),
        "--no-journal".to_string(),
    ];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
    check(&lab, "snapshot-backup.rhai", &vars[..8]);
    assert!(!backups.exists(), "check wrote nothing");
    let mut values = Vec::new();
    for _ in 0..3 {
        let out = run(&lab, "snapshot-backup.rhai", true, &vars).success();
        values.push(json_result(&out.stdout)["value"].clone());
        std::thread::sleep(Duration::from_millis(1100));
    }
    let mut kept: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "the last two: {kept:?}");
    assert_eq!(
        std::fs::read_dir(&staging).unwrap().count(),
        0,
        "nothing left on the member"
    );
    let last = values.last().unwrap();
    let file = backups.join(kept.last().unwrap());
    assert_eq!(last["copy"]["dest"], file.display().to_string());
    let status = etcdctl(
        &lab.env(),
        3,
        &["snapshot", "status", "-w", "json", file.to_str().unwrap()],
    );
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(last["snapshot"]["revision"], status["revision"], "{last}");
    assert_eq!(last["snapshot"]["keys"], status["totalKey"], "{last}");
    let sha = std::process::Command::new("sha256sum")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        last["snapshot"]["sha256"],
        String::from_utf8_lossy(&sha.stdout)
            .split_whitespace()
            .next()
            .unwrap()
    );
    assert_ne!(last["source"], leader(&lab), "taken from a follower");
}

#[test]
fn defrag_shrinks_fragmented_members_followers_first_and_the_leader_last() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    put_many(&lab, "/frag/", 300, 8 * 1024);
    let out = etcdctl(&lab.env(), 3, &["del", "/frag/", "--prefix"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = etcdctl(
        &lab.env(),
        3,
        &["compact", &revision(&lab).to_string(), "--physical"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A member's in-use size follows its next backend commit: write until every member
    // shows the space the compaction freed.
    let freed = crate::support::etcd::wait_until(Duration::from_secs(30), || {
        etcdctl(&lab.env(), 3, &["put", "/frag-tick", "x"]);
        std::thread::sleep(Duration::from_millis(300));
        statuses(&lab).iter().all(|(_, s)| {
            s["dbSize"].as_i64().unwrap() - s["dbSizeInUse"].as_i64().unwrap() > 2 << 20
        })
    });
    assert!(freed, "{:?}", statuses(&lab));
    let before = statuses(&lab);
    let leader = leader(&lab);
    check(&lab, "defrag.rhai", &["-e", "runbook_defrag_min_free_mb=1"]);
    let done = run(
        &lab,
        "defrag.rhai",
        false,
        &["-e", "runbook_defrag_min_free_mb=1"],
    )
    .success();
    let steps: Vec<String> = steps_in_order(&done.stderr)
        .into_iter()
        .filter(|s| s.starts_with("defrag "))
        .collect();
    assert_eq!(
        steps.len(),
        3,
        "{steps:?}\n{}\n{}",
        done.stdout,
        done.stderr
    );
    assert_eq!(steps.last().unwrap().as_str(), format!("defrag {leader}"));
    for ((host, b), (_, a)) in before.iter().zip(statuses(&lab)) {
        assert!(
            a["dbSize"].as_i64().unwrap() < b["dbSize"].as_i64().unwrap(),
            "{host}: {b} -> {a}"
        );
    }
    // Nothing is due a second time.
    let again = run(
        &lab,
        "defrag.rhai",
        false,
        &["-e", "runbook_defrag_min_free_mb=1", "--restart"],
    )
    .success();
    assert!(
        !again.stderr.contains("==> step defrag "),
        "{}",
        again.stderr
    );
}

#[test]
fn replace_member_rebuilds_the_leader_with_its_name_and_peer_url_and_its_data_aside() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let out = etcdctl(&lab.env(), 3, &["put", "/replace/a", "before"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let leader = leader(&lab);
    let members_before = lab.member_list();
    let ids = |lab: &TestLab| -> Vec<(String, String)> {
        let out = etcdctl(&lab.env(), 3, &["member", "list", "-w", "json"]);
        let parsed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        parsed["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["name"].as_str().unwrap_or("").to_string(),
                    m["ID"].to_string(),
                )
            })
            .collect()
    };
    let ids_before = ids(&lab);
    let var = format!("runbook_replace={leader}");
    check(&lab, "replace-member.rhai", &["-e", &var]);
    run(&lab, "replace-member.rhai", false, &["-e", &var]).success();
    assert_eq!(
        lab.member_list(),
        members_before,
        "the same names and peer URLs"
    );
    let ids_after = ids(&lab);
    let id = |ids: &[(String, String)]| ids.iter().find(|(n, _)| *n == leader).unwrap().1.clone();
    assert_ne!(id(&ids_before), id(&ids_after), "{leader} is a new member");
    let aside: Vec<String> = std::fs::read_dir(lab.data_dir(&leader))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("member.old."))
        .collect();
    assert_eq!(aside.len(), 1, "its old data moved aside: {aside:?}");
    let state = lab.state();
    let member = state.members.iter().find(|m| m.name == leader).unwrap();
    let got = etcdctl(
        &endpoint_env(&lab, &state.client_url(member)),
        3,
        &["get", "/replace/a", "--print-value-only", "--consistency=s"],
    );
    assert_eq!(got.stdout.trim(), "before", "{}", got.stderr);
    assert!(hashkv_agree(&lab));
}
