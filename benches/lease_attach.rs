//! `lease.attach` and `lease.restore_ttls` against the `oc adm migrate etcd-ttl` algorithm and
//! etcd's own write limit, in one process against one lab member; then the peak memory of
//! `lease.attach` on a large prefix, measured in a child process.
//!
//! `cargo bench --bench lease_attach` (see docs/benchmarks.md). Environment:
//! - `RUNBOOK_BENCH_LAB=DIR`: use the running lab in DIR (else a 1-member TLS lab is started
//!   in a temp dir and brought down at the end, also on failure);
//! - `RUNBOOK_BENCH_KEYS` (100000): keys per algorithm;
//! - `RUNBOOK_BENCH_A_KEYS` (= keys): keys for the sequential algorithm; fewer are measured
//!   and extrapolated, and the table says so;
//! - `RUNBOOK_BENCH_MEMORY_KEYS` (1000000; 0 skips): keys for the memory measurement;
//! - `RUNBOOK_BENCH_PAGE` (lease.attach's default): keys per page read by lease.attach.

use etcd_client::{Client, Compare, CompareOp, GetOptions, PutOptions, Txn, TxnOp};
use runbook::lab::layout::LabLayout;
use runbook::lab::state::LabState;
use runbook::lab::{lab_tls, LabOptions};
use runbook::ops::etcd::client::paging::KeyPager;
use runbook::ops::etcd::client::v3;
use runbook::ops::etcd::host::clock as host_clock;
use runbook::ops::etcd::lease::attach::{attach, AttachOptions, MAX_TXN_OPS};
use runbook::ops::etcd::lease::plan::{self as ttl_plan, TtlPrefix};
use runbook::ops::etcd::lease::restore::{restore, RestoreOptions};
use runbook::ops::etcd::v2store::Leaf;
use runbook::report::{OutputFormat, Reporter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Concurrency of loading, of `lease.attach` and of the unguarded baseline alike.
const CONCURRENCY: usize = 16;
/// Value size of the loaded keys (Kubernetes events are a few hundred bytes and more).
const VALUE_BYTES: usize = 256;
const TTL: i64 = 3600;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn key(prefix: &str, i: usize) -> String {
    format!("{prefix}/ns-{:02}/event-{i:07}", i % 50)
}

async fn connect(lab: &Path) -> BenchResult<Client> {
    let layout = LabLayout::new(lab);
    let state = LabState::load(&layout)?;
    let tls = lab_tls(&layout, &state)?;
    let first = vec![state.client_urls()[0].clone()];
    Ok(v3::connect(&first, tls.as_ref(), Duration::from_secs(30)).await?)
}

/// Writes `[from, to)` keys under `prefix` in transactions of 128 puts, 16 in flight;
/// `lease` 0 writes values, else re-attaches with ignore_value (the unguarded baseline).
async fn batched_puts(client: &Client, prefix: &str, count: usize, lease: i64) -> BenchResult<()> {
    let value = "x".repeat(VALUE_BYTES);
    let mut in_flight = JoinSet::new();
    for start in (0..count).step_by(MAX_TXN_OPS) {
        while in_flight.len() >= CONCURRENCY {
            if let Some(done) = in_flight.join_next().await {
                done??;
            }
        }
        let ops: Vec<TxnOp> = (start..(start + MAX_TXN_OPS).min(count))
            .map(|i| {
                if lease == 0 {
                    TxnOp::put(key(prefix, i), value.as_str(), None)
                } else {
                    TxnOp::put(
                        key(prefix, i),
                        "",
                        Some(PutOptions::new().with_ignore_value().with_lease(lease)),
                    )
                }
            })
            .collect();
        let mut kv = client.kv_client();
        in_flight.spawn(async move {
            kv.txn(Txn::new().and_then(ops))
                .await
                .map(|_| ())
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })
        });
    }
    while let Some(done) = in_flight.join_next().await {
        done??;
    }
    Ok(())
}

/// `oc adm migrate etcd-ttl`: one unpaginated get with values, then one guarded
/// transaction per key, sequentially.
async fn oc_adm_etcd_ttl(client: &Client, prefix: &str) -> BenchResult<usize> {
    let lease = client.lease_client().grant(TTL, None).await?.id();
    let mut kv = client.kv_client().max_decoding_message_size(usize::MAX);
    let answer = kv
        .get(format!("{prefix}/"), Some(GetOptions::new().with_prefix()))
        .await?;
    for item in answer.kvs() {
        kv.txn(
            Txn::new()
                .when([Compare::mod_revision(
                    item.key(),
                    CompareOp::Equal,
                    item.mod_revision(),
                )])
                .and_then([TxnOp::put(
                    item.key(),
                    item.value(),
                    Some(PutOptions::new().with_lease(lease)),
                )]),
        )
        .await?;
    }
    Ok(answer.kvs().len())
}

async fn ours(client: &Client, prefix: &str) -> BenchResult<u64> {
    let mut options = AttachOptions::default();
    options.page_size = env_count("RUNBOOK_BENCH_PAGE", options.page_size);
    let report = attach(
        client,
        prefix,
        TTL,
        &options,
        &CancellationToken::new(),
        &mut |_, _| {},
    )
    .await?;
    Ok(report.attached)
}

/// `lease.restore_ttls` on the keys under `prefix`, as the migration hands them over: each
/// key's v2 store entry has the revision `etcdctl migrate` gave it and an expiry spread over
/// the next hour (events). Returns (keys attached, leases granted, seconds of the restore).
async fn restore_ttls(client: &Client, prefix: &str) -> BenchResult<(u64, u64, f64)> {
    let now = host_clock::now();
    let (mut pager, _) = KeyPager::pin(client, prefix, 50_000, true).await?;
    let mut leaves = Vec::new();
    while let Some(page) = pager.next_page().await? {
        for kv in page {
            let i = leaves.len() as i64;
            leaves.push(Leaf {
                key: String::from_utf8_lossy(kv.key()).into_owned(),
                value: Vec::new(),
                created: kv.create_revision() as u64,
                modified: kv.mod_revision() as u64,
                expires: Some(now + (60 + (i * 7919) % 3540) * 1_000_000_000),
                hidden: false,
            });
        }
    }
    let prefixes = [TtlPrefix {
        prefix: prefix.to_string(),
        seconds: TTL as u64,
    }];
    let t = Instant::now();
    let plan = ttl_plan::plan(&leaves, &prefixes, host_clock::now());
    let report = restore(
        client,
        &plan,
        &host_clock::now,
        &RestoreOptions::default(),
        &CancellationToken::new(),
        &mut |_, _| {},
    )
    .await?;
    let seconds = t.elapsed().as_secs_f64();
    let attached = report.groups.iter().map(|g| g.attached).sum();
    Ok((attached, report.leases(), seconds))
}

struct Row {
    name: String,
    keys: usize,
    seconds: f64,
}

async fn compare(lab: &Path) -> BenchResult<()> {
    let client = connect(lab).await?;
    let keys = env_count("RUNBOOK_BENCH_KEYS", 100_000);
    let a_keys = env_count("RUNBOOK_BENCH_A_KEYS", keys).min(keys);
    let started = Instant::now();
    for (prefix, count) in [
        ("/bench/ours", keys),
        ("/bench/restore", keys),
        ("/bench/puts", keys),
        ("/bench/oc", a_keys),
    ] {
        batched_puts(&client, prefix, count, 0).await?;
    }
    eprintln!(
        "loaded {} keys in {:.1}s",
        3 * keys + a_keys,
        started.elapsed().as_secs_f64()
    );

    let mut rows = Vec::new();
    let t = Instant::now();
    let attached = ours(&client, "/bench/ours").await?;
    assert_eq!(attached as usize, keys, "lease.attach attached every key");
    rows.push(Row {
        name: "lease.attach (paged, guarded txns of 128, 16 in flight)".into(),
        keys,
        seconds: t.elapsed().as_secs_f64(),
    });
    eprintln!("ours: {:.2}s", rows[0].seconds);

    let (attached, leases, seconds) = restore_ttls(&client, "/bench/restore").await?;
    assert_eq!(
        attached as usize, keys,
        "lease.restore_ttls attached every key"
    );
    rows.push(Row {
        name: format!(
            "lease.restore_ttls (each key's own expiry, {leases} leases, guarded txns of 128, 16 in flight)"
        ),
        keys,
        seconds,
    });
    eprintln!("restore_ttls: {seconds:.2}s, {leases} leases");

    let t = Instant::now();
    let lease = client.lease_client().grant(TTL, None).await?.id();
    batched_puts(&client, "/bench/puts", keys, lease).await?;
    rows.push(Row {
        name: "(b) unguarded batched puts, same concurrency (etcd's write limit)".into(),
        keys,
        seconds: t.elapsed().as_secs_f64(),
    });
    eprintln!("(b): {:.2}s", rows[2].seconds);

    let t = Instant::now();
    let done = oc_adm_etcd_ttl(&client, "/bench/oc").await?;
    assert_eq!(done, a_keys);
    let measured = t.elapsed().as_secs_f64();
    rows.push(if a_keys == keys {
        Row {
            name: "(a) oc adm migrate etcd-ttl (1 get, 1 guarded txn per key, sequential)".into(),
            keys,
            seconds: measured,
        }
    } else {
        Row {
            name: format!(
                "(a) oc adm migrate etcd-ttl, EXTRAPOLATED from {a_keys} keys measured in {measured:.1}s"
            ),
            keys,
            seconds: measured * keys as f64 / a_keys.max(1) as f64,
        }
    });
    eprintln!("(a): {measured:.2}s for {a_keys} keys");

    let base = rows[0].seconds;
    println!();
    println!(
        "| algorithm | keys | seconds | keys/s | time vs lease.attach |\n|---|---:|---:|---:|---:|"
    );
    for row in &rows {
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.2}x |",
            row.name,
            row.keys,
            row.seconds,
            row.keys as f64 / row.seconds,
            row.seconds / base
        );
    }
    println!();
    println!(
        "lease.attach is {:.1}x faster than (a) (target >= 10x) and takes {:.2}x the time of (b) (target <= 1.5x); lease.restore_ttls takes {:.2}x the time of lease.attach (target <= 1.5x)",
        rows[3].seconds / base,
        base / rows[2].seconds,
        rows[1].seconds / base
    );
    Ok(())
}

/// VmHWM (peak resident set) of this process, in KiB.
fn peak_rss_kib() -> BenchResult<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM in /proc/self/status".into())
}

/// In the child: connect, take the baseline, attach, report the peak.
async fn memory_child(lab: &Path, prefix: &str) -> BenchResult<()> {
    let client = connect(lab).await?;
    client.kv_client().get("/", None).await?;
    let before = peak_rss_kib()?;
    let t = Instant::now();
    let attached = ours(&client, prefix).await?;
    let after = peak_rss_kib()?;
    println!(
        "memory: lease.attach of {attached} keys in {:.1}s: VmHWM {:.1} MiB before, {:.1} MiB after, {:.1} MiB for the attach",
        t.elapsed().as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / 1024.0
    );
    Ok(())
}

async fn memory(lab: &Path) -> BenchResult<()> {
    let keys = env_count("RUNBOOK_BENCH_MEMORY_KEYS", 1_000_000);
    if keys == 0 {
        return Ok(());
    }
    let client = connect(lab).await?;
    let t = Instant::now();
    batched_puts(&client, "/bench/memory", keys, 0).await?;
    eprintln!("loaded {keys} keys in {:.1}s", t.elapsed().as_secs_f64());
    let status = tokio::process::Command::new(std::env::current_exe()?)
        .arg("--memory-child")
        .arg(lab)
        .arg("/bench/memory")
        .status()
        .await?;
    if !status.success() {
        return Err(format!("the memory child failed: {status}").into());
    }
    Ok(())
}

/// Brings a lab this bench started down, however the bench ends.
struct LabDown(Option<PathBuf>);

impl Drop for LabDown {
    fn drop(&mut self) {
        let Some(dir) = self.0.take() else { return };
        let Ok(rt) = tokio::runtime::Runtime::new() else {
            return;
        };
        let reporter = Reporter::new(OutputFormat::Human);
        if let Err(e) = rt.block_on(runbook::lab::down(&dir, &reporter)) {
            eprintln!("lab down failed for {}: {e}", dir.display());
        }
    }
}

fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Runtime::new()?;
    if let Some(at) = args.iter().position(|a| a == "--memory-child") {
        let (Some(lab), Some(prefix)) = (args.get(at + 1), args.get(at + 2)) else {
            return Err("--memory-child LAB PREFIX".into());
        };
        return rt.block_on(memory_child(Path::new(lab), prefix));
    }
    let _temp;
    let mut down = LabDown(None);
    let lab = match std::env::var_os("RUNBOOK_BENCH_LAB") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let temp = tempfile::tempdir()?;
            let dir = temp.path().join("lab");
            _temp = temp;
            down.0 = Some(dir.clone());
            let options = LabOptions {
                dir: dir.clone(),
                members: 1,
                tls: true,
                keys: 10,
                expiring: 0,
                etcd_layout: Default::default(),
                master_writes: false,
            };
            let reporter = Reporter::new(OutputFormat::Human);
            rt.block_on(runbook::lab::up(
                &options,
                &reporter,
                &CancellationToken::new(),
            ))?;
            dir
        }
    };
    let result = rt
        .block_on(compare(&lab))
        .and_then(|()| rt.block_on(memory(&lab)));
    drop(rt);
    drop(down);
    result
}
