//! The outage and the stalls as the lab's master API stand-in saw them (`lab up
//! --master-writes`: it writes to etcd every 100 ms and logs its stops, its first
//! successful write after each start, and every failed or slow write).
//!
//! Outage: from the stop of the API before its first start on etcd3 to that start's first
//! successful v3 write. Stall: after it, any window of writes failing or taking over 1 s;
//! failures less than half a second apart make one window.

/// What the writer saw around the migration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MasterWrites {
    /// Seconds from the API's stop to its first successful v3 write.
    pub outage: f64,
    /// Writes after the first v3 one that failed.
    pub failed: usize,
    /// Writes after the first v3 one that took over 1 s.
    pub slow: usize,
    /// Each stall after the first v3 write: (seconds since that write, seconds long).
    pub stalls: Vec<(f64, f64)>,
    /// When the first v3 write succeeded, in seconds since the epoch.
    pub first_v3_at: f64,
}

impl MasterWrites {
    pub fn longest_stall(&self) -> f64 {
        self.stalls
            .iter()
            .map(|(_, long)| *long)
            .fold(0.0, f64::max)
    }
}

/// The `name=value` of a writer line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
}

fn seconds(time: &str) -> Option<f64> {
    let at = chrono::DateTime::parse_from_rfc3339(time).ok()?;
    Some(at.timestamp_millis() as f64 / 1000.0)
}

/// Reads the API stand-in's log.
pub fn read(log: &str) -> Result<MasterWrites, String> {
    let lines: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("writer: "))
        .collect();
    let mut last_stop = None;
    let mut first_v3: Option<(usize, f64)> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("stop ") {
            last_stop = field(line, "at").and_then(seconds);
        } else if line.starts_with("first ok ") && field(line, "api") == Some("v3") {
            first_v3 = field(line, "at").and_then(seconds).map(|at| (i, at));
            break;
        }
    }
    let (first_index, first_at) =
        first_v3.ok_or("the master's writer logged no successful v3 write")?;
    let stopped = last_stop.ok_or("the master's writer logged no stop before its v3 writes")?;
    let mut writes = MasterWrites {
        outage: first_at - stopped,
        first_v3_at: first_at,
        ..MasterWrites::default()
    };
    // (start, end) of every bad write after the first v3 one.
    let mut bad: Vec<(f64, f64)> = Vec::new();
    for line in &lines[first_index + 1..] {
        let failed = line.starts_with("failed ");
        let slow = line.starts_with("slow ");
        if !failed && !slow {
            continue;
        }
        let (Some(at), Some(ms)) = (
            field(line, "at").and_then(seconds),
            field(line, "ms").and_then(|m| m.parse::<f64>().ok()),
        ) else {
            return Err(format!("a writer line without at= or ms=: {line}"));
        };
        if failed {
            writes.failed += 1;
        } else {
            writes.slow += 1;
        }
        bad.push((at, at + ms / 1000.0));
    }
    bad.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut windows: Vec<(f64, f64)> = Vec::new();
    for (start, end) in bad {
        match windows.last_mut() {
            Some(last) if start - last.1 < 0.5 => last.1 = last.1.max(end),
            _ => windows.push((start, end)),
        }
    }
    writes.stalls = windows
        .into_iter()
        .map(|(start, end)| (start - first_at, end - start))
        .collect();
    Ok(writes)
}

// Run with the integration tests (tests/main.rs includes this file): a bench has no harness.
#[cfg(test)]
mod tests {
    #[test]
    fn outage_and_stalls() {
        let log = "\
writer: start at=2026-12-01T10:00:00.000Z api=v2 urls=x
writer: first ok at=2026-12-01T10:00:00.010Z api=v2 ms=9
writer: stop at=2026-12-01T10:00:05.000Z
writer: start at=2026-12-01T10:00:30.000Z api=v3 urls=x
writer: first ok at=2026-12-01T10:00:30.500Z api=v3 ms=5
writer: failed at=2026-12-01T10:00:40.000Z api=v3 ms=5000 error=x
writer: failed at=2026-12-01T10:00:45.100Z api=v3 ms=100 error=x
writer: slow at=2026-12-01T10:01:00.000Z api=v3 ms=1500
";
        let writes = super::read(log).unwrap();
        let ms = |s: f64| (s * 1000.0).round() as i64;
        assert_eq!(ms(writes.outage), 25_500);
        assert_eq!((writes.failed, writes.slow), (2, 1));
        let stalls: Vec<(i64, i64)> = writes
            .stalls
            .iter()
            .map(|(a, b)| (ms(*a), ms(*b)))
            .collect();
        assert_eq!(stalls, vec![(9_500, 5_200), (29_500, 1_500)]);
        assert_eq!(ms(writes.longest_stall()), 5_200);
        assert!(super::read("writer: stop at=2026-12-01T10:00:05.000Z\n").is_err());
    }
}
