//! Each lab member's memory through a bench: a thread reads `VmRSS` and `VmHWM` of every
//! etcd process the lab recorded, every 200 ms, so a peak is seen even in a member that is
//! stopped and started again (its new process starts a new high-water mark). `RssAnon` (the
//! Go heap, the v2 store among it) and `RssFile` (mapped files: the v3 backend's db) are read
//! too, since a migrated member holds both copies for a while.

use runbook::lab::layout::LabLayout;
use runbook::lab::pidfile::recorded_processes;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const INTERVAL: Duration = Duration::from_millis(200);

/// One reading of one member process.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Seconds since the epoch.
    pub at: f64,
    pub member: String,
    pub pid: i32,
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub anon_kib: u64,
    pub file_kib: u64,
}

/// The sampling thread; `stop` returns what it read.
pub struct MemberMemory {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<JoinHandle<()>>,
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl MemberMemory {
    /// Starts reading the members of the lab in `lab` (which may not be up yet).
    pub fn watch(lab: &Path, service: &'static str) -> MemberMemory {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let layout = LabLayout::new(lab);
        let thread = {
            let (stop, samples) = (stop.clone(), samples.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let at = now();
                    for process in recorded_processes(&layout) {
                        if process.service != service {
                            continue;
                        }
                        if let Some(status) = read_status(process.pid) {
                            samples.lock().expect("not poisoned").push(Sample {
                                at,
                                member: process.host.clone(),
                                pid: process.pid,
                                rss_kib: status.0,
                                hwm_kib: status.1,
                                anon_kib: status.2,
                                file_kib: status.3,
                            });
                        }
                    }
                    std::thread::sleep(INTERVAL);
                }
            })
        };
        MemberMemory {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.samples.lock().expect("not poisoned"))
    }
}

/// `VmRSS`, `VmHWM`, `RssAnon` and `RssFile` of `pid`, in KiB.
fn read_status(pid: i32) -> Option<(u64, u64, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Some((
        field("VmRSS:")?,
        field("VmHWM:")?,
        field("RssAnon:").unwrap_or(0),
        field("RssFile:").unwrap_or(0),
    ))
}

/// A member's highest resident memory within `[from, to]`, and when it was reached: the
/// largest `VmRSS` read, or a rise of a process's `VmHWM` between two readings (a peak
/// between them), or the `VmHWM` of a process first seen in the window (started in it).
pub fn peak(samples: &[Sample], member: &str, from: f64, to: f64) -> Option<(u64, f64)> {
    let mut best: Option<(u64, f64)> = None;
    let mut last_hwm: std::collections::HashMap<i32, u64> = Default::default();
    let mut consider = |value: u64, at: f64| {
        if best.is_none_or(|(b, _)| value > b) {
            best = Some((value, at));
        }
    };
    for s in samples.iter().filter(|s| s.member == member) {
        let before = last_hwm.insert(s.pid, s.hwm_kib);
        if s.at < from || s.at > to {
            continue;
        }
        consider(s.rss_kib, s.at);
        match before {
            Some(previous) if s.hwm_kib > previous => consider(s.hwm_kib, s.at),
            // Readings run from before the window: a process first read inside it started
            // inside it, so its whole high-water mark is the window's.
            None => consider(s.hwm_kib, s.at),
            _ => {}
        }
    }
    best
}

/// A member's `VmRSS` at the last reading at or before `at`.
pub fn rss_at(samples: &[Sample], member: &str, at: f64) -> Option<u64> {
    samples
        .iter()
        .rev()
        .find(|s| s.member == member && s.at <= at)
        .map(|s| s.rss_kib)
}

/// Every member the samples name, sorted.
pub fn members(samples: &[Sample]) -> Vec<String> {
    let mut names: Vec<String> = samples.iter().map(|s| s.member.clone()).collect();
    names.sort();
    names.dedup();
    names
}

/// A member's largest `RssAnon` read within `[from, to]`, with the `RssFile` of that reading.
pub fn anon_peak(samples: &[Sample], member: &str, from: f64, to: f64) -> Option<(u64, u64)> {
    samples
        .iter()
        .filter(|s| s.member == member && s.at >= from && s.at <= to)
        .max_by_key(|s| s.anon_kib)
        .map(|s| (s.anon_kib, s.file_kib))
}
