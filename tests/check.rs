//! `runbook check` (a dry run) and the question `run` asks before the first change:
//! on a real lab, the plan is printed and nothing changes — files, keys, processes, journal.

use crate::support::command::{write_file, Runbook};
use crate::support::etcd::etcdctl;
use crate::support::lab::TestLab;
use runbook::lab::layout::LabLayout;
use runbook::lab::pidfile::recorded_processes;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// What must not change: config files, data-dir listings, running processes, key counts.
fn snapshot(lab: &TestLab) -> BTreeMap<String, String> {
    let mut state = BTreeMap::new();
    for host in ["etcd-1", "etcd-2", "etcd-3"] {
        let root = lab.host_dir(host);
        state.insert(
            format!("{host} etcd.conf"),
            std::fs::read_to_string(root.join("etc/etcd/etcd.conf")).unwrap(),
        );
        let mut entries: Vec<String> = std::fs::read_dir(root.join("var/lib/etcd"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        state.insert(format!("{host} data dir"), entries.join(","));
    }
    let config = lab.host_dir("master-1").join("etc/origin/master");
    let mut files: Vec<String> = std::fs::read_dir(&config)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    state.insert("master config dir".into(), files.join(","));
    state.insert(
        "master-config.yaml".into(),
        std::fs::read_to_string(config.join("master-config.yaml")).unwrap(),
    );
    let pids: Vec<String> = recorded_processes(&LabLayout::new(&lab.dir))
        .iter()
        .map(|p| format!("{p:?}"))
        .collect();
    state.insert("processes".into(), pids.join(";"));
    let env = lab.env();
    let v2 = etcdctl(&env, 2, &["ls", "-r", "-p", "/"]);
    state.insert(
        "v2 keys".into(),
        v2.stdout
            .lines()
            .filter(|l| !l.ends_with('/'))
            .count()
            .to_string(),
    );
    let v3 = etcdctl(&env, 3, &["get", "", "--from-key", "--keys-only"]);
    state.insert(
        "v3 keys".into(),
        v3.stdout
            .lines()
            .filter(|l| !l.is_empty())
            .count()
            .to_string(),
    );
    state.insert(
        "journal".into(),
        lab.dir.join(".runbook").exists().to_string(),
    );
    state
}

#[test]
fn check_prints_the_plan_and_changes_nothing() {
    let lab = TestLab::up(&["--tls", "--keys", "300"]);
    let before = snapshot(&lab);
    let checked = Runbook::new()
        .args(["check", "v2-to-v3", "-i"])
        .arg(lab.inventory())
        .run()
        .success();
    let plan = &checked.stdout;
    for expected in [
        "changes; the checks before the first change passed, nothing was changed",
        "step stop the masters:\n   1. stop atomic-openshift-master-controllers, atomic-openshift-master-api on master-1",
        "step wait for raft convergence:\n   2. check: wait until the raft indexes converge\nstep stop etcd:\n   3. stop etcd on etcd-1, etcd-2, etcd-3 at once\nstep back up every member:\n   4. back up etcd (the stopped data dirs, sha256 manifest) on etcd-1: member moved into",
        ", a copy put back, etcd-2: member moved into",
        "(ETCD_FORCE_NEW_CLUSTER=true, then taken out of etcd.conf)",
        "drop the v2 copies under /kubernetes.io, /openshift.io on etcd-1 (v3 and the backups keep the data)",
        "etcdctl migrate --data-dir=",
        "start etcd-1 as a new one-member cluster",
        "check: compare every v2 key with v3 on etcd-1",
        "join etcd-3 to the cluster",
        "write into v3 the v2 keys etcdctl migrate left out on etcd-1 (hidden keys)",
        "put every v2 key with a TTL on a lease ending when v2 would have deleted it, the keys under /kubernetes.io/events, /kubernetes.io/masterleases, /openshift.io/oauth/accesstokens, /openshift.io/oauth/authorizetokens, /openshift.io/leases/controllers without one on their documented durations",
        "set storage-backend: [etcd3] and storage-media-type in master-1:",
        "restart atomic-openshift-master-api, atomic-openshift-master-controllers on master-1",
    ] {
        assert!(plan.contains(expected), "plan lacks {expected:?}:\n{plan}");
    }
    assert_eq!(snapshot(&lab), before, "a dry run changed something");
    // The closing report only a real run can give is left out.
    assert!(!plan.contains("migration finished"), "{plan}");
    assert!(!plan.contains("| WHAT"), "{plan}");

    // A precondition that fails stops the check with its error, before any plan.
    let put = etcdctl(&lab.env(), 3, &["put", "/leftover", "v3"]);
    assert_eq!(put.code, 0, "{}", put.stderr);
    let refused = Runbook::new()
        .args(["check", "v2-to-v3", "-i"])
        .arg(lab.inventory())
        .run()
        .code(1);
    assert!(
        refused
            .stderr
            .contains("the cluster already holds 1 v3 keys"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stdout.contains("plan for"), "{}", refused.stdout);
}

/// Runs `runbook ARGS` on a pseudo-terminal (util-linux `script`), answering `answer`.
fn on_a_terminal(dir: &Path, args: &str, answer: &str) -> (i32, String) {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_runbook"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn run_on_a_terminal_asks_before_the_first_change() {
    let lab = TestLab::up(&["--keys", "300"]);
    let before = snapshot(&lab);
    let inventory = lab.inventory().display().to_string();
    let (code, screen) = on_a_terminal(&lab.dir, &format!("run v2-to-v3 -i '{inventory}'"), "n\n");
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("The first change of this run: stop atomic-openshift-master-controllers"),
        "{screen}"
    );
    assert!(screen.contains("Continue? [y/N]"), "{screen}");
    assert!(
        screen.contains("not confirmed: nothing was changed"),
        "{screen}"
    );
    let mut after = snapshot(&lab);
    // The declined run is in the journal; nothing else moved.
    assert_eq!(after.remove("journal").as_deref(), Some("true"));
    let mut expected = before.clone();
    expected.remove("journal");
    assert_eq!(after, expected);

    // --yes: no question, the migration runs.
    let (code, screen) = on_a_terminal(
        &lab.dir,
        &format!("run v2-to-v3 --restart --yes -i '{inventory}'"),
        "",
    );
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("Continue?"), "{screen}");
    assert!(screen.contains("migration finished"), "{screen}");
}

/// A script of an operator's: a read-only command, a change, then reads of every kind.
fn custom_script(marker: &Path) -> String {
    format!(
        r#"
let h = inventory.host("etcd-1");
let kernel = h.run("uname -s", #{{read_only: true}});
print(`read_only run: ${{kernel}}`);
h.run("touch '{marker}'");
let r = h.try_run("echo planned");
print(`try_run: host=${{r.host}} code=${{r.code}} stdout=${{r.stdout == ""}} stderr=${{r.stderr == ""}} keys=${{r.keys()}}`);
let ro = h.try_run("echo real; echo err >&2", #{{read_only: true}});
print(`read_only try_run: ${{ro.stdout}}|${{ro.stderr.len()}}`);
let all = inventory.group("etcd").try_run_all("echo everywhere", #{{read_only: true}});
print(`read_only try_run_all: ${{all.map(|r| r.stdout)}}`);
print(`exists: ${{h.exists("{marker}")}}`);
let health = etcd.health();
print(health);
print(`health: healthy=${{health.healthy}} members=${{health.members.len()}} keys=${{health.members[0].keys()}}`);
let s = etcd.status();
print(s);
print(`status: hosts=${{s.members.map(|m| m.host)}} reachable=${{s.reachable}} keys=${{s.members[0].keys()}}`);
let k = etcd.expect_hashkv_agree();
print(`hashkv: agree=${{k.agree}} keys=${{k.members[0].keys()}}`);
let c = etcd.wait_converged(#{{timeout: "10s", interval: "200ms"}});
print(`converged: ${{c.members.len()}}`);
etcd.expect_healthy();
print(`is_check: ${{is_check()}}`);
if is_check() {{
    print(`master stop: ${{master.stop().map(|r| `${{r.host}} ${{r.services.len()}}`)}}`);
    print(`backup check: ${{etcd.backup(#{{check: true}}).map(|r| r.host)}}`);
    print(`verify: ${{etcd.verify("etcd-1").missing}}`);
}}
"#,
        marker = marker.display()
    )
}

/// The value of the line a script printed starting with `label: `.
fn line<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no {label:?} line in {stdout}"))
}

#[test]
fn check_plans_a_script_that_reads_after_a_change() {
    let lab = TestLab::up(&["--tls", "--keys", "20"]);
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("marker");
    let script = write_file(work.path(), "custom.rhai", &custom_script(&marker));

    let checked = Runbook::new()
        .current_dir(work.path())
        .arg("check")
        .arg(&script)
        .arg("-i")
        .arg(lab.inventory())
        .run()
        .success();
    let out = &checked.stdout;
    assert!(!marker.exists(), "check ran the change");
    assert!(
        out.contains(&format!("plan for {} (3 changes;", script.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "   1. run `touch '{}'` on etcd-1\n   2. run `echo planned` on etcd-1\n",
            marker.display()
        )),
        "{out}"
    );
    for check in [
        "check: etcd health of every member",
        "check: etcd status of every member",
        "check: every member's hashkv agrees",
        "check: wait until the raft indexes converge",
        "check: every member is healthy",
    ] {
        assert!(out.contains(check), "plan lacks {check:?}:\n{out}");
    }
    // Read-only commands ran for real and joined no plan.
    assert_eq!(line(out, "read_only run"), "Linux");
    assert_eq!(line(out, "read_only try_run"), "real|4");
    assert_eq!(
        line(out, "read_only try_run_all"),
        r#"["everywhere", "everywhere", "everywhere"]"#
    );
    assert!(!out.contains("run `uname"), "{out}");
    assert!(!out.contains("echo everywhere"), "{out}");
    assert_eq!(
        line(out, "try_run"),
        r#"host=etcd-1 code=0 stdout=true stderr=true keys=["code", "host", "stderr", "stdout"]"#
    );
    // exists() reads the current state: the marker was only planned.
    assert_eq!(line(out, "exists"), "false");
    assert!(out.contains("| (planned)"), "{out}");
    assert!(
        line(out, "health").starts_with("healthy=true members=3 "),
        "{out}"
    );
    assert!(
        line(out, "status").starts_with(r#"hosts=["etcd-1", "etcd-2", "etcd-3"] reachable=true "#),
        "{out}"
    );
    assert!(line(out, "hashkv").starts_with("agree=true "), "{out}");
    assert_eq!(line(out, "converged"), "3");
    assert_eq!(line(out, "is_check"), "true");
    // Planned changes and checks return what the real ones do, one entry per host.
    assert_eq!(line(out, "master stop"), r#"["master-1 2"]"#);
    assert_eq!(
        line(out, "backup check"),
        r#"["etcd-1", "etcd-2", "etcd-3"]"#
    );
    assert_eq!(line(out, "verify"), "0");

    // The same script run for real: the maps have the same keys as the planned ones.
    let ran = Runbook::new()
        .current_dir(work.path())
        .arg("run")
        .arg(&script)
        .arg("-i")
        .arg(lab.inventory())
        .run()
        .success();
    let real = &ran.stdout;
    assert!(marker.exists(), "the real run makes the change");
    assert_eq!(line(real, "is_check"), "false");
    assert_eq!(line(real, "exists"), "true");
    assert!(!real.contains("(planned)"), "{real}");
    for label in ["health", "status", "hashkv"] {
        let keys = |text: &str| text.split_once("keys=").map(|(_, k)| k.to_string());
        assert_eq!(
            keys(line(real, label)),
            keys(line(out, label)),
            "{label} members' keys differ:\n{real}\n{out}"
        );
    }
    assert_eq!(
        line(real, "try_run"),
        r#"host=etcd-1 code=0 stdout=false stderr=true keys=["code", "host", "stderr", "stdout"]"#
    );
}

#[test]
fn a_failing_check_prints_the_plan_so_far() {
    let lab = TestLab::up(&["--keys", "20"]);
    let work = tempfile::tempdir().unwrap();
    let script = write_file(
        work.path(),
        "fails.rhai",
        r#"
step("stop", || inventory.host("etcd-2").service("etcd").stop());
let s = etcd.status();
if s.members.len() == 3 { throw "found what the operator feared"; }
"#,
    );
    let failed = Runbook::new()
        .current_dir(work.path())
        .arg("check")
        .arg(&script)
        .arg("-i")
        .arg(lab.inventory())
        .run()
        .code(1);
    assert!(
        failed.stdout.contains(&format!(
            "plan so far for {} (1 changes before the runbook failed; nothing was changed):\nstep stop:\n   1. stop etcd on etcd-2\n   2. check: etcd status of every member",
            script.display()
        )),
        "{}",
        failed.stdout
    );
    assert!(
        failed.stderr.contains("found what the operator feared"),
        "{}",
        failed.stderr
    );
    // For machines: the plan so far is an event of its own, before the error.
    let failed = Runbook::new()
        .current_dir(work.path())
        .args(["--output", "json", "check"])
        .arg(&script)
        .arg("-i")
        .arg(lab.inventory())
        .run()
        .code(1);
    let plan = failed
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "plan")
        .unwrap_or_else(|| panic!("no plan event in {}", failed.stdout));
    assert_eq!(plan["status"], "failed");
    assert_eq!(plan["plan"][0]["action"], "stop etcd on etcd-2");
    assert_eq!(plan["plan"][0]["changes"], true);
    assert_eq!(plan["plan"][1]["changes"], false);
    // Nothing was stopped: etcdctl still reaches etcd-2.
    let health = etcdctl(&lab.env(), 3, &["endpoint", "health", "--cluster"]);
    assert_eq!(health.code, 0, "{}{}", health.stdout, health.stderr);
    // etcdctl 3.4 reports endpoint health on stderr.
    let said = format!("{}{}", health.stdout, health.stderr);
    assert_eq!(said.matches("is healthy").count(), 3, "{said}");
}

#[test]
fn check_of_embedded_to_external_runs_its_preflight_for_real() {
    let lab = TestLab::up(&["--layout", "embedded", "--tls", "--keys", "50"]);
    let checked = Runbook::new()
        .args(["check", "embedded-to-external", "-i"])
        .arg(lab.external_inventory())
        .run()
        .success();
    let plan = &checked.stdout;
    // The preflight's commands and checks are reads: they ran, and are not in the plan.
    assert!(
        plan.contains("nothing was changed):\nstep stop the master:\n   1. stop atomic-openshift-master on master-1\n"),
        "{plan}"
    );
    assert!(!plan.contains("command -v"), "{plan}");
    assert!(!plan.contains("moved: "), "{plan}");
    assert!(plan.contains("check: every member is healthy"), "{plan}");
}
