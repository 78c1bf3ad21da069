//! The API outage of `runbooks/v2-to-v3.rhai` (masters stopped to masters restarted) against
//! the documented manual procedure run as a shell script (`benches/manual-procedure.sh`), each
//! on its own fresh 3-member TLS lab seeded with the same keys.
//!
//! `cargo bench --bench migration_outage` (see docs/benchmarks.md). Environment:
//! - `RUNBOOK_BENCH_KEYS` (100000): v2 keys seeded in each lab;
//! - `RUNBOOK_BENCH_ORDERS` (`minimal,classic`): which orders of the runbook run
//!   (`runbook_outage`);
//! - `RUNBOOK_BENCH_BASELINES` (`txn,per-key`): which TTL variants of the manual procedure run;
//! - `RUNBOOK_BENCH_DIR` (the system temp dir): where the labs go;
//! - `RUNBOOK_BENCH_LOGS` (a temp dir): where the procedures' output is kept (the runbook
//!   runs with `-vv`), and the master API stand-in's log of its writes.
//!
//! Each lab is started just before its procedure and brought down right after it (also on
//! failure), so only one lab runs at a time. Every member's resident memory is read through
//! seeding and the run (`support/member_memory.rs`).

use runbook::journal::{Event, EventKind};
use runbook::lab::layout::LabLayout;
use runbook::lab::seed_plan::SeedPlan;
use runbook::lab::state::LabState;
use runbook::lab::{lab_tls, LabOptions};
use runbook::ops::etcd::client::v3;
use runbook::report::{OutputFormat, Reporter};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[path = "support/member_memory.rs"]
mod member_memory;

#[path = "support/master_writes.rs"]
mod master_writes;

use master_writes::MasterWrites;

use member_memory::{MemberMemory, Sample};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const MEMBERS: usize = 3;
/// The runbook's steps that bound the outage.
const OUTAGE_FROM: &str = "stop the masters";
const OUTAGE_TO: &str = "restart the masters";
/// The TTL prefixes the runbook and the manual procedure re-attach.
const TTL_PREFIXES: [&str; 5] = [
    "/kubernetes.io/events/",
    "/kubernetes.io/masterleases/",
    "/openshift.io/oauth/accesstokens/",
    "/openshift.io/oauth/authorizetokens/",
    "/openshift.io/leases/controllers/",
];

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Brings a lab down through `lab down` (recorded pids), however the bench ends.
struct LabDown(Option<PathBuf>);

impl LabDown {
    fn down(&mut self) -> BenchResult<()> {
        let Some(dir) = self.0.take() else {
            return Ok(());
        };
        let rt = tokio::runtime::Runtime::new()?;
        let reporter = Reporter::new(OutputFormat::Human);
        rt.block_on(runbook::lab::down(&dir, &reporter))?;
        Ok(())
    }
}

impl Drop for LabDown {
    fn drop(&mut self) {
        let dir = self.0.clone();
        if let Err(e) = self.down() {
            eprintln!("lab down failed for {:?}: {e}", dir);
        }
    }
}

fn lab_up(dir: &Path, keys: usize) -> BenchResult<LabDown> {
    let guard = LabDown(Some(dir.to_path_buf()));
    let options = LabOptions {
        dir: dir.to_path_buf(),
        members: MEMBERS,
        tls: true,
        keys,
        expiring: 0,
        etcd_layout: Default::default(),
        master_writes: true,
    };
    let rt = tokio::runtime::Runtime::new()?;
    let reporter = Reporter::new(OutputFormat::Human);
    let t = Instant::now();
    rt.block_on(runbook::lab::up(
        &options,
        &reporter,
        &CancellationToken::new(),
    ))?;
    eprintln!(
        "lab {} up with {keys} keys in {:.1}s",
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    let settled = Instant::now();
    wait_for_snapshots_to_settle(dir);
    eprintln!(
        "members' snapshot files unchanged for {SETTLED:?} after {:.1}s",
        settled.elapsed().as_secs_f64()
    );
    Ok(guard)
}

/// How long every member's `member/snap` must stay unchanged before a procedure starts.
const SETTLED: Duration = Duration::from_secs(10);

/// Waits (at most 2 minutes) until no member's `member/snap` changes (names and sizes of its
/// files) for [`SETTLED`] (etcd marshals the store for seconds before it writes a byte of the
/// file). The last seeded writes set off a v2 snapshot on every member, and
/// a procedure started while one is written waits for it (an etcd being stopped finishes its
/// snapshot first: 11.4 s once at 100,000 keys), which measures the seeding, not the
/// procedure. A cluster in service is not seconds past a burst of 100,000 writes.
fn wait_for_snapshots_to_settle(lab: &Path) {
    let state = || -> Vec<(String, u64)> {
        let mut files = Vec::new();
        for host in ["etcd-1", "etcd-2", "etcd-3"] {
            let snap = lab.join(format!("hosts/{host}/var/lib/etcd/member/snap"));
            for entry in std::fs::read_dir(&snap).into_iter().flatten().flatten() {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                files.push((entry.path().display().to_string(), size));
            }
        }
        files.sort();
        files
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = state();
    let mut since = Instant::now();
    while since.elapsed() < SETTLED && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        let now = state();
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
}

/// Bytes under `path` (files only, as `du --apparent-size` counts them).
fn tree_bytes(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| tree_bytes(&e.path())).sum())
        .unwrap_or(0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Prefixes whose leases (10 s, 30 s) may run out between the attach and the check: their
/// keys may be gone by then, the others' must all be there.
const SHORT_LIVED: [&str; 2] = [
    "/kubernetes.io/masterleases/",
    "/openshift.io/leases/controllers/",
];
/// Procedures that export through `etcdctl migrate` alone, which cannot see hidden keys: their
/// loss is counted and reported, not taken for a failed run.
const LOSES_HIDDEN: &str = "manual";

/// What a lab holds after a migration, read from its first member.
#[derive(Debug)]
struct After {
    v2_leaves: u64,
    v3_keys: u64,
    /// Per TTL prefix: v3 keys, and how many of them have no lease.
    ttl: Vec<(&'static str, u64, u64)>,
    healthy_members: usize,
    master_backend: String,
}

async fn after(lab: &Path) -> BenchResult<After> {
    let status = runbook::lab::status::collect(lab).await?;
    let first = &status.members[0];
    let layout = LabLayout::new(lab);
    let state = LabState::load(&layout)?;
    let tls = lab_tls(&layout, &state)?;
    let client = v3::connect(
        std::slice::from_ref(&first.client_url),
        tls.as_ref(),
        Duration::from_secs(30),
    )
    .await?;
    let mut kv = client.kv_client().max_decoding_message_size(usize::MAX);
    // Every count at one revision: short leases may run out while the bench reads.
    let all = kv
        .get(
            "\0",
            Some(
                etcd_client::GetOptions::new()
                    .with_from_key()
                    .with_count_only(),
            ),
        )
        .await?;
    let revision = all.header().map(|h| h.revision()).unwrap_or(0);
    let mut ttl = Vec::new();
    for prefix in TTL_PREFIXES {
        let answer = kv
            .get(
                prefix,
                Some(
                    etcd_client::GetOptions::new()
                        .with_prefix()
                        .with_keys_only()
                        .with_revision(revision),
                ),
            )
            .await?;
        let without = answer.kvs().iter().filter(|kv| kv.lease() == 0).count();
        ttl.push((prefix, answer.kvs().len() as u64, without as u64));
    }
    let log = layout.dir.join(format!(
        "hosts/{}/var/log/atomic-openshift-master-api.log",
        state.master
    ));
    let master_backend = std::fs::read_to_string(&log)?
        .lines()
        .rev()
        .find_map(|l| l.split("storage-backend=").nth(1).map(str::to_string))
        .unwrap_or_default();
    Ok(After {
        v2_leaves: first.v2_keys.ok_or_else(|| {
            format!(
                "no v2 key count on the first member: {}",
                first.error.as_deref().unwrap_or("no error given")
            )
        })?,
        v3_keys: all.count() as u64,
        ttl,
        healthy_members: status.members.iter().filter(|m| m.healthy).count(),
        master_backend,
    })
}

/// A migration that silently did nothing is worthless: every v2 key must be a v3 key on the
/// first member (but short-lived leases' keys that already expired), every member healthy,
/// every TTL key on a lease, the masters restarted on etcd3.
fn check_migrated(name: &str, lab: &Path, plan: &SeedPlan) -> BenchResult<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let after = rt.block_on(after(lab))?;
    eprintln!("{name}: after the migration: {after:?}");
    let keys = plan.keys.len() as u64;
    let mut problems = Vec::new();
    // The master's writer keeps one key of its own, in v2 and then in v3.
    let keys = keys + 1;
    // The minimal order drops the v2 copies of the masters' data (the seeded keys) once they
    // are verified in v3: the writer's key is what v2 keeps.
    let v2_kept = if name.contains("(minimal)") { 1 } else { keys };
    if after.v2_leaves != v2_kept {
        problems.push(format!("{} v2 leaves, not {v2_kept}", after.v2_leaves));
    }
    let mut expired = 0;
    for (prefix, present, without_lease) in &after.ttl {
        let loses_hidden = name.starts_with(LOSES_HIDDEN);
        let seeded = plan
            .ttl_keys()
            .filter(|k| k.key.starts_with(prefix) && !(loses_hidden && k.hidden()))
            .count() as u64;
        if *without_lease != 0 {
            problems.push(format!("{without_lease} keys under {prefix} have no lease"));
        }
        if SHORT_LIVED.contains(prefix) && *present <= seeded {
            expired += seeded - present;
        } else if *present != seeded {
            problems.push(format!("{present} v3 keys under {prefix}, not {seeded}"));
        }
    }
    let hidden = plan.hidden_keys().count() as u64;
    let lost = keys.saturating_sub(after.v3_keys + expired);
    if name.starts_with(LOSES_HIDDEN) && lost == hidden {
        eprintln!("{name}: LOST {hidden} hidden v2 keys (etcdctl migrate cannot see them)");
    } else if lost != 0 {
        problems.push(format!(
            "{} v3 keys (+ {expired} whose short lease ran out), not {keys} = the v2 leaves",
            after.v3_keys
        ));
    }
    if after.healthy_members != MEMBERS {
        problems.push(format!("{} healthy members", after.healthy_members));
    }
    if after.master_backend != "etcd3" {
        problems.push(format!(
            "the master restarted with storage-backend={:?}",
            after.master_backend
        ));
    }
    if !problems.is_empty() {
        return Err(format!("{name} did not migrate the lab: {}", problems.join("; ")).into());
    }
    Ok(())
}

fn seconds_between(from: &str, to: &str) -> BenchResult<f64> {
    let from = chrono::DateTime::parse_from_rfc3339(from)?;
    let to = chrono::DateTime::parse_from_rfc3339(to)?;
    Ok((to - from).num_milliseconds() as f64 / 1000.0)
}

/// One step's duration.
struct StepTime {
    name: String,
    /// When it started, in seconds since the epoch.
    started: f64,
    seconds: f64,
}

/// One measured procedure.
struct Run {
    name: String,
    /// From the masters' stop to their restart, by the procedure's own marks.
    outage: f64,
    /// What the master's writer saw: the outage to its first v3 write, the stalls after.
    master: MasterWrites,
    total: f64,
    steps: Vec<StepTime>,
    /// The lab's members' memory, from before `lab up` to the end of the run.
    memory: Vec<MemberRow>,
}

/// One member's memory in one procedure's lab, in KiB.
struct MemberRow {
    member: String,
    after_seeding: u64,
    seeding_peak: u64,
    run_peak: u64,
    /// The step running when the run's peak was read.
    peak_step: String,
    /// The largest `RssAnon` read during the run, and the `RssFile` beside it.
    run_anon_peak: (u64, u64),
}

/// Each member's memory: after seeding, its peak while seeding, and its peak during the run.
fn member_rows(
    samples: &[Sample],
    seeding: (f64, f64),
    run: (f64, f64),
    steps: &[StepTime],
) -> Vec<MemberRow> {
    member_memory::members(samples)
        .into_iter()
        .map(|member| {
            let (run_peak, at) =
                member_memory::peak(samples, &member, run.0, run.1).unwrap_or((0, run.0));
            let peak_step = steps
                .iter()
                .rev()
                .find(|s| s.started <= at)
                .map(|s| s.name.clone())
                .unwrap_or_else(|| "(before the first step)".into());
            MemberRow {
                after_seeding: member_memory::rss_at(samples, &member, seeding.1).unwrap_or(0),
                seeding_peak: member_memory::peak(samples, &member, seeding.0, seeding.1)
                    .map_or(0, |p| p.0),
                run_peak,
                peak_step,
                run_anon_peak: member_memory::anon_peak(samples, &member, run.0, run.1)
                    .unwrap_or((0, 0)),
                member,
            }
        })
        .collect()
}

fn epoch_seconds(time: &str) -> BenchResult<f64> {
    let time = chrono::DateTime::parse_from_rfc3339(time)?;
    Ok(time.timestamp_millis() as f64 / 1000.0)
}

/// Runs a command with stdout and stderr in `log`, failing loudly with the log's end.
fn run_logged(mut command: Command, log: &Path) -> BenchResult<f64> {
    let file = std::fs::File::create(log)?;
    command.stdout(file.try_clone()?).stderr(file);
    let t = Instant::now();
    let status = command.status()?;
    let total = t.elapsed().as_secs_f64();
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "{command:?} failed ({status}); the end of {}:\n{}",
            log.display(),
            tail.join("\n")
        )
        .into());
    }
    Ok(total)
}

/// Our runbook through the release binary, in `order`; the outage and the steps from its
/// journal.
fn run_ours(lab: &Path, logs: &Path, order: &str) -> BenchResult<Run> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_runbook"));
    command
        .arg("run")
        .arg(root.join("runbooks/v2-to-v3.rhai"))
        .arg("-i")
        .arg(lab.join("inventory.ini"))
        .args(["--outage", order])
        .arg("-vv")
        .stdin(std::process::Stdio::null());
    let total = run_logged(command, &logs.join(format!("runbook-{order}.log")))?;
    let journal = std::fs::read_to_string(lab.join(".runbook/v2-to-v3.journal"))?;
    let events: Vec<Event> = journal
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let time_of = |kind: EventKind, step: &str| -> BenchResult<String> {
        events
            .iter()
            .find(|e| e.event == kind && e.step.as_deref() == Some(step))
            .map(|e| e.time.clone())
            .ok_or_else(|| format!("the journal has no {kind:?} of {step:?}").into())
    };
    let outage = seconds_between(
        &time_of(EventKind::StepStarted, OUTAGE_FROM)?,
        &time_of(EventKind::StepFinished, OUTAGE_TO)?,
    )?;
    let steps = events
        .iter()
        .filter(|e| e.event == EventKind::StepFinished)
        .map(|e| {
            let name = e.step.clone().unwrap_or_default();
            Ok(StepTime {
                started: epoch_seconds(&time_of(EventKind::StepStarted, &name)?)?,
                seconds: e.elapsed_ms.unwrap_or(0) as f64 / 1000.0,
                name,
            })
        })
        .collect::<BenchResult<_>>()?;
    Ok(Run {
        name: format!("runbooks/v2-to-v3.rhai ({order})"),
        outage,
        master: MasterWrites::default(),
        total,
        steps,
        memory: Vec::new(),
    })
}

/// The manual procedure; the outage from its MASTERS_STOPPED / MASTERS_RESTARTED lines and
/// the steps from its `@@ <epoch> <step>` marks.
fn run_manual(lab: &Path, logs: &Path, ttl_mode: &str) -> BenchResult<Run> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/manual-procedure.sh");
    let log = logs.join(format!("manual-{ttl_mode}.log"));
    let mut command = Command::new("bash");
    command
        .arg(script)
        .arg(lab.join("inventory.ini"))
        .arg(ttl_mode)
        .stdin(std::process::Stdio::null());
    let total = run_logged(command, &log)?;
    let text = std::fs::read_to_string(&log)?;
    let mark = |name: &str| -> BenchResult<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .ok_or_else(|| format!("the manual procedure printed no {name}<epoch>").into())
    };
    let outage = mark("MASTERS_RESTARTED=")? - mark("MASTERS_STOPPED=")?;
    let marks: Vec<(f64, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("@@ "))
        .filter_map(|l| {
            let (at, name) = l.split_once(' ')?;
            Some((at.parse().ok()?, name.to_string()))
        })
        .collect();
    let steps = marks
        .windows(2)
        .map(|w| StepTime {
            name: w[0].1.clone(),
            started: w[0].0,
            seconds: w[1].0 - w[0].0,
        })
        .collect();
    let variant = match ttl_mode {
        "per-key" => "one etcdctl put per key",
        _ => "etcdctl txn batches of 128",
    };
    Ok(Run {
        name: format!("manual procedure (TTLs: {variant})"),
        outage,
        master: MasterWrites::default(),
        total,
        steps,
        memory: Vec::new(),
    })
}

fn main() -> BenchResult<()> {
    let keys = env_count("RUNBOOK_BENCH_KEYS", 100_000);
    let baselines: Vec<String> = std::env::var("RUNBOOK_BENCH_BASELINES")
        .unwrap_or_else(|_| "txn,per-key".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = baselines.iter().find(|b| *b != "txn" && *b != "per-key") {
        return Err(format!("RUNBOOK_BENCH_BASELINES: unknown variant {bad:?}").into());
    }
    let temp = match std::env::var_os("RUNBOOK_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let logs = std::env::var_os("RUNBOOK_BENCH_LOGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().join("logs"));
    std::fs::create_dir_all(&logs)?;
    let plan = SeedPlan::new(keys);
    let ttl_keys = plan.ttl_keys().count() as u64;
    let data_bytes: u64 = plan
        .keys
        .iter()
        .map(|k| (k.key.len() + k.value().len()) as u64)
        .sum();
    eprintln!(
        "each lab: {MEMBERS} TLS members, {keys} v2 keys ({ttl_keys} with a TTL), {:.1} MiB of keys and values",
        mib(data_bytes)
    );

    let mut runs = Vec::new();
    let mut member_bytes = 0;
    let orders: Vec<String> = std::env::var("RUNBOOK_BENCH_ORDERS")
        .unwrap_or_else(|_| "minimal,classic".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = orders.iter().find(|o| *o != "minimal" && *o != "classic") {
        return Err(format!("RUNBOOK_BENCH_ORDERS: unknown order {bad:?}").into());
    }
    let mut procedures: Vec<String> = orders.iter().map(|o| format!("ours-{o}")).collect();
    procedures.extend(baselines.iter().cloned());
    for (index, procedure) in procedures.iter().enumerate() {
        let lab = temp.path().join(format!("lab-{index}-{procedure}"));
        let memory = MemberMemory::watch(&lab, "etcd");
        let up_started = member_memory::now();
        let mut guard = lab_up(&lab, keys)?;
        let seeded = member_memory::now();
        if member_bytes == 0 {
            member_bytes = tree_bytes(&lab.join("hosts/etcd-1/var/lib/etcd"));
        }
        let mut run = if let Some(order) = procedure.strip_prefix("ours-") {
            run_ours(&lab, &logs, order)?
        } else {
            run_manual(&lab, &logs, procedure)?
        };
        let samples = memory.stop();
        let api_log = lab.join("hosts/master-1/var/log/atomic-openshift-master-api.log");
        // Kept with the procedures' output: the lab goes once the procedure is measured.
        let _ = std::fs::copy(&api_log, logs.join(format!("{procedure}-master-api.log")));
        run.master = master_writes::read(&std::fs::read_to_string(&api_log)?)
            .map_err(|e| format!("{}: {e} (in {})", run.name, api_log.display()))?;
        eprintln!("{}: the master's writes: {:?}", run.name, run.master);
        run.memory = member_rows(
            &samples,
            (up_started, seeded),
            (seeded, member_memory::now()),
            &run.steps,
        );
        eprintln!(
            "{}: outage {:.1}s, total {:.1}s",
            run.name, run.outage, run.total
        );
        // Shown before the check, so a failed check still leaves the figures.
        for row in &run.memory {
            eprintln!(
                "{}: {} resident {:.0} MiB after seeding, peak {:.0} MiB while seeding, {:.0} MiB during the run (at `{}`)",
                run.name,
                row.member,
                row.after_seeding as f64 / 1024.0,
                row.seeding_peak as f64 / 1024.0,
                row.run_peak as f64 / 1024.0,
                row.peak_step
            );
        }
        check_migrated(&run.name, &lab, &plan)?;
        guard.down()?;
        runs.push(run);
    }
    report(&runs, keys, data_bytes, member_bytes);
    Ok(())
}

fn report(runs: &[Run], keys: usize, data_bytes: u64, member_bytes: u64) {
    println!();
    println!(
        "{keys} keys: {:.1} MiB of keys and values; etcd-1's data dir {:.1} MiB after seeding",
        mib(data_bytes),
        mib(member_bytes)
    );
    println!();
    let baselines: Vec<&Run> = runs
        .iter()
        .filter(|r| r.name.starts_with(LOSES_HIDDEN))
        .collect();
    println!("outage: from the master API's stop to its first successful v3 write (its writer writes every 100 ms); stall: after that, writes failing or over 1 s\n");
    let mut header = String::from(
        "| procedure | keys | outage s | masters stopped to restarted s | total s | failed writes after | writes over 1 s after | longest stall s |",
    );
    let mut rule = String::from("|---|---:|---:|---:|---:|---:|---:|---:|");
    for baseline in &baselines {
        header.push_str(&format!(" outage vs {} |", baseline.name));
        rule.push_str("---:|");
    }
    println!("{header}\n{rule}");
    for run in runs {
        let mut line = format!(
            "| {} | {keys} | {:.1} | {:.1} | {:.1} | {} | {} | {:.1} |",
            run.name,
            run.master.outage,
            run.outage,
            run.total,
            run.master.failed,
            run.master.slow,
            run.master.longest_stall()
        );
        for baseline in &baselines {
            line.push_str(&format!(
                " {:.2}x |",
                run.master.outage / baseline.master.outage
            ));
        }
        println!("{line}");
    }
    for run in runs {
        for (after, long) in &run.master.stalls {
            let at = run.master.first_v3_at + after;
            let step = run
                .steps
                .iter()
                .rev()
                .find(|s| s.started <= at)
                .map_or("(before the first step)", |s| s.name.as_str());
            println!(
                "{}: a stall of {long:.1} s, {after:.1} s after the first v3 write, during `{step}`",
                run.name
            );
        }
    }
    for run in runs {
        println!();
        println!("{}, per step:\n", run.name);
        println!("| step | seconds |\n|---|---:|");
        for step in &run.steps {
            println!("| {} | {:.2} |", step.name, step.seconds);
        }
    }
    println!();
    println!(
        "each member's resident memory (MiB; VmRSS read every 200 ms, and VmHWM rises between readings); target: peak during the run <= 1.5x after seeding\n"
    );
    println!("| procedure | member | after seeding | peak while seeding | peak during the run | step at the peak | run peak / after seeding | largest heap (RssAnon) during the run + mapped files beside it |");
    println!("|---|---|---:|---:|---:|---|---:|---:|");
    for run in runs {
        for row in &run.memory {
            let mib = |kib: u64| kib as f64 / 1024.0;
            println!(
                "| {} | {} | {:.0} | {:.0} | {:.0} | {} | {:.2}x | {:.0} + {:.0} |",
                run.name,
                row.member,
                mib(row.after_seeding),
                mib(row.seeding_peak),
                mib(row.run_peak),
                row.peak_step,
                row.run_peak as f64 / row.after_seeding.max(1) as f64,
                mib(row.run_anon_peak.0),
                mib(row.run_anon_peak.1),
            );
        }
    }
    println!();
    for ours in runs.iter().filter(|r| !r.name.starts_with(LOSES_HIDDEN)) {
        for baseline in &baselines {
            println!(
                "outage: {} {:.1}s = {:.2}x {} ({:.1}s) (target <= 0.4x; at 450,000 keys <= 60 s)",
                ours.name,
                ours.master.outage,
                ours.master.outage / baseline.master.outage,
                baseline.name,
                baseline.master.outage
            );
        }
    }
}
